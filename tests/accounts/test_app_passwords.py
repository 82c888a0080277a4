"""App passwords: made by the server, shown once, kept as a keyed hash, valid
for IMAP and SMTP through ``authenticate`` and never for the web, revocable,
revoked by a password reset and by "sign out everywhere", and required for
IMAP/SMTP when the administrator says so."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from academail.accounts import apppasswords
from academail.accounts.models import AppPassword, EventKind, JournalEntry, Throttle
from academail.accounts.services import authenticate
from tests.accounts.conftest import OTHER_PASSWORD, PASSWORD, link_in

pytestmark = pytest.mark.django_db
PAGE = reverse("accounts:app_passwords")
SECRET_RE = re.compile(r"\b[a-z]{4} [a-z]{4} [a-z]{4} [a-z]{4}\b")


def signed_in(person) -> Client:
    client = Client()
    response = client.post(reverse("accounts:login"), {"identifier": "jmartin", "password": PASSWORD})
    assert response.status_code == 302
    return client


def create(client: Client, name: str = "Téléphone de Julie") -> str:
    response = client.post(PAGE, {"name": name})
    assert response.status_code == 200
    return SECRET_RE.search(response.content.decode()).group(0)


def imap(secret: str, protocol: str = "imap"):
    return authenticate("jmartin", secret, protocol=protocol, remote_addr="198.51.100.7")


def test_created_shown_once_and_hashed(person):
    client = signed_in(person)
    assert "Mots de passe d'application" in client.get(reverse("accounts:security")).content.decode()
    secret = create(client)
    assert len(secret.replace(" ", "")) == 16
    again = client.get(PAGE).content.decode()
    assert "Téléphone de Julie" in again and "Jamais utilisé" in again
    assert not SECRET_RE.search(again)  # never shown again
    row = AppPassword.objects.get(account=person)
    stored = " ".join(str(v) for v in AppPassword.objects.values_list().get())
    assert secret.replace(" ", "") not in stored.replace(" ", "") and len(row.digest) == 64
    assert JournalEntry.objects.filter(account=person, kind=EventKind.APP_PASSWORD_CREATED).exists()


def test_works_for_imap_and_smtp_and_is_journaled(person):
    secret = create(signed_in(person))
    assert imap(secret) == person
    assert imap(secret.upper().replace(" ", "-"), "smtp") == person  # typed with dashes, in capitals
    row = AppPassword.objects.get(account=person)
    assert row.last_used_protocol == "smtp" and str(row.last_used_addr) == "198.51.100.7"
    entry = JournalEntry.objects.filter(account=person, protocol="imap").latest("id")
    assert "Téléphone de Julie" in entry.detail
    assert "SMTP" in signed_in(person).get(PAGE).content.decode()
    assert imap(PASSWORD) == person  # the account password still works by default


def test_never_for_the_web(person):
    secret = create(signed_in(person))
    response = Client().post(reverse("accounts:login"), {"identifier": "jmartin", "password": secret})
    assert response.status_code == 200 and "Identifiant ou mot de passe incorrect" in response.content.decode()


def test_revoked(person):
    client = signed_in(person)
    secret = create(client)
    create(client, "Thunderbird")
    row = AppPassword.objects.get(account=person, name="Téléphone de Julie")
    client.post(reverse("accounts:app_password_revoke", args=[row.pk]))
    assert imap(secret) is None
    assert AppPassword.objects.filter(account=person).count() == 1
    assert JournalEntry.objects.filter(account=person, kind=EventKind.APP_PASSWORD_REVOKED,
                                       detail="Téléphone de Julie").exists()


def test_someone_elses_cannot_be_revoked(person, pending):
    created = apppasswords.check_create(pending, "Téléphone")
    response = signed_in(person).post(reverse("accounts:app_password_revoke", args=[created.app_password.pk]))
    assert response.status_code == 404 and AppPassword.objects.filter(account=pending).exists()


def test_revoked_by_password_reset(client, person):
    secret = create(signed_in(person))
    client.post(reverse("accounts:reset_request"), {"identifier": "jmartin", "numen": "11E9501234ABC"})
    link = link_in(mail.outbox[0])
    client.post(link, {"password1": OTHER_PASSWORD, "password2": OTHER_PASSWORD})
    assert not AppPassword.objects.filter(account=person).exists()
    assert imap(secret) is None


def test_revoked_by_signing_out_everywhere(person):
    client = signed_in(person)
    secret = create(client)
    client.post(reverse("accounts:sessions_end_all"))
    assert imap(secret) is None


def test_required_mode_refuses_the_account_password(person, settings):
    settings.REQUIRE_APP_PASSWORDS = True
    client = signed_in(person)  # the web is unaffected
    secret = create(client)
    assert "Votre académie l'impose" in client.get(PAGE).content.decode()
    assert imap(PASSWORD) is None
    assert imap(PASSWORD, "smtp") is None
    assert JournalEntry.objects.filter(account=person, kind=EventKind.SIGNIN_FAILED, protocol="imap").exists()
    assert Throttle.objects.get(key="id:jmartin").failures == 2  # counted like any failure
    assert imap(secret) == person


def test_name_is_required(person):
    response = signed_in(person).post(PAGE, {"name": "   "})
    assert not SECRET_RE.search(response.content.decode())
    assert not AppPassword.objects.exists()
