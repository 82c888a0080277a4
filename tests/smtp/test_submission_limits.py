"""Sending limits over the wire: smtplib with implicit TLS + AUTH on the
465-like port. Over the soft limit the reply is still 250 (held for review),
over the hard one 450 4.7.1; administrators hear once; a release delivers
what was held as submission would have."""

from __future__ import annotations

import smtplib
import ssl

import pytest

from academail.delivery.models import HeldMessage, OutboundMessage, SendEvent
from academail.delivery.route import release_held
from academail.smtp import codes
from academail.store.messages import access_message, read_raw
from academail.store.models import Mailbox, Message
from tests.conftest import build_message
from tests.smtp.conftest import PASSWORD


def tls_client(submission) -> smtplib.SMTP_SSL:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    client = smtplib.SMTP_SSL(submission.host, submission.tls_port, context=context, timeout=10)
    client.ehlo("telephone.example")
    return client


def inbox(account) -> list[bytes]:
    box = Mailbox.objects.get(account=account, special_use="inbox")
    return [read_raw(access_message(account.pk, box.pk, m.uid)) for m in Message.objects.filter(mailbox=box).order_by("uid")]


def transaction(client: smtplib.SMTP, sender, recipients: list[str], subject: str) -> tuple[int, str]:
    client.mail(sender.address)
    for address in recipients:
        assert client.rcpt(address)[0] == 250
    code, reply = client.data(build_message(subject=subject, sender=sender.address, to=", ".join(recipients)))
    return code, reply.decode()


@pytest.fixture
def small_limits(settings):
    for name in ("MINUTE", "HOUR", "DAY"):
        setattr(settings, f"SEND_LIMIT_SOFT_{name}", 0)
        setattr(settings, f"SEND_LIMIT_HARD_{name}", 0)
    settings.SEND_LIMIT_SOFT_MINUTE = 2
    settings.SEND_LIMIT_HARD_MINUTE = 4
    return settings


def test_soft_limit_holds_with_250_hard_limit_is_450_admins_told_once(
    small_limits, submission, sender, make_account, mailoutbox
):
    colleague = make_account("Paul", "Durand")
    admin = make_account("Jean-Pierre", "De La Fontaine", role="admin")
    with tls_client(submission) as client:
        client.login(sender.identifier, PASSWORD)
        code, reply = transaction(client, sender, [colleague.address, "ami@exemple.org"], "Premier")
        assert code == 250 and reply.startswith("2.0.0 OK: stored as")
        code, reply = transaction(client, sender, [colleague.address], "Retenu")
        assert f"{code} {reply}".startswith(codes.S250_HELD.split("(")[0])
        code, reply = transaction(client, sender, ["ami@exemple.org"], "Refusé")  # 2 sent + 1 held + 1 <= 4: held
        assert code == 250 and "Held for review" in reply
        code, reply = transaction(client, sender, ["ami@exemple.org"], "De trop")  # 5 > hard 4
        assert f"{code} {reply}" == codes.S450_SENDING_LIMIT
        # A 450 leaves the session usable (RFC 5321 §4.2.5): the client may try again later.
        assert client.noop()[0] == 250

    assert [m.count(b"Subject: Premier") for m in inbox(colleague)] == [1]
    assert OutboundMessage.objects.count() == 1  # only the first one left for outside
    held = HeldMessage.objects.order_by("created_at")
    assert [h.subject for h in held] == ["Retenu", "Refusé"]
    assert all(h.origin == "smtp" for h in held)
    assert bytes(held[0].trace).startswith(b"Received: from telephone.example")
    assert sorted(SendEvent.objects.values_list("recipients", "held")) == [(1, True), (1, True), (2, False)]
    (notice,) = mailoutbox
    assert notice.to == [admin.address] and sender.identifier in notice.subject

    assert release_held(held[0].pk) is not None
    released = inbox(colleague)[-1]
    assert released.startswith(b"Received: from telephone.example") and b"Subject: Retenu" in released
    assert sorted(SendEvent.objects.values_list("recipients", "held")) == [(1, False), (1, True), (2, False)]


def test_a_refused_local_recipient_counts_nothing(small_limits, submission, sender, make_account):
    colleague = make_account("Paul", "Durand")
    colleague.quota_bytes = 1
    colleague.save()
    with tls_client(submission) as client:
        client.login(sender.identifier, PASSWORD)
        client.mail(sender.address)
        assert client.rcpt(colleague.address)[0] == 250
        code, _ = client.data(build_message(sender=sender.address, to=colleague.address, body="x" * 5000))
    assert code == int(codes.S452_MAILBOX_FULL[:3])  # rolled back after the gate counted
    assert SendEvent.objects.count() == 0 and HeldMessage.objects.count() == 0
