"""The identity pages, the landing page and the mail-client setup page in
English once chosen, and the mail they send still in French."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def person(db):
    from academail.accounts.models import Status
    from academail.accounts.services import check_create_account

    account = check_create_account(first_name="Julie", last_name="Martin", numen="11E9501234ABC", status=str(Status.ACTIVE))
    account.set_password(PASSWORD)
    account.save()
    return account


def english(ua: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0") -> Client:
    client = Client(HTTP_USER_AGENT=ua)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def text(response) -> str:
    page = response.content.decode()
    return unescape(" ".join(re.sub(r"<[^>]+>", " ", page[page.index("<main"):page.index("</main>")]).split()))


def test_sign_in_page_in_english():
    client = english()
    page = text(client.get(LOGIN))
    for words in ("Sign in to your mailbox", "Identifier", "for example jdupont", "Password",
                  "First sign-in", "Forgotten password", "Contact the help desk"):
        assert words in page
    for words in ("Se connecter à la messagerie", "Identifiant", "Mot de passe oublié"):
        assert words not in page
    refused = text(client.post(LOGIN, {"identifier": "jmartin", "password": "wrong"}))
    assert "Incorrect identifier or password." in refused


def test_recovery_and_first_connection_pages_in_english():
    client = english()
    reset = text(client.get(reverse("accounts:reset_request")))
    assert "Enter your identifier and your NUMEN" in reset and "Send me the link" in reset
    start = text(client.get(reverse("accounts:activation_start")))
    assert "Activate my account" in start and "First sign-in — step 1 of 4" in start
    summary = text(client.post(reverse("accounts:reset_request"), {"identifier": "", "numen": ""}))
    assert "The form has 2 errors:" in summary


def test_security_page_and_its_dates_in_english(person):
    client = english()
    client.post(LOGIN, {"identifier": "jmartin", "password": PASSWORD})
    page = text(client.get(reverse("accounts:security")))
    assert "Account security" in page and "Activity log" in page and "Successful sign-in" in page
    month = re.search(r"\b\d{1,2} (\w+)\.? \d{4}, \d\d:\d\d", page)
    assert month and month[1] in {"Jan", "Feb", "March", "April", "May", "June", "July", "Aug", "Sept", "Oct", "Nov", "Dec"}
    sessions = text(client.get(reverse("accounts:sessions")))
    assert "Open web sessions" in sessions and "this session" in sessions and "Opened on" in sessions


def test_mail_sent_from_an_english_page_stays_french(person):
    english().post(LOGIN, {"identifier": "jmartin", "password": PASSWORD})
    assert not mail.outbox
    english(ua="Mozilla/5.0 (iPhone) Safari/605").post(LOGIN, {"identifier": "jmartin", "password": PASSWORD})
    (alert,) = mail.outbox
    assert "Une connexion à votre messagerie académique" in alert.body
    weekday = re.search(r"Date : (\w+) ", alert.body)[1]
    assert weekday in {"lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"}


def test_setup_page_and_home_page_in_english(person):
    client = english()
    home = text(client.get("/"))
    assert "The académie's email service is up and running." in home and "First sign-in: activate my account" in home
    client.post(LOGIN, {"identifier": "jmartin", "password": PASSWORD})
    setup = text(client.get(reverse("autoconfig:setup")))
    assert "Set up my phone or mail program" in setup and "Incoming mail (IMAP)" in setup
    assert "Your user name is your identifier jmartin , not your address." in setup
    assert "Settings > Apps > Mail > Mail Accounts > Add Account" in setup
