"""Faults a staff walk-through found, checked in headless Chromium as a person
meets them: password fields a phone could not tap (the show/hide button covered
them), the forward confirmation refused by CSRF (the page sent
``Referrer-Policy: no-referrer``, so Chromium posted ``Origin: null``), and
features no page linked to (filters, forwarding)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from selenium.webdriver.common.by import By

from tests.e2e.conftest import make_person, sign_in, wait_text
from tests.e2e.test_webmail_browser import _no_horizontal_scroll

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def assert_reachable(driver, element) -> None:
    """What a tap at the centre of ``element`` lands on is the element itself."""
    hit = driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'});"
        "var r = arguments[0].getBoundingClientRect();"
        "var e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        "return e === arguments[0] ? null : (e ? e.outerHTML.slice(0, 120) : 'nothing');", element)
    assert hit is None, f"{element.get_attribute('name')} is covered by {hit}"


def test_password_fields_can_be_tapped_on_a_phone(phone, live_server):
    from academail.accounts.services import check_create_account

    phone.get(live_server.url + "/connexion/")
    password = phone.find_element(By.NAME, "password")
    phone.find_element(By.CSS_SELECTOR, ".fr-password__toggle")  # the script added it
    assert_reachable(phone, password)
    _no_horizontal_scroll(phone)

    # Activation step 2: two password fields and nothing else to tab from.
    check_create_account(first_name="Paul", last_name="Durand", numen="11E9501234ABD")
    phone.get(live_server.url + "/premiere-connexion/")
    phone.find_element(By.NAME, "identifier").send_keys("pdurand")
    phone.find_element(By.NAME, "numen").send_keys("11E9501234ABD")
    phone.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_text(phone, "Choisir mon mot de passe")
    for name in ("password1", "password2"):
        field = phone.find_element(By.NAME, name)
        assert_reachable(phone, field)
        field.click()  # a real tap: Selenium refuses to click a covered element
        field.send_keys("Vache-Rouge7!Orage")
        assert field.get_attribute("value") == "Vache-Rouge7!Orage"
    toggle = phone.find_elements(By.CSS_SELECTOR, ".fr-password__toggle")[0]
    assert_reachable(phone, toggle)
    _no_horizontal_scroll(phone)


def confirm_link(target: str) -> str:
    sent = [m for m in reversed(mail.outbox) if target in m.to]
    assert sent, f"no confirmation sent to {target}"
    return re.search(r"https?://\S+/courrier/transfert/confirmer/[\w-]+/", sent[0].body).group(0)


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
def test_forward_confirmation_in_chromium(page, live_server, settings, signed_in):
    settings.FORWARD_ALLOWED_DOMAINS = ["education.gouv.fr"]
    settings.OUTBOUND_CAPTURE = True
    julie = make_person("Julie", "Martin")
    if signed_in:
        make_person("Jean", "Dupont")
    sign_in(page, live_server, julie.identifier)
    page.find_element(By.LINK_TEXT, "Transfert").click()  # reachable from the navigation
    page.find_element(By.NAME, "target").send_keys("julie.martin@education.gouv.fr")
    page.find_element(By.CSS_SELECTOR, "main form button[name=action][value=save]").click()
    wait_text(page, "En attente")
    link = confirm_link("julie.martin@education.gouv.fr").replace("http://testserver", live_server.url)
    if signed_in:  # the target's owner opens it in a browser where a colleague is signed in
        sign_in(page, live_server, "jdupont")
    else:
        page.delete_all_cookies()
    page.get(link)
    page.find_element(By.XPATH, "//main//button[normalize-space()='Confirmer']").click()
    wait_text(page, "C'est confirmé")
    assert "CSRF" not in page.page_source


def test_every_feature_is_in_the_navigation(page, live_server):
    julie = make_person("Julie", "Martin")
    sign_in(page, live_server, julie.identifier)
    nav = page.find_element(By.CSS_SELECTOR, "nav[aria-label='Menu principal']")
    labels = [link.text for link in nav.find_elements(By.TAG_NAME, "a")]
    for label in ("Courrier", "Filtres et absence", "Transfert", "Préférences", "Configurer mon téléphone",
                  "Sécurité du compte"):
        assert label in labels, labels
    assert nav.find_element(By.LINK_TEXT, "Courrier").get_attribute("aria-current") == "page"
    nav.find_element(By.LINK_TEXT, "Filtres et absence").click()
    wait_text(page, "Filtres", css="h1")
    nav = page.find_element(By.CSS_SELECTOR, "nav[aria-label='Menu principal']")
    assert nav.find_element(By.LINK_TEXT, "Filtres et absence").get_attribute("aria-current") == "page"


def test_phone_navigation_is_a_menu_button(phone, live_server):
    julie = make_person("Julie", "Martin")
    sign_in(phone, live_server, julie.identifier)
    link = phone.find_element(By.CSS_SELECTOR, "nav[aria-label='Menu principal'] a[href='/courrier/filtres/']")
    assert not link.is_displayed()  # folded away: the inbox starts higher on the screen
    phone.find_element(By.CSS_SELECTOR, "summary.fr-nav__toggle").click()
    assert link.is_displayed()
    link.click()
    wait_text(phone, "Filtres", css="h1")
    _no_horizontal_scroll(phone)
