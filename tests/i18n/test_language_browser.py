"""The language selector in a real browser: headless Chromium (Debian's
``chromium`` and ``chromium-driver``) set up in British English and with
JavaScript turned off, against the live server. The service answers in French
until the person presses "English" in the footer, then stays in English across
the sign-in and the webmail until "Français" is pressed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browserwait import left
from tests.conftest import build_message
from tests.e2e.conftest import chromium

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Vache-Rouge7!Orage"


@pytest.fixture(scope="module")
def english_browser():
    driver = chromium("en-GB", {
        "intl.accept_languages": "en-GB,en",
        "profile.managed_default_content_settings.javascript": 2,  # no JavaScript at all
    })
    yield driver
    driver.quit()


@pytest.fixture
def person(make_account, settings):
    from academail.delivery.route import deliver

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    account = make_account("Julie", "Martin")
    account.set_password(PASSWORD)
    account.save()
    (outcome,) = deliver(build_message(subject="Conseil de classe"), [account.address])
    assert outcome.delivered
    return account


def lang(driver) -> str:
    return driver.find_element("css selector", "html").get_attribute("lang")


def submitting(driver, element) -> None:
    """Click ``element`` and wait (generously: the machine may be busy) until
    the browser has left the page and the next one is complete."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element("css selector", "html")
    element.click()
    WebDriverWait(driver, 60).until(left(page))
    WebDriverWait(driver, 60, ignored_exceptions=[WebDriverException]).until(
        lambda d: d.find_element("css selector", "footer") and d.execute_script("return document.readyState") == "complete"
    )


def press(driver, label: str) -> None:
    submitting(driver, driver.find_element(
        "xpath", f'//footer//form[@class="fr-language"]//button[normalize-space()="{label}"]'))


def test_selector_without_javascript_in_a_browser_set_to_english(english_browser, live_server, person):
    driver = english_browser
    driver.delete_all_cookies()
    driver.get(live_server.url + reverse("accounts:login"))
    assert lang(driver) == "fr"
    assert driver.find_element("css selector", ".fr-skiplink").get_attribute("textContent") == "Aller au contenu"

    press(driver, "English")
    assert lang(driver) == "en"
    assert driver.current_url.endswith(reverse("accounts:login"))
    assert driver.find_element("css selector", ".fr-skiplink").get_attribute("textContent") == "Skip to content"
    assert "Sign in" in driver.find_element("css selector", "header").text

    driver.find_element("name", "identifier").send_keys(person.identifier)
    driver.find_element("name", "password").send_keys(PASSWORD)
    submitting(driver, driver.find_element("css selector", "main form button[type=submit]"))
    assert lang(driver) == "en"
    body = driver.find_element("tag name", "body").text
    assert "Write a message" in body and "Conseil de classe" in body and "Sign out" in body

    press(driver, "Français")
    assert lang(driver) == "fr"
    body = driver.find_element("tag name", "body").text
    assert "Écrire un message" in body and "Se déconnecter" in body and "Write a message" not in body
