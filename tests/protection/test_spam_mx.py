"""Spam verdicts on the real MX (smtplib over loopback, fake DNS): mail
claiming the académie from outside, DMARC p=quarantine failures, and the
refusal with 550 5.7.1 at SMTP time of mail that is over the reject score and
fails authentication; nothing is dropped silently."""

from __future__ import annotations

import smtplib

import pytest

from academail.delivery.dns import FakeResolver
from academail.protection.spam import GTUBE
from academail.smtp import codes
from academail.store.models import Message
from tests.conftest import build_message

RESOLVER = FakeResolver(
    txt={
        "usurpateur.example": ["v=spf1 ip4:192.0.2.1 -all"],
        "_dmarc.banque.example": ["v=DMARC1; p=quarantine"],
        "parents.example": ["v=spf1 ip4:127.0.0.1 -all"],
    },
)


def send(mx, account, mail_from: str, raw: bytes) -> None:
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("mta.example")
        client.sendmail(mail_from, [account.address], raw)


def newest(account) -> Message:
    return Message.objects.filter(mailbox__account=account).select_related("mailbox").latest("pk")


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_academie_domain_from_outside_failing_auth_goes_to_indesirables(mx, make_account):
    account = make_account()
    send(mx, account, "bounce@usurpateur.example", build_message(sender="Rectorat <rectorat@ac-demo.fr>"))
    message = newest(account)
    assert message.mailbox.special_use == "junk"
    prefix = bytes(message.prefix)
    assert b"ACADEMIE_SPOOF" in prefix and b"SPF_FAIL" in prefix
    assert prefix.index(b"Authentication-Results") < prefix.index(b"X-Spam-Status: Yes")


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_dmarc_quarantine_failure_goes_to_indesirables(mx, make_account):
    account = make_account()
    send(mx, account, "bounce@usurpateur.example", build_message(sender="Banque <securite@banque.example>"))
    message = newest(account)
    assert message.mailbox.special_use == "junk"
    assert b"DMARC_FAIL" in bytes(message.prefix) and b"DMARC_QUARANTINE" in bytes(message.prefix)


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_over_the_reject_score_and_failing_auth_is_refused_at_smtp_time(mx, make_account):
    account = make_account()
    raw = build_message(sender="Banque <securite@banque.example>", body=f"Bonjour\n{GTUBE}\n")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(mx, account, "bounce@usurpateur.example", raw)
    code, text = codes.S550_SPAM_REJECTED.split(" ", 1)
    assert refused.value.smtp_code == int(code)
    assert refused.value.smtp_error.decode() == text
    assert not Message.objects.filter(mailbox__account=account).exists()


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_over_the_reject_score_but_authenticated_is_kept_in_indesirables(mx, make_account):
    """GTUBE from a sender that passes SPF: far over the score, but only
    failing authentication is refused; this one is kept, in Indésirables."""
    account = make_account()
    send(mx, account, "maman@parents.example", build_message(sender="maman@parents.example", body=GTUBE))
    message = newest(account)
    assert message.mailbox.special_use == "junk"
    assert b"spf=pass" in bytes(message.prefix)
