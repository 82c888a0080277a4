"""The outbound queue against loopback "remote" servers, with a fake resolver
and a fake clock (``now=`` passed to each pass; nothing sleeps): delivery with
STARTTLS and DKIM, retries on the schedule, the delay notice, bounces after a
permanent failure and after expiry, none to the null sender, DNS failures, a
server that never answers, capture mode, the ``academail queue`` command and
two workers sharing the queue."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from datetime import timedelta

import dkim
import pytest
from django.db import connection
from django.utils import timezone

from academail.config.cli import main
from academail.delivery.dkim import sign
from academail.delivery.models import CapturedMessage, OutboundMessage, QueueEntry
from academail.delivery.queue import CaptureTransport, claim_due, enqueue, process_due
from academail.store.messages import access_message, read_raw
from academail.store.models import Mailbox, Message
from tests.conftest import build_message

pytestmark = pytest.mark.django_db(transaction=True)


def run_pass(transport, now):
    return asyncio.run(process_due(transport, now=now))


def inbox(account) -> list[bytes]:
    box = Mailbox.objects.get(account=account, special_use="inbox")
    return [read_raw(access_message(account.pk, box.pk, m.uid)) for m in Message.objects.filter(mailbox=box).order_by("uid")]


def queue_message(sender, recipients, **kwargs) -> int:
    return enqueue(build_message(sender=sender.address, to=", ".join(recipients), **kwargs), mail_from=sender.address, recipients=recipients)


def parse_report(raw: bytes):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    text, status, headers = message.iter_parts()
    return message, text.get_content(), status, headers


def test_delivered_with_starttls_and_a_dkim_signature_verified_outside(remote_internet, sender, dkim_key):
    raw = sign(build_message(sender=f"Julie Martin <{sender.address}>", to="ami@exemple.org"))
    enqueue(raw, mail_from=sender.address, recipients=["ami@exemple.org", "collegue@exemple.org"])
    outcome = run_pass(remote_internet.transport(), timezone.now())
    assert (outcome.delivered, outcome.deferred, outcome.failed) == (2, 0, 0)
    (received,) = remote_internet.sink.received  # one SMTP transaction for the domain
    assert received.tls, "STARTTLS was offered, so it was used"
    assert sorted(received.rcpt_tos) == ["ami@exemple.org", "collegue@exemple.org"]
    assert received.mail_from == sender.address
    record = dkim_key["academail._domainkey.ac-demo.fr."]

    def dnsfunc(name, timeout=5):
        assert name == b"academail._domainkey.ac-demo.fr."
        return record.encode()

    assert dkim.verify(received.data, dnsfunc=dnsfunc)
    assert not dkim.verify(received.data.replace(b"Conseil de classe", b"Conseil de clase"), dnsfunc=dnsfunc)
    assert QueueEntry.objects.count() == 0 and OutboundMessage.objects.count() == 0


def test_retries_follow_the_schedule_then_delay_notice_then_bounce_on_expiry(remote_internet, sender, settings):
    settings.QUEUE_RETRY_SCHEDULE = [300, 3600]
    transport = remote_internet.transport()
    start = timezone.now()
    queue_message(sender, ["defer.toujours@exemple.org"], subject="Sortie scolaire")
    entry = QueueEntry.objects.get()
    entry.created_at = entry.next_attempt_at = start
    entry.save()

    assert run_pass(transport, start).deferred == 1
    entry.refresh_from_db()
    assert entry.attempts == 1 and entry.next_attempt_at == start + timedelta(seconds=300)
    assert entry.last_reply.startswith("451 4.3.0")
    assert run_pass(transport, start + timedelta(seconds=299)).deferred == 0, "not due yet"
    run_pass(transport, start + timedelta(seconds=300))
    entry.refresh_from_db()
    assert entry.attempts == 2 and entry.next_attempt_at == start + timedelta(seconds=300 + 3600)
    assert inbox(sender) == []

    four_hours = start + timedelta(hours=4, minutes=1)
    run_pass(transport, four_hours)
    (notice,) = inbox(sender)
    message, text, status, _ = parse_report(notice)
    assert "Distribution retardée" in message["Subject"] and "Sortie scolaire" in message["Subject"]
    assert text.index("pas encore pu être remis") < text.index("could not be delivered yet")
    assert "Action: delayed" in status.as_string() and "Will-Retry-Until" in status.as_string()
    run_pass(transport, four_hours + timedelta(hours=1))
    assert len(inbox(sender)) == 1, "one delay notice only"

    run_pass(transport, start + timedelta(days=5, seconds=1))
    assert QueueEntry.objects.count() == 0 and OutboundMessage.objects.count() == 0
    bounce = inbox(sender)[1]
    message, text, status, headers = parse_report(bounce)
    assert message["Subject"].startswith("Message non distribué / Undelivered mail")
    assert "Action: failed" in status.as_string() and "Status: 4.3.0" in status.as_string()
    assert "Sortie scolaire" in headers.get_content()
    assert text.index("n'a pas pu être remis") < text.index("could not be delivered")
    assert "defer.toujours@exemple.org" in text


def test_permanent_failure_bounces_at_once_and_others_are_delivered(remote_internet, sender):
    queue_message(sender, ["inconnu@exemple.org", "ami@exemple.org"])
    outcome = run_pass(remote_internet.transport(), timezone.now())
    assert (outcome.delivered, outcome.failed) == (1, 1)
    (bounce,) = inbox(sender)
    _, text, status, _ = parse_report(bounce)
    assert "Final-Recipient: rfc822; inconnu@exemple.org" in status.as_string()
    assert "Status: 5.1.1" in status.as_string()
    assert "Diagnostic-Code: smtp; 550 5.1.1 No such user" in status.as_string()
    assert "ami@exemple.org" not in status.as_string()
    assert bounce.count(b"Auto-Submitted: auto-replied") == 1


def test_no_bounce_to_the_null_sender(remote_internet, sender):
    enqueue(build_message(to="inconnu@exemple.org"), mail_from="", recipients=["inconnu@exemple.org"])
    assert run_pass(remote_internet.transport(), timezone.now()).failed == 1
    assert QueueEntry.objects.count() == 0
    assert inbox(sender) == []


@pytest.mark.parametrize(
    ("domain", "expected"),
    [("nulle.example", "556 5.1.10"), ("sans-mx.example", "550 5.1.2"), ("panne-dns.example", "451 4.4.3")],
)
def test_dns_outcomes(remote_internet, sender, domain, expected):
    queue_message(sender, [f"quelquun@{domain}"])
    run_pass(remote_internet.transport(), timezone.now())
    if expected.startswith("4"):
        assert QueueEntry.objects.get().last_reply.startswith(expected)
        assert inbox(sender) == []
    else:
        assert QueueEntry.objects.count() == 0
        assert expected.encode() in inbox(sender)[0]


def test_a_server_that_never_answers_is_a_temporary_failure(remote_internet, sender):
    queue_message(sender, ["personne@lent.example"])
    assert run_pass(remote_internet.transport(timeout=0.5), timezone.now()).deferred == 1
    assert QueueEntry.objects.get().last_reply.startswith("451 4.4.1 No answer from mx.lent.example[127.0.0.3]")


def test_capture_mode_keeps_the_message(sender):
    queue_message(sender, ["ami@exemple.org"], subject="Capturé")
    assert run_pass(CaptureTransport(), timezone.now()).delivered == 1
    captured = CapturedMessage.objects.get()
    assert captured.recipients == ["ami@exemple.org"] and captured.subject == "Capturé"
    assert QueueEntry.objects.count() == 0


def test_platform_mail_is_queued_when_capture_is_off(sender, settings):
    from django.core import mail

    settings.OUTBOUND_CAPTURE = False
    connection_ = mail.get_connection("academail.delivery.mailbackend.PlatformEmailBackend")
    sent = mail.EmailMessage("Alerte", "Corps", "ne-pas-repondre@ac-demo.fr", ["perso@exemple.org"], connection=connection_).send()
    assert sent == 1
    assert list(QueueEntry.objects.values_list("recipient", flat=True)) == ["perso@exemple.org"]
    assert CapturedMessage.objects.count() == 0


def test_queue_command(sender, capsys):
    queue_message(sender, ["ami@exemple.org"], subject="Commande")
    entry = QueueEntry.objects.get()
    QueueEntry.objects.update(next_attempt_at=timezone.now() + timedelta(hours=1))
    assert main(["queue", "list"]) == 0
    out = capsys.readouterr().out
    assert f"<{sender.address}> -> <ami@exemple.org>" in out and "1 destinataire(s)" in out
    assert main(["queue", "show", str(entry.pk)]) == 0
    assert "Subject: Commande" in capsys.readouterr().out
    assert main(["queue", "retry", str(entry.pk)]) == 0
    entry.refresh_from_db()
    assert entry.next_attempt_at <= timezone.now()
    assert main(["queue", "delete", str(entry.pk)]) == 0
    assert QueueEntry.objects.count() == 0 and OutboundMessage.objects.count() == 0
    assert main(["queue", "show", str(entry.pk)]) == 1


def test_dkim_keygen_command(settings, tmp_path, capsys):
    settings.DKIM_KEY_DIR = tmp_path
    assert main(["dkim-keygen", "ac-demo.fr"]) == 0
    out = capsys.readouterr().out
    assert 'academail._domainkey.ac-demo.fr. IN TXT "v=DKIM1; k=rsa; p=' in out
    assert 'ac-demo.fr. IN TXT "v=spf1 mx -all"' in out
    assert '_dmarc.ac-demo.fr. IN TXT "v=DMARC1; p=quarantine' in out
    assert (tmp_path / "ac-demo.fr.academail.key").stat().st_mode & 0o077 == 0


def test_two_workers_never_take_the_same_entry(sender):
    for i in range(30):
        queue_message(sender, [f"ami{i}@exemple.org", f"autre{i}@exemple.org"])
    now = timezone.now()
    taken: list[list[int]] = [[], []]

    def worker(n: int) -> None:
        try:
            while batch := claim_due(now, limit=7):
                taken[n].extend(c.entry_id for c in batch)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken[0]) + len(taken[1]) == 60
    assert set(taken[0]).isdisjoint(taken[1])
    assert claim_due(now + timedelta(minutes=19)) == [], "leased"
    assert len(claim_due(now + timedelta(minutes=21), limit=1000)) == 60, "a dead worker's lease ends"
