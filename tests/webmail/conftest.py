"""Webmail fixtures: a signed-in person with a Django test client, another
account, and helpers that deliver messages through the real door."""

from __future__ import annotations

import pytest
from django.db import transaction

PASSWORD = "Une-phrase-de-passe-2026!"


@pytest.fixture
def person(make_account):
    account = make_account("Julie", "Martin")
    account.set_password(PASSWORD)
    account.save()
    return account


@pytest.fixture
def other(make_account):
    return make_account("Paul", "Durand")


@pytest.fixture
def web(client, person):
    client.force_login(person)
    return client


def deliver(account, raw: bytes):
    """Deliver ``raw`` into the account's INBOX; returns the stored Message."""
    from academail.delivery.route import deliver as door_deliver
    from academail.store.models import Message

    (outcome,) = door_deliver(raw, [account.address])
    assert outcome.delivered, outcome
    return Message.objects.select_related("content").get(mailbox__account=account, mailbox__special_use="inbox", uid=outcome.uid)


def deliver_many(account, raw: bytes, count: int):
    """``count`` copies of one message in the INBOX, in one store call (fast)."""
    from academail.store.messages import Placement, do_store, inbox_ids, prepare_content

    prepared = prepare_content(raw)
    box = inbox_ids([account.pk])[account.pk]
    with transaction.atomic():
        do_store(prepared, [Placement(account.pk, box)] * count)
    return box


def box_of(account, use: str):
    from academail.store.models import Mailbox

    return Mailbox.objects.get(account=account, special_use=use)


def html_message(html: str, *, subject: str = "Lettre HTML", to: str = "julie.martin@ac-demo.fr", extra: bytes = b"") -> bytes:
    return (
        f"From: Direction <direction@college-exemple.fr>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        "Date: Thu, 26 Nov 2026 10:00:00 +0100\r\nMessage-ID: <html-1@college-exemple.fr>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
    ).encode() + extra + b"\r\n" + html.encode()


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Argon2 is the point in production and in tests/accounts; here it only slows setup.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
