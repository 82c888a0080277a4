"""French for everyone, English on request: the footer's selector (Django's
set_language, a plain POST form with its CSRF token) switches the sign-in page
and the webmail to English and back; the browser's Accept-Language never does.
Dates and sizes follow the chosen language."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import build_message

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")
BROWSER_IN_ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def browser() -> Client:
    """A browser set up in English that checks CSRF like a real one."""
    return Client(enforce_csrf_checks=True, **BROWSER_IN_ENGLISH)


@pytest.fixture
def person(make_account):
    from academail.delivery.route import deliver

    account = make_account("Julie", "Martin")
    (outcome,) = deliver(build_message(subject="Conseil de classe", body="Bonjour,\n" + "x" * 3000), [account.address])
    assert outcome.delivered
    return account


def html_lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page)[1]


def choose(client: Client, page: str, button: str):
    """Press the footer button labelled ``button`` as a browser without
    JavaScript would: post the footer form with its token and hidden fields."""
    form = re.search(r'<form class="fr-language" method="post" action="([^"]+)">(.*?)</form>', page, re.S)
    assert form, "no language selector in the footer"
    action, body = form[1], form[2]
    fields = {unescape(n): unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body)}
    buttons = {label: value for value, label in re.findall(r'name="language" value="([^"]+)"[^>]*>([^<]+)</button>', body)}
    assert button in buttons, f"footer offers {sorted(buttons)}, not {button!r}"
    return client.post(action, {**fields, "language": buttons[button]}, follow=True)


def test_french_by_default_even_for_a_browser_in_english(browser):
    response = browser.get(LOGIN)
    page = response.content.decode()
    assert html_lang(page) == "fr"
    assert response["Content-Language"] == "fr"
    assert "Se connecter" in page and "Aller au contenu" in page
    assert "Sign in" not in page and "Skip to content" not in page
    assert "Cookie" in response["Vary"]
    # The selector offers the other language, named in that language.
    assert re.search(r'value="en" lang="en">English</button>', page)
    assert 'value="fr"' not in page


def test_selector_switches_the_sign_in_page_to_english_and_back(browser):
    page = browser.get(LOGIN).content.decode()
    response = choose(browser, page, "English")
    assert response.redirect_chain == [(LOGIN, 302)]
    cookie = browser.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en" and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == settings.LANGUAGE_COOKIE_AGE
    english = response.content.decode()
    assert html_lang(english) == "en" and response["Content-Language"] == "en"
    for text in ("Sign in", "Skip to content", "Contact the help desk", "Accessibility: partially compliant"):
        assert text in english
    assert "Aller au contenu" not in english

    # Remembered: a later visit stays in English.
    assert html_lang(browser.get(LOGIN).content.decode()) == "en"

    response = choose(browser, english, "Français")
    french = response.content.decode()
    assert html_lang(french) == "fr" and "Aller au contenu" in french and "Skip to content" not in french
    assert browser.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"


def test_english_messages_from_views_on_the_sign_in_page(browser):
    page = browser.get(LOGIN).content.decode()
    page = choose(browser, page, "English").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    response = browser.post(LOGIN, {"csrfmiddlewaretoken": token, "identifier": "personne", "password": "mauvais"})
    assert "Incorrect identifier or password." in response.content.decode()


def test_selector_keeps_the_page_and_its_query(client, person):
    client.force_login(person)
    url = reverse("webmail:search") + "?q=conseil"
    page = client.get(url).content.decode()
    response = choose(client, page, "English")
    assert response.redirect_chain[-1][0] == url
    assert "Search results" in response.content.decode()


def test_webmail_in_english_and_back(client, person):
    client.force_login(person)
    inbox = client.get(reverse("webmail:index"), follow=True)
    french = inbox.content.decode()
    assert "Écrire un message" in french and "Dossiers" in french

    response = choose(client, french, "English")
    english = response.content.decode()
    assert html_lang(english) == "en"
    for text in ("Write a message", "Search my messages", "Folders", "Sign out", "Account security"):
        assert text in english
    for text in ("Écrire un message", "Rechercher dans mes messages", "Se déconnecter"):
        assert text not in english
    # The person's data stays as it is: subjects, and the store's folder names.
    assert "Conseil de classe" in english and "Boîte de réception" in english

    response = choose(client, english, "Français")
    assert "Écrire un message" in response.content.decode()


def test_dates_and_sizes_follow_the_chosen_language(client, person):
    # 26 Nov 2026 10:00 +0100 is a Thursday; the size is about 3 KB.
    client.force_login(person)
    french = client.get(reverse("webmail:index"), follow=True).content.decode()
    assert "26 novembre 2026" in french and "November" not in french
    assert re.search(r"\d,\d\xa0Ko", french) and "Kio" not in french

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    listing = client.get(reverse("webmail:index"), follow=True)
    english = listing.content.decode()
    assert "26 November 2026" in english and "novembre" not in english
    assert re.search(r"\d\.\d\xa0KB", english) and "Kio" not in english

    from academail.store.models import Message

    message = Message.objects.get(mailbox__account=person, mailbox__special_use="inbox")
    reading = client.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode()
    assert "Thursday" in reading and "26 November 2026" in reading and "jeudi" not in reading


def test_an_unknown_language_leaves_french(browser):
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    assert html_lang(browser.get(LOGIN).content.decode()) == "fr"
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "x" * 5000
    assert html_lang(browser.get(LOGIN).content.decode()) == "fr"

    # set_language accepts any language Django itself has (German); we still answer in French.
    page = browser.get(LOGIN).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    response = browser.post(reverse("set_language"), {"csrfmiddlewaretoken": token, "language": "de", "next": LOGIN}, follow=True)
    assert html_lang(response.content.decode()) == "fr" and response["Content-Language"] == "fr"


def test_selector_needs_the_csrf_token_and_stays_on_the_site(browser):
    refused = browser.post(reverse("set_language"), {"language": "en", "next": LOGIN})
    assert refused.status_code == 403
    assert settings.LANGUAGE_COOKIE_NAME not in browser.cookies

    page = browser.get(LOGIN).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    response = browser.post(
        reverse("set_language"), {"csrfmiddlewaretoken": token, "language": "en", "next": "https://ailleurs.example/"}
    )
    assert response.status_code == 302 and not response["Location"].startswith("https://ailleurs")


def test_scripts_get_the_catalogue_of_the_chosen_language(browser):
    french = browser.get(LOGIN).content.decode()
    url = re.search(r'<script src="([^"]*/i18n/js/[^"]*)" defer></script>', french)[1]
    assert url.endswith("?fr")  # one cached copy per language
    catalogue = browser.get(url)
    assert catalogue.status_code == 200 and catalogue["Content-Type"].startswith("text/javascript")
    assert "django.gettext" in catalogue.content.decode() and "Cookie" in catalogue["Vary"]
    again = browser.get(url, HTTP_IF_MODIFIED_SINCE=catalogue["Last-Modified"])
    assert again.status_code == 304

    english = choose(browser, french, "English").content.decode()
    assert re.search(r'<script src="[^"]*/i18n/js/\?en" defer></script>', english)
