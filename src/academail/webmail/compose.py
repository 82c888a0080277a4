"""Writing: the raw bytes of a message written in the webmail (explicit
``email.policy.SMTP``), and what a reply, reply-all or forward starts from
(recipients, "Re:"/"TR:" subject, In-Reply-To and References, quoted text).

Pure functions: the From header is always the account's own address, given by
the caller; nothing here reads a request or the database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from email.utils import format_datetime, getaddresses, make_msgid

from django.utils import timezone
from django.utils.formats import date_format

from academail.mime.parse import ParsedMessage

_PREFIX = re.compile(r"^\s*(re|tr|fwd?)\s*:", re.IGNORECASE)
# "pièce jointe", "pieces jointes", "ci-joint", "ci-jointe(s)", "en PJ".
_MENTIONS_ATTACHMENT = re.compile(
    r"pi[eè]ces?[\s-]+jointes?|ci[\s-]+joint|\bPJ\b|attached|attachment", re.IGNORECASE
)


def parse_addresses(text: str) -> list[str]:
    """Addresses typed in a To/Cc/Bcc field ("a@x, Nom <b@y>; c@z")."""
    text = text.replace(";", ",").replace("\n", ",").replace("\r", ",")
    return [addr.strip() for _, addr in getaddresses([text]) if addr.strip()]


def mentions_attachment(text: str) -> bool:
    return bool(_MENTIONS_ATTACHMENT.search(text))


def prefixed(subject: str, prefix: str) -> str:
    """"Re: x" for a reply (not "Re: Re: x"), "TR: x" for a forward."""
    if prefix == "Re:" and re.match(r"^\s*re\s*:", subject, re.IGNORECASE):
        return subject
    if prefix == "TR:" and re.match(r"^\s*(tr|fwd?)\s*:", subject, re.IGNORECASE):
        return subject
    return f"{prefix} {subject}".strip()


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Draft:
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    in_reply_to: str = ""  # message ids with their brackets, as the parser gives them
    references: list[str] = field(default_factory=list)
    attachments: list[Upload] = field(default_factory=list)
    # Rich text: HTML already cleaned by webmail.richtext (``body`` is then its
    # text/plain alternative); empty for a plain-text message.
    html: str = ""


def _clean_header(value: str) -> str:
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def build_message(
    draft: Draft, *, sender_name: str, sender_address: str, agent: tuple[str, str] | None = None,
    now: datetime | None = None,
) -> bytes:
    """The message as it is sent (and stored in Envoyés): From is the account,
    or the mailbox it writes for. ``agent`` (name, address): the person sending
    on that mailbox's behalf, in Sender (RFC 5322 §3.6.2)."""
    message = EmailMessage(policy=SMTP)
    local, _, domain = sender_address.partition("@")
    message["From"] = HeaderAddress(display_name=_clean_header(sender_name), username=local, domain=domain)
    if agent is not None:
        agent_local, _, agent_domain = agent[1].partition("@")
        message["Sender"] = HeaderAddress(display_name=_clean_header(agent[0]), username=agent_local, domain=agent_domain)
    if draft.to:
        message["To"] = ", ".join(draft.to)
    if draft.cc:
        message["Cc"] = ", ".join(draft.cc)
    if draft.bcc:
        message["Bcc"] = ", ".join(draft.bcc)
    message["Subject"] = _clean_header(draft.subject)
    message["Date"] = format_datetime(timezone.localtime(now or timezone.now()))
    message["Message-ID"] = make_msgid(domain=domain or None)
    if draft.in_reply_to:
        message["In-Reply-To"] = _clean_header(draft.in_reply_to)
    if draft.references:
        message["References"] = " ".join(_clean_header(r) for r in draft.references[-20:])
    message["MIME-Version"] = "1.0"
    message["User-Agent"] = "academail webmail"
    message.set_content(draft.body.replace("\r\n", "\n"), charset="utf-8")
    if draft.html:
        # multipart/alternative: text/plain first, the preferred HTML last (RFC 2046 §5.1.4).
        message.add_alternative(
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>{draft.html}</body></html>\n',
            subtype="html",
            charset="utf-8",
        )
    for upload in draft.attachments:
        if upload.content_type == "message/rfc822":
            # A forwarded message travels as it is (7bit/8bit, never base64: RFC 2046 §5.2.1).
            inner = BytesParser(policy=SMTP).parsebytes(upload.data)
            message.add_attachment(inner, filename=upload.filename)
            continue
        maintype, _, subtype = (upload.content_type or "application/octet-stream").partition("/")
        if not subtype or "\n" in upload.content_type:
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(upload.data, maintype=maintype, subtype=subtype, filename=upload.filename)
    return message.as_bytes()


def attached_message_name(subject: str) -> str:
    """The file name of a message forwarded as an attachment: its subject, ".eml"."""
    stem = _clean_header(subject)[:80].strip(" .") or "message"
    return stem.replace("/", "-").replace("\\", "-") + ".eml"


def _people(addresses: Sequence[object]) -> list[str]:
    result: list[str] = []
    for address in addresses:
        addr = getattr(address, "addr", "")
        if addr and getattr(address, "group", None) is None:
            result.append(addr)
    return result


def start_reply(
    original: ParsedMessage, quoted_text: str, *, mode: str, own_addresses: frozenset[str]
) -> Draft:
    """The draft a reply ("reply"), reply-all ("all") or inline forward
    ("forward") starts from (RFC 5322 §3.6.4 for the identification fields)."""
    draft = Draft()
    when = date_format(timezone.localtime(original.date), "DATETIME_FORMAT") if original.date else ""
    sender = original.from_[0] if original.from_ else None
    who = f"{sender.name} <{sender.addr}>" if sender and sender.name else (sender.addr if sender else "")
    if mode == "forward":
        draft.subject = prefixed(original.subject, "TR:")
        header = [
            "-------- Message transféré --------",
            f"Objet : {original.subject}",
            f"Date : {when}",
            f"De : {who}",
            f"À : {', '.join(_people(original.to))}",
        ]
        if original.cc:
            header.append(f"Cc : {', '.join(_people(original.cc))}")
        draft.body = "\n\n" + "\n".join(header) + "\n\n" + quoted_text
        return draft
    draft.subject = prefixed(original.subject, "Re:")
    reply_to = _people(original.reply_to) or _people(original.from_)
    draft.to = reply_to
    if mode == "all":
        seen = {a.lower() for a in reply_to} | set(own_addresses)
        for addr in _people(original.to) + _people(original.cc):
            if addr.lower() not in seen:
                draft.cc.append(addr)
                seen.add(addr.lower())
    if original.message_id:
        draft.in_reply_to = original.message_id
        references = list(original.references) or ([original.in_reply_to] if original.in_reply_to else [])
        draft.references = [*references, original.message_id]
    quoted = "\n".join(f"> {line}" if line else ">" for line in quoted_text.splitlines())
    draft.body = f"\n\nLe {when}, {who} a écrit :\n{quoted}\n"
    return draft
