"""Forwarding through the real MX and the real outbound queue, against the
loopback "remote" MX (tests/smtp/remote.py): the forwarded copy arrives with an
SRS envelope sender and a DKIM signature that verifies; a bounce to the SRS
address (even lower-cased) goes back to the original sender, forged or expired
ones are 550 5.1.1; a remote refusal of the forward bounces to the original
sender too; sensitive mail stays; the loop through an outside address."""

from __future__ import annotations

import asyncio
import smtplib

import dkim
import pytest
from django.utils import timezone

from academail.delivery.models import OutboundMessage
from academail.delivery.queue import process_due
from academail.forwarding import srs
from academail.smtp import codes
from academail.store.models import Mailbox, Message
from tests.conftest import build_message

pytestmark = pytest.mark.django_db(transaction=True)

ORIGINAL = "direction@exemple.org"


@pytest.fixture(autouse=True)
def _policy(policy_settings):
    policy_settings.INBOUND_CHECKS = False
    return policy_settings


@pytest.fixture(autouse=True)
def _close_thread_connections():
    """Connections opened by the queue's finished worker threads sit in
    reference cycles; collect them so PostgreSQL can drop the test database."""
    yield
    import gc

    gc.collect()


def code_of(constant: str) -> int:
    return int(constant.split()[0])


def inbox(account) -> list[Message]:
    box = Mailbox.objects.get(account=account, special_use="inbox")
    return list(Message.objects.filter(mailbox=box).order_by("uid"))


def send(mx, raw: bytes, to: str, *, mail_from: str = ORIGINAL) -> None:
    with smtplib.SMTP(mx.host, mx.port) as client:
        assert client.sendmail(mail_from, [to], raw) == {}


def run_queue(remote_internet):
    return asyncio.run(process_due(remote_internet.transport(), now=timezone.now()))


def verifies(data: bytes, dkim_key: dict) -> bool:
    record = dkim_key["academail._domainkey.ac-demo.fr."]

    def dnsfunc(name, timeout=5):
        return record.encode() if name == b"academail._domainkey.ac-demo.fr." else None

    return bool(dkim.verify(data, dnsfunc=dnsfunc))


def test_forwarded_copy_reaches_the_remote_with_srs_and_dkim(mx, remote_internet, dkim_key, make_account, forward):
    julie = make_account()
    forward(julie, "julie@exemple.org")
    send(mx, build_message(sender=ORIGINAL, to=julie.address, subject="Conseil de classe"), julie.address)
    assert len(inbox(julie)) == 1
    assert run_queue(remote_internet).delivered == 1
    (received,) = remote_internet.sink.received
    assert received.rcpt_tos == ["julie@exemple.org"]
    assert srs.is_srs(received.mail_from) and received.mail_from.endswith("@ac-demo.fr")
    assert srs.reverse(received.mail_from) == ORIGINAL
    assert received.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=ac-demo.fr;")
    assert b"X-Academail-Forwarded-For: julie.martin@ac-demo.fr\r\n" in received.data
    assert b"by localhost (academail)" in received.data, "our Received field travels (loop counting)"
    assert verifies(received.data, dkim_key)
    assert not verifies(received.data.replace(b"Conseil de classe", b"Conseil de clase"), dkim_key)


def test_bounce_to_the_srs_address_goes_back_to_the_original_sender(mx, remote_internet, make_account, forward):
    julie = make_account()
    forward(julie, "julie@exemple.org", keep_copy=False)
    send(mx, build_message(sender=ORIGINAL, to=julie.address), julie.address)
    run_queue(remote_internet)
    address = remote_internet.sink.received[0].mail_from
    bounce = (b"From: MAILER-DAEMON@mx.exemple.org\r\nTo: " + address.encode() + b"\r\n"
              b"Subject: Undelivered Mail Returned to Sender\r\n\r\nMailbox full.\r\n")
    send(mx, bounce, address.lower(), mail_from="")  # some relays lower-case the local part
    assert inbox(julie) == []
    assert run_queue(remote_internet).delivered == 1
    returned = remote_internet.sink.received[1]
    assert returned.rcpt_tos == [ORIGINAL] and returned.mail_from == "<>"  # aiosmtpd writes the null sender so
    assert b"Mailbox full." in returned.data and b"by localhost (academail)" in returned.data


def test_forged_or_expired_srs_address_is_550_at_rcpt(mx, make_account):
    good = srs.forward(ORIGINAL, "ac-demo.fr")
    hash_ = good.split("=")[1]
    forged = good.replace(hash_, "AAAA" if hash_.upper() != "AAAA" else "BBBB", 1)
    old = srs.forward(ORIGINAL, "ac-demo.fr", now=timezone.now().timestamp() - 30 * 86400)
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo()
        client.mail("")
        for address in (forged, old, good.replace("=direction@", "=quelquun@")):
            code, _ = client.rcpt(address)
            assert code == code_of(codes.S550_UNKNOWN_RECIPIENT), address
        code, _ = client.rcpt(good)
        assert code == 250
    assert OutboundMessage.objects.count() == 0, "nothing accepted before DATA"


def test_remote_refusal_of_the_forward_bounces_to_the_original_sender(mx, remote_internet, make_account, forward):
    julie = make_account()
    forward(julie, "reject.julie@exemple.org")  # the remote answers 550 5.1.1
    send(mx, build_message(sender=ORIGINAL, to=julie.address, subject="Sortie"), julie.address)
    assert run_queue(remote_internet).failed == 1
    # Our DSN went to the SRS address, which relays it to the original sender.
    assert run_queue(remote_internet).delivered == 1
    (dsn,) = remote_internet.sink.received
    assert dsn.rcpt_tos == [ORIGINAL] and dsn.mail_from == "<>"
    assert b"reject.julie@exemple.org" in dsn.data
    assert len(inbox(julie)) == 1


def test_sensitive_message_over_smtp_is_not_forwarded(mx, remote_internet, make_account, forward):
    julie = make_account()
    forward(julie, "julie@exemple.org", keep_copy=False)
    send(mx, build_message(sender=ORIGINAL, to=julie.address, subject="[DIFFUSION RESTREINTE] Sujets"), julie.address)
    assert len(inbox(julie)) == 1
    assert OutboundMessage.objects.count() == 0
    run_queue(remote_internet)
    assert remote_internet.sink.received == []


def test_loop_through_an_outside_address(mx, remote_internet, make_account, forward):
    """Julie forwards to X outside, X forwards back to Julie (headers kept):
    the second arrival stays in her mailbox and is not sent again."""
    julie = make_account()
    forward(julie, "julie@exemple.org", keep_copy=False)
    send(mx, build_message(sender=ORIGINAL, to=julie.address), julie.address)
    run_queue(remote_internet)
    (first,) = remote_internet.sink.received
    send(mx, first.data, julie.address, mail_from=srs.forward(first.mail_from, "exemple.org"))
    assert len(inbox(julie)) == 1
    assert OutboundMessage.objects.count() == 0
    assert run_queue(remote_internet).delivered == 0
