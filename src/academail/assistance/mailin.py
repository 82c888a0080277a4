"""The mail channel: mail to the helpdesk's address (``ASSISTANCE_ADDRESS``)
or one of its ``+tag`` addresses, handed over by the one delivery door
(``delivery.door.do_helpdesk``) inside the commit that answers ``250``.

- A reply threads into its ticket by the ``+<number>-<key>`` tag of the
  address it was sent to, or by ``[Assistance n° <number>-<key>]`` in its
  subject (the key is the ticket's ``mail_key``: a number alone never threads).
- Anything else opens a ticket (channel "mail") acknowledged to the sender.
- Automatic mail is recognised (RFC 3834 §2 ``Auto-Submitted`` other than
  "no"; ``Precedence: bulk/junk/list``; mailing-list fields (RFC 2369/2919);
  the null reverse-path of bounces (RFC 5321 §4.5.5); our own addresses as
  sender, a loop) and never answered: it threads into its ticket when it names
  one, else it is dropped.
- Per-sender rate limit (``ASSISTANCE_MAIL_PER_HOUR`` new tickets an hour):
  beyond it, mail is dropped without an answer (no backscatter). Junk, as the
  académie's spam filter judges it, is kept as an "Indésirable" ticket,
  outside the queue and unanswered.
- Attachments are kept, within the web form's limits.

Nothing here raises for a message's content: a broken message still opens
a ticket with whatever text could be read.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr

from django.conf import settings
from django.utils import timezone

from academail.assistance import tickets
from academail.assistance.models import Category, Channel, Ticket
from academail.assistance.tickets import NewTicket, Upload

log = logging.getLogger(__name__)

_SUBJECT_TAG = re.compile(r"\[Assistance n°\s*(\d+)-([0-9a-f]{6})\]", re.IGNORECASE)
_PLUS_TAG = re.compile(r"^[^+@]+\+(\d+)-([0-9a-f]{6})@", re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Received:
    """What became of one message (for logs and tests)."""

    outcome: str  # "threaded", "opened", "auto_dropped", "rate_limited", "junk"
    ticket_id: int | None = None


def is_helpdesk_address(address: str) -> bool:
    """The helpdesk's address or one of its ``+tag`` forms (case-insensitive)."""
    local, _, domain = address.strip().lower().rpartition("@")
    base_local, _, base_domain = str(settings.ASSISTANCE_ADDRESS).rpartition("@")
    return domain == base_domain and (local == base_local or local.startswith(base_local + "+"))


def is_automatic(message: EmailMessage, mail_from: str) -> bool:
    """RFC 3834 §2 and §5, RFC 2369/2919, RFC 5321 §4.5.5, and loops."""
    auto = str(message.get("Auto-Submitted", "no")).split(";")[0].strip().lower()
    if auto and auto != "no":
        return True
    if str(message.get("Precedence", "")).strip().lower() in ("bulk", "junk", "list"):
        return True
    if message.get("List-Id") or message.get("List-Unsubscribe"):
        return True
    if any(message.get(name) for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress")):
        return True
    if mail_from.strip() in ("", "<>"):
        return True
    sender = parseaddr(str(message.get("From", "")))[1].lower()
    local = sender.partition("@")[0]
    if is_helpdesk_address(sender) or sender == str(settings.DEFAULT_FROM_EMAIL).lower():
        return True
    return local in ("mailer-daemon", "postmaster", "noreply", "no-reply", "ne-pas-repondre")


def _ticket_of(message: EmailMessage, recipients: list[str]) -> Ticket | None:
    found: list[tuple[str, str]] = []
    for address in recipients:
        match = _PLUS_TAG.match(address.strip())
        if match:
            found.append((match.group(1), match.group(2).lower()))
    match = _SUBJECT_TAG.search(str(message.get("Subject", "")))
    if match:
        found.append((match.group(1), match.group(2).lower()))
    for number, key in found:
        ticket = Ticket.objects.filter(pk=int(number), mail_key=key).first()
        if ticket is not None:
            return ticket
    return None


def _text_of(message: EmailMessage) -> str:
    try:
        body = message.get_body(preferencelist=("plain", "html"))
        if body is None:
            return ""
        text = str(body.get_content())
        if body.get_content_type() == "text/html":
            text = _HTML_TAG.sub(" ", text)
        return text.strip()
    except (LookupError, ValueError, AttributeError):  # unknown charset, broken part
        return ""


def _attachments(message: EmailMessage) -> tuple[list[Upload], list[str]]:
    kept: list[Upload] = []
    skipped: list[str] = []
    limit = int(settings.ASSISTANCE_MAX_ATTACHMENT)
    for part in message.iter_attachments():
        name = part.get_filename() or "piece-jointe"
        try:
            data = part.get_payload(decode=True) or b""
        except (ValueError, TypeError):
            data = b""
        if not isinstance(data, bytes) or len(data) > limit or len(kept) >= 5:
            skipped.append(name)
            continue
        kept.append(Upload(name[:200], part.get_content_type(), data))
    return kept, skipped


def _is_junk(raw: bytes, prefix: bytes) -> bool:
    from academail.mime.parse import parse_message
    from academail.protection.spam import screen

    try:
        return screen(parse_message(prefix + raw), prefix).academie_verdict().junk
    except Exception:  # noqa: BLE001 - a filter failure must not lose the mail
        log.exception("spam screening of a helpdesk mail failed; taken as not junk")
        return False


def do_receive(raw: bytes, *, mail_from: str, recipients: list[str], prefix: bytes = b"") -> Received:
    """Thread or open a ticket from one message. Precondition: inside the
    transaction that makes the message durable (the MX answers ``250`` after
    it commits). Sends the acknowledgement of a new ticket (never to
    automatic mail)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    automatic = is_automatic(message, mail_from)
    text = _text_of(message)
    uploads, skipped = _attachments(message)
    if skipped:
        text += "\n\n[Pièces jointes non gardées (trop grandes ou trop nombreuses) : " + ", ".join(skipped) + "]"
    ticket = _ticket_of(message, recipients)
    if ticket is not None:
        note = "[Réponse automatique]\n" if automatic else ""
        try:
            tickets.check_requester_reply(ticket, note + (text or "(message sans texte)"), uploads)
        except tickets.TicketError:
            return Received("auto_dropped" if automatic else "threaded", ticket.pk)
        return Received("threaded", ticket.pk)
    if automatic:
        log.info("automatic mail to the helpdesk dropped (RFC 3834)")
        return Received("auto_dropped")
    sender_name, sender = parseaddr(str(message.get("From", "")))
    sender = sender.strip().lower() or mail_from.strip().lower()
    hour_ago = timezone.now() - timedelta(hours=1)
    if Ticket.objects.filter(channel=Channel.MAIL, contact_email=sender, created_at__gt=hour_ago).count() >= int(
        settings.ASSISTANCE_MAIL_PER_HOUR
    ):
        log.info("helpdesk mail over the per-sender limit dropped")
        return Received("rate_limited")
    junk = _is_junk(raw, prefix)
    opened = tickets.do_open_mail(NewTicket(
        category=str(Category.OTHER), subject=str(message.get("Subject", "")).strip()[:200],
        message=text or "(message sans texte)", name=sender_name or sender, contact_email=sender,
        attachments=uploads,
    ), junk=junk)
    return Received("junk" if junk else "opened", opened.pk)
