"""SPF, DKIM and DMARC on the MX with a fake resolver: the verdict lands in the
Authentication-Results field of the per-delivery prefix (RFC 8601)."""

from __future__ import annotations

import smtplib

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from academail.delivery.dns import FakeResolver
from academail.store.messages import access_message, read_raw
from academail.store.models import Mailbox, Message
from tests.conftest import build_message

_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
PRIVATE = _key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
PUBLIC = __import__("base64").b64encode(
    _key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()

RESOLVER = FakeResolver(
    txt={
        "college-exemple.fr": ["v=spf1 ip4:127.0.0.1 -all"],
        "_dmarc.college-exemple.fr": ["v=DMARC1; p=reject"],
        "sel._domainkey.college-exemple.fr": [f"v=DKIM1; k=rsa; p={PUBLIC}"],
        "usurpateur.example": ["v=spf1 ip4:192.0.2.1 -all"],
        "_dmarc.banque.example": ["v=DMARC1; p=quarantine"],
    },
    fail=["_dmarc.panne.example"],
)


def deliver(mx, account, mail_from: str, raw: bytes) -> bytes:
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("mta.example")
        client.sendmail(mail_from, [account.address], raw)
    # The newest copy, wherever the spam verdict put it (a forged sender goes to Indésirables).
    newest = Message.objects.filter(mailbox__account=account).select_related("mailbox").latest("pk")
    return read_raw(access_message(account.pk, newest.mailbox.pk, newest.uid))


def results(stored: bytes) -> str:
    head = stored.split(b"\r\nReceived:", 1)[0].decode()
    assert head.startswith("Authentication-Results: localhost;")
    return " ".join(head.split())


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_spf_dkim_dmarc_pass(mx, make_account):
    account = make_account()
    raw = build_message(sender="direction@college-exemple.fr")
    signed = dkim.sign(raw, b"sel", b"college-exemple.fr", PRIVATE, include_headers=[b"from", b"subject", b"date"]) + raw
    verdict = results(deliver(mx, account, "direction@college-exemple.fr", signed))
    assert "spf=pass smtp.mailfrom=direction@college-exemple.fr" in verdict
    assert "dkim=pass header.d=college-exemple.fr" in verdict
    assert "dmarc=pass (p=reject) header.from=college-exemple.fr" in verdict


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_forged_sender_fails_spf_dkim_and_dmarc(mx, make_account):
    account = make_account()
    raw = build_message(sender="direction@college-exemple.fr")
    signed = dkim.sign(raw, b"sel", b"college-exemple.fr", PRIVATE, include_headers=[b"from", b"subject"]) + raw
    tampered = signed.replace(b"conseil de classe", b"conseil de crise")
    verdict = results(deliver(mx, account, "direction@college-exemple.fr", tampered))
    assert "spf=pass" in verdict  # 127.0.0.1 is allowed; the body was changed in transit
    assert "dkim=fail header.d=college-exemple.fr" in verdict
    assert "dmarc=pass" in verdict, "SPF aligned is enough for DMARC"
    raw = build_message(sender="Service client <securite@banque.example>")
    verdict = results(deliver(mx, account, "bounce@usurpateur.example", raw))
    assert "spf=fail smtp.mailfrom=bounce@usurpateur.example" in verdict
    assert "dkim=none" in verdict
    assert "dmarc=fail (p=quarantine) header.from=banque.example" in verdict


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_dns_failure_is_temperror(mx, make_account):
    account = make_account()
    verdict = results(deliver(mx, account, "x@panne.example", build_message(sender="x@panne.example")))
    assert "spf=none" in verdict and "dmarc=temperror" in verdict


def test_checks_can_be_turned_off(mx, make_account, settings):
    import smtplib

    from academail.store.messages import access_message, read_raw

    settings.INBOUND_CHECKS = False
    account = make_account()
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.sendmail("a@example.org", [account.address], b"Subject: sans DNS\r\n\r\nx\r\n")
    box = Mailbox.objects.get(account=account, special_use="inbox")
    assert read_raw(access_message(account.pk, box.pk, 1)).startswith(b"Received: ")


ARC_RESOLVER = FakeResolver(
    txt={
        "liste.example": ["v=spf1 ip4:127.0.0.1 -all"],
        "arc._domainkey.liste.example": [f"v=DKIM1; k=rsa; p={PUBLIC}"],
    },
)


@pytest.mark.parametrize("mx", [ARC_RESOLVER], indirect=True)
def test_arc_chain_is_reported(mx, make_account):
    """A mailing list that sealed the message (RFC 8617): arc=pass; a seal
    broken after the list (body changed): arc=fail."""
    account = make_account()
    raw = build_message(sender="membre@ailleurs.example")
    auth = b"Authentication-Results: liste.example; spf=pass smtp.mailfrom=membre@ailleurs.example\r\n"
    sealed = dkim.arc_sign(auth + raw, b"arc", b"liste.example", PRIVATE, b"liste.example")
    message = b"".join(sealed) + auth + raw
    assert "arc=pass" in results(deliver(mx, account, "bounces@liste.example", message))
    tampered = message.replace(b"conseil de classe", b"conseil DE CLASSE")
    assert "arc=fail" in results(deliver(mx, account, "bounces@liste.example", tampered))
