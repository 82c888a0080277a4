"""Submission over real sockets with smtplib: AUTH only over TLS (STARTTLS on
the 587-like port, implicit TLS on the 465-like one), sender rules, header
fixes, local delivery through the door and remote recipients queued."""

from __future__ import annotations

import base64
import smtplib
import ssl

import pytest

from academail.delivery.models import OutboundMessage, QueueEntry
from academail.smtp import codes
from academail.store.messages import access_message, read_raw
from academail.store.models import Mailbox, Message
from tests.conftest import build_message
from tests.smtp.conftest import PASSWORD


def code_of(constant: str) -> int:
    return int(constant[:3])


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def starttls_client(submission) -> smtplib.SMTP:
    client = smtplib.SMTP(submission.host, submission.starttls_port, timeout=10)
    client.starttls(context=tls_context())
    client.ehlo("telephone.example")
    return client


def inbox(account) -> list[bytes]:
    box = Mailbox.objects.get(account=account, special_use="inbox")
    return [read_raw(access_message(account.pk, box.pk, m.uid)) for m in Message.objects.filter(mailbox=box).order_by("uid")]


def test_auth_is_not_offered_nor_accepted_in_clear(submission, sender):
    with smtplib.SMTP(submission.host, submission.starttls_port, timeout=10) as client:
        client.ehlo("telephone.example")
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")
        token = base64.b64encode(f"\0{sender.identifier}\0{PASSWORD}".encode()).decode()
        code, message = client.docmd("AUTH", f"PLAIN {token}")
        assert (code, message.decode()) == (code_of(codes.S538_ENCRYPTION_REQUIRED), codes.S538_ENCRYPTION_REQUIRED[4:])
        code, _ = client.docmd("MAIL", f"FROM:<{sender.address}>")
        assert code == code_of(codes.S530_AUTH_REQUIRED)


def test_mail_needs_auth_even_over_tls(submission, sender):
    with starttls_client(submission) as client:
        assert client.has_extn("auth") and "PLAIN" in client.esmtp_features["auth"]
        code, _ = client.docmd("MAIL", f"FROM:<{sender.address}>")
        assert code == code_of(codes.S530_AUTH_REQUIRED)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_over_starttls_and_implicit_tls(submission, sender, mechanism):
    with starttls_client(submission) as client:
        client.user, client.password = sender.identifier, PASSWORD
        code, _ = client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
        assert code == 235
    with smtplib.SMTP_SSL(submission.host, submission.tls_port, context=tls_context(), timeout=10) as client:
        client.ehlo("ordinateur.example")
        assert not client.has_extn("starttls")
        client.user, client.password = sender.identifier.upper(), PASSWORD
        code, _ = client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
        assert code == 235


def test_wrong_password_is_535(submission, sender):
    with starttls_client(submission) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            client.login(sender.identifier, "pas-le-bon-mot-de-passe")
        assert error.value.smtp_code == code_of(codes.S535_AUTH_INVALID)
        assert b"5.7.8" in error.value.smtp_error


def test_throttled_sign_in_is_454(submission, sender, monkeypatch):
    from academail.accounts.services import SignInResult
    from academail.smtp import submission as module

    monkeypatch.setattr(module, "_check_password", lambda *args: (None, SignInResult(None, retry_after=120)))
    with starttls_client(submission) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            client.login(sender.identifier, PASSWORD)
        assert error.value.smtp_code == 454
        assert error.value.smtp_error.decode() == codes.S454_AUTH_THROTTLED.format(seconds=120)[4:]


def test_forged_envelope_sender_is_553(submission, sender):
    with starttls_client(submission) as client:
        client.login(sender.identifier, PASSWORD)
        code, message = client.docmd("MAIL", "FROM:<recteur@ac-demo.fr>")
        assert code == 553 and b"5.7.1" in message and b"recteur@ac-demo.fr" in message
        code, _ = client.docmd("MAIL", "FROM:<Secretariat.College@ac-demo.fr>")  # an alias, any case
        assert code == 250


def test_forged_from_header_is_550(submission, sender, make_account):
    colleague = make_account("Paul", "Durand")
    with starttls_client(submission) as client:
        client.login(sender.identifier, PASSWORD)
        forged = build_message(sender="Le Recteur <recteur@ac-demo.fr>", to=colleague.address)
        with pytest.raises(smtplib.SMTPDataError) as error:
            client.sendmail(sender.address, [colleague.address], forged)
        assert error.value.smtp_code == 550
        assert error.value.smtp_error.decode() == codes.S550_FROM_NOT_OWNED.format(address="recteur@ac-demo.fr")[4:]
    assert inbox(colleague) == []


def test_local_delivery_strips_bcc_adds_ids_and_keeps_no_sent_copy(submission, sender, make_account):
    colleague = make_account("Paul", "Durand")
    raw = (
        f"From: Julie Martin <{sender.address}>\r\nTo: {colleague.address}\r\n"
        "Bcc: cache@ac-demo.fr,\r\n autre@exemple.org\r\nSubject: Réunion\r\n\r\nÀ jeudi.\r\n"
    ).encode()
    with starttls_client(submission) as client:
        client.login(sender.identifier, PASSWORD)
        assert client.sendmail(sender.address, [colleague.address], raw) == {}
    (stored,) = inbox(colleague)
    assert stored.startswith(b"Received: from telephone.example ([127.0.0.1])")
    assert b"with ESMTPSA" in stored
    assert b"Bcc" not in stored and b"autre@exemple.org" not in stored
    assert b"\r\nDate: " in stored and b"\r\nMessage-ID: <" in stored
    assert stored.endswith(b"\r\n\r\n\xc3\x80 jeudi.\r\n")
    sent = Mailbox.objects.get(account=sender, special_use="sent")
    assert Message.objects.filter(mailbox=sent).count() == 0
    assert QueueEntry.objects.count() == 0


def test_message_without_headers_gets_from_date_and_message_id(submission, sender, make_account):
    colleague = make_account("Paul", "Durand")
    with starttls_client(submission) as client:
        client.login(sender.identifier, PASSWORD)
        client.sendmail(sender.address, [colleague.address], b"juste un corps\r\n")
    (stored,) = inbox(colleague)
    assert f"From: <{sender.address}>".encode() in stored
    assert stored.endswith(b"\r\n\r\njuste un corps\r\n")


def test_local_and_remote_recipients_in_one_commit(submission, sender, make_account, dkim_key):
    colleague = make_account("Paul", "Durand")
    raw = build_message(sender=sender.address, to=f"{colleague.address}, ami@exemple.org")
    with starttls_client(submission) as client:
        client.login(sender.identifier, PASSWORD)
        refused = client.sendmail(sender.address, [colleague.address, "ami@exemple.org", "Autre@Exemple.org"], raw)
    assert refused == {}
    assert len(inbox(colleague)) == 1
    message = OutboundMessage.objects.get()
    assert sorted(message.entries.values_list("recipient", flat=True)) == ["Autre@Exemple.org", "ami@exemple.org"]
    queued = bytes(message.raw)
    assert queued.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=ac-demo.fr;")
    assert b"Received: from telephone.example" in queued
    assert message.account_id == sender.pk


def test_unknown_local_recipient_is_550_at_rcpt(submission, sender):
    with starttls_client(submission) as client:
        client.login(sender.identifier, PASSWORD)
        client.mail(sender.address)
        code, _ = client.rcpt("personne@ac-demo.fr")
        assert code == code_of(codes.S550_UNKNOWN_RECIPIENT)
        code, _ = client.rcpt("quelquun@exemple.org")
        assert code == 250
