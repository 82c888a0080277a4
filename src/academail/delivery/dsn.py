"""Delivery status notifications (RFC 3464): the bounce a sender gets when a
recipient failed for good or the queue gave up, and the "delayed" notice after a
few hours. A ``multipart/report`` (RFC 6522) with a French then English text,
the machine-readable ``message/delivery-status``, and the original header
(``text/rfc822-headers``, not the whole message: a bounce must not re-send a
25 MB attachment).

DSNs are sent with a null envelope sender (RFC 5321 §4.5.5), so they never
bounce themselves; the caller never sends one to a null sender.
"""

from __future__ import annotations

import quopri
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.utils import timezone

from academail.mime.parse import parse_message


@dataclass(frozen=True)
class RecipientStatus:
    recipient: str
    reply: str  # "550 5.1.1 ..." as the remote server (or the queue) said it
    remote_mta: str = ""


def _status_of(reply: str) -> str:
    parts = reply.split()
    if len(parts) >= 2 and parts[1].count(".") == 2 and parts[1][0] in "245":
        return parts[1]
    code = parts[0] if parts else "500"
    return f"{code[:1]}.0.0" if code[:1] in "45" else "5.0.0"


def _header_section(raw: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end >= 0:
            return raw[: end + len(separator) // 2]
    return raw[:65536]


def build_dsn(
    original: bytes,
    *,
    sender: str,
    statuses: Sequence[RecipientStatus],
    delayed: bool = False,
    arrival: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> bytes:
    """The DSN for ``statuses`` of ``original`` addressed to ``sender`` (not null)."""
    assert sender, "RFC 5321 §4.5.5: never a DSN to the null sender"
    now = now or timezone.now()
    domain = settings.MAIL_DOMAINS[0]
    host = settings.MAIL_HOSTNAME
    subject = parse_message(original).subject or "(sans objet)"
    if delayed:
        title = f"Distribution retardée / Delivery delayed: {subject}"
        fr = (
            "Votre message n'a pas encore pu être remis aux destinataires ci-dessous. "
            "Le serveur réessaie automatiquement"
            + (f" jusqu'au {timezone.localtime(until):%d/%m/%Y à %H:%M}" if until else "")
            + " ; vous n'avez rien à faire pour l'instant."
        )
        en = (
            "Your message could not be delivered yet to the recipients below. "
            "The server keeps trying"
            + (f" until {format_datetime(until)}" if until else "")
            + "; you need not do anything yet."
        )
        action = "delayed"
    else:
        title = f"Message non distribué / Undelivered mail: {subject}"
        fr = (
            "Votre message n'a pas pu être remis aux destinataires ci-dessous. "
            "Vérifiez l'adresse ou contactez le destinataire par un autre moyen."
        )
        en = (
            "Your message could not be delivered to the recipients below. "
            "Check the address or reach the recipient another way."
        )
        action = "failed"
    lines = [f"  <{s.recipient}> : {s.reply}" for s in statuses]
    text = (
        f"{fr}\n\n" + "\n".join(lines) + "\n\n-- \n\n" + f"{en}\n\n" + "\n".join(lines)
        + f"\n\n-- \nLe service de messagerie de {host} / The mail system at {host}\n"
    )
    boundary = f"=_academail_{secrets.token_hex(12)}"
    per_message = [f"Reporting-MTA: dns; {host}"]
    if arrival is not None:
        per_message.append(f"Arrival-Date: {format_datetime(arrival)}")
    per_recipient: list[str] = []
    for status in statuses:
        block = [
            f"Final-Recipient: rfc822; {status.recipient}",
            f"Action: {action}",
            f"Status: {_status_of(status.reply)}",
        ]
        if status.remote_mta:
            block.append(f"Remote-MTA: dns; {status.remote_mta}")
        block.append(f"Diagnostic-Code: smtp; {' '.join(status.reply.split())}")
        block.append(f"Last-Attempt-Date: {format_datetime(now)}")
        if delayed and until is not None:
            block.append(f"Will-Retry-Until: {format_datetime(until)}")
        per_recipient.append("\r\n".join(block))
    delivery_status = "\r\n".join(per_message) + "\r\n\r\n" + "\r\n\r\n".join(per_recipient) + "\r\n"
    body_qp = quopri.encodestring(text.replace("\n", "\r\n").encode("utf-8")).replace(b"\r\n", b"\n")
    body_qp = body_qp.replace(b"\n", b"\r\n")
    head = (
        f"From: =?utf-8?q?Service_de_messagerie?= <MAILER-DAEMON@{domain}>\r\n"
        f"To: <{sender}>\r\n"
        f"Subject: {Header(title, 'utf-8').encode(maxlinelen=76, linesep=chr(13) + chr(10) + ' ')}\r\n"
        f"Date: {format_datetime(timezone.localtime(now))}\r\n"
        f"Message-ID: {make_msgid(domain=host)}\r\n"
        "Auto-Submitted: auto-replied\r\n"  # RFC 3834 §5: no vacation reply to a bounce
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        "Ceci est un message au format MIME / This is a MIME-formatted message.\r\n"
    )
    parts = [
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        + body_qp,
        b"Content-Type: message/delivery-status\r\n\r\n" + delivery_status.encode("ascii", "replace"),
        b"Content-Type: text/rfc822-headers\r\n\r\n" + _header_section(original),
    ]
    out = head.encode()
    for part in parts:
        out += f"\r\n--{boundary}\r\n".encode() + part
    out += f"\r\n--{boundary}--\r\n".encode()
    return out
