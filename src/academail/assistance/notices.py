"""The mails the helpdesk sends to requesters: confirmation of a signed-out
ticket, acknowledgement (number and follow-up link), each answer (with its
attachments) and the closing notice with the satisfaction rating.

French, plain text, from ``ASSISTANCE_ADDRESS``. The subject carries the
ticket's number and mail key (``[Assistance n° 12-k3x9f2]``) and Reply-To its
``+tag`` address, so a reply threads into the ticket (``assistance.mailin``).
Automatic ones say so (``Auto-Submitted``, RFC 3834 §5), so well-behaved
auto-responders never answer them.

Sent through ``django.core.mail``, whose platform backend hands them to
``delivery.route.do_send_platform_mail`` (the one way out for the platform's own mail). A mail
that cannot leave is logged, never raised: the ticket is recorded anyway.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

if TYPE_CHECKING:
    from academail.assistance.models import Entry, Ticket

log = logging.getLogger(__name__)
RATING_SALT = "academail.assistance.rating"


def helpdesk_address() -> str:
    return str(settings.ASSISTANCE_ADDRESS)


def tag_address(ticket: Ticket) -> str:
    local, _, domain = helpdesk_address().partition("@")
    return f"{local}+{ticket.pk}-{ticket.mail_key}@{domain}"


def subject_tag(ticket: Ticket) -> str:
    return f"[Assistance n° {ticket.pk}-{ticket.mail_key}]"


def url(path: str) -> str:
    return str(settings.PUBLIC_URL).rstrip("/") + path


def follow_url(ticket: Ticket, link: str) -> str:
    """Where the requester follows the ticket: the secret link, or "Mes
    demandes" for someone who filed it signed in."""
    if link:
        return url(reverse("assistance:follow", args=[link]))
    return url(reverse("assistance:mine_detail", args=[ticket.pk]))


def rating_url(ticket: Ticket) -> str:
    token = signing.dumps({"t": ticket.pk}, salt=RATING_SALT, compress=True)
    return url(reverse("assistance:rate", args=[token]))


def _send(ticket: Ticket, template: str, subject: str, context: dict[str, object], *,
          automatic: bool, entry: Entry | None = None) -> bool:
    if not ticket.contact_email:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string(f"assistance/email/{template}.txt", {"ticket": ticket, **context})
    message = EmailMessage(
        subject=f"{subject_tag(ticket)} {subject}", body=body, from_email=helpdesk_address(),
        to=[ticket.contact_email], reply_to=[tag_address(ticket)],
    )
    if automatic:
        message.extra_headers["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5
    if entry is not None:
        for attachment in entry.attachments.all():
            message.attach(attachment.filename, bytes(attachment.data), attachment.content_type)
    try:
        message.send()
    except Exception:  # noqa: BLE001 - the ticket is recorded whatever the backend raises
        log.exception("could not send the helpdesk's %s mail for ticket %s", template, ticket.pk)
        return False
    return True


def send_confirmation(ticket: Ticket, raw: str) -> bool:
    return _send(ticket, "confirm", "Confirmez votre demande d'assistance",
                 {"url": url(reverse("assistance:confirm", args=[raw]))}, automatic=True)


def send_acknowledgement(ticket: Ticket, link: str) -> bool:
    return _send(ticket, "acknowledgement", f"Demande enregistrée : {ticket.subject}",
                 {"url": follow_url(ticket, link)}, automatic=True)


def send_answer(ticket: Ticket, entry: Entry, link: str) -> bool:
    closed = ticket.status == "closed"
    return _send(ticket, "answer", f"Réponse de l'assistance : {ticket.subject}",
                 {"entry": entry, "url": follow_url(ticket, link), "closed": closed,
                  "rating_url": rating_url(ticket) if closed else ""},
                 automatic=False, entry=entry)


def send_closed(ticket: Ticket, link: str) -> bool:
    return _send(ticket, "closed", f"Demande résolue : {ticket.subject}",
                 {"url": follow_url(ticket, link), "rating_url": rating_url(ticket)}, automatic=True)
