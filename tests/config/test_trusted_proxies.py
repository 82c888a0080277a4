"""Spoofed client addresses (outside review, 2026-12): X-Forwarded-For was
believed from any local peer, so a client chose the address throttling and
the journal recorded. It is believed only from ``ACADEMAIL_TRUSTED_PROXIES``
(empty by default), through one function (``config.proxies``)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from academail.accounts.models import JournalEntry, Throttle
from academail.config.proxies import client_address
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/connexion/"


@pytest.fixture
def person(make_account):
    account = make_account("Julie", "Martin")
    account.set_password(PASSWORD)
    account.save()
    return account


def fail_from(peer: str, **headers) -> None:
    Client(REMOTE_ADDR=peer, **headers).post(LOGIN, {"identifier": "jmartin", "password": "mauvais"})


def test_forwarded_for_from_an_untrusted_peer_is_ignored(person):
    fail_from("127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.66")
    assert Throttle.objects.filter(key="pair:127.0.0.1:jmartin").exists()
    assert not Throttle.objects.filter(key__contains="203.0.113.66").exists()
    assert JournalEntry.objects.get(account=person, kind="signin_failed").remote_addr == "127.0.0.1"


def test_forwarded_for_from_a_trusted_proxy_names_the_client(person, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # The client wrote its own X-Forwarded-For (1.2.3.4); our proxy appended the real peer.
    fail_from("10.1.2.3", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.20")
    assert JournalEntry.objects.get(account=person, kind="signin_failed").remote_addr == "198.51.100.20"
    assert Throttle.objects.filter(key="pair:198.51.100.20:jmartin").exists()


def test_chained_trusted_proxies_are_skipped_and_garbage_stops_the_walk(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]
    assert client_address("10.0.0.1", "198.51.100.7, 192.0.2.1, 10.9.9.9") == "198.51.100.7"
    assert client_address("10.0.0.1", "198.51.100.7, pas-une-adresse") == "10.0.0.1"
    assert client_address("10.0.0.1", "") == "10.0.0.1"
    assert client_address("203.0.113.1", "198.51.100.7") == "203.0.113.1"
    assert client_address("::ffff:10.0.0.1", "198.51.100.7") == "198.51.100.7"


def test_forwarded_proto_is_believed_from_trusted_proxies_only(settings, person):
    settings.SECURE_SSL_REDIRECT = True
    spoofed = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_PROTO="https").get(LOGIN)
    assert spoofed.status_code == 301 and spoofed["Location"].startswith("https://")
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    proxied = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_PROTO="https").get(LOGIN)
    assert proxied.status_code == 200
    assert Client().get(reverse("healthz")).status_code == 200  # load balancers check over HTTP
