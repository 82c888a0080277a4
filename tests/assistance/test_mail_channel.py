"""The mail channel over a real SMTP connection to the MX: a message to
assistance@ opens a ticket (attachments kept) and is acknowledged; a reply
threads in by its +tag address or its subject; automatic mail (RFC 3834)
and loops are never answered; a flood from one sender is cut off."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from django.core import mail

from academail.assistance.models import Attachment, Entry, Ticket, TicketStatus
from tests.smtp.conftest import mx  # noqa: F401 - the real MX fixture

pytestmark = pytest.mark.e2e


def send(server, *, to="assistance@ac-demo.fr", subject="Mon téléphone refuse le mot de passe",
         body="Bonjour,\nmon iPhone refuse mon mot de passe depuis hier.\n", sender="claire.perso@exemple.fr",
         mail_from=None, headers=None, attachment=None) -> None:
    message = EmailMessage(policy=SMTP)
    message["From"] = f"Claire Moreau <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="image", subtype="png", filename="capture.png")
    with smtplib.SMTP(server.host, server.port, timeout=30) as client:
        client.send_message(message, from_addr=sender if mail_from is None else mail_from, to_addrs=[to])


def test_a_mail_opens_a_ticket_and_a_reply_threads_in(mx):  # noqa: F811
    send(mx, attachment=b"\x89PNG capture")
    ticket = Ticket.objects.get()
    assert ticket.channel == "mail" and ticket.status == TicketStatus.NEW and ticket.due_at is not None
    assert ticket.contact_email == "claire.perso@exemple.fr" and ticket.name == "Claire Moreau"
    assert bytes(Attachment.objects.get().data) == b"\x89PNG capture"
    (ack,) = mail.outbox
    assert ack.to == ["claire.perso@exemple.fr"] and f"n° {ticket.pk}-{ticket.mail_key}" in ack.subject
    assert ack.extra_headers["Auto-Submitted"] == "auto-replied"
    tag = ack.reply_to[0]
    # A reply to the +tag address threads in, and is not acknowledged again.
    send(mx, to=tag, subject="Re: " + ack.subject, body="J'ai redémarré, toujours pareil.")
    # A reply by the subject alone (sent to the plain address) threads in too.
    send(mx, subject=f"RE: {ack.subject}", body="Et sur Android aussi.")
    assert Ticket.objects.count() == 1
    bodies = list(Entry.objects.filter(ticket=ticket).order_by("id").values_list("body", flat=True))
    assert "toujours pareil" in bodies[1] and "Android" in bodies[2]
    assert len(mail.outbox) == 1


def test_a_number_without_its_key_never_threads(mx):  # noqa: F811
    send(mx)
    ticket = Ticket.objects.get()
    send(mx, subject=f"Re: [Assistance n° {ticket.pk}-000000] piratage", body="Injecté")
    assert Ticket.objects.count() == 2 and "Injecté" not in ticket.entries.values_list("body", flat=True)


@pytest.mark.parametrize("headers,mail_from", [
    ({"Auto-Submitted": "auto-replied"}, None),
    ({"Precedence": "bulk"}, None),
    ({"List-Id": "<parents.college.example>"}, None),
    ({}, ""),  # a bounce: null reverse-path
])
def test_automatic_mail_is_never_answered(mx, headers, mail_from):  # noqa: F811
    send(mx, headers=headers, mail_from=mail_from)
    assert not Ticket.objects.exists() and not mail.outbox


def test_an_out_of_office_threads_but_is_not_answered(mx):  # noqa: F811
    send(mx)
    ticket = Ticket.objects.get()
    mail.outbox.clear()
    send(mx, to=f"assistance+{ticket.pk}-{ticket.mail_key}@ac-demo.fr", subject="Absence",
         body="Je suis absente jusqu'au 4 janvier.", headers={"Auto-Submitted": "auto-replied"})
    assert ticket.entries.count() == 2 and not mail.outbox


def test_our_own_mail_coming_back_is_a_loop(mx):  # noqa: F811
    send(mx, sender="assistance@ac-demo.fr")
    assert not Ticket.objects.exists() and not mail.outbox


def test_a_flood_from_one_sender_is_cut_off(mx, settings):  # noqa: F811
    settings.ASSISTANCE_MAIL_PER_HOUR = 2
    for n in range(4):
        send(mx, subject=f"Demande {n}")
    assert Ticket.objects.count() == 2 and len(mail.outbox) == 2
    send(mx, sender="autre@exemple.fr")
    assert Ticket.objects.count() == 3


def test_junk_is_kept_out_of_the_queue_and_unanswered(mx):  # noqa: F811
    send(mx, body="XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X")
    ticket = Ticket.objects.get()
    assert ticket.status == TicketStatus.JUNK and ticket.due_at is None and not mail.outbox
