"""APPEND (RFC 3501 §6.3.11, APPENDUID of RFC 4315, TOOBIG of RFC 7889),
MULTIAPPEND (RFC 3502): several messages, all stored or none, and CATENATE
(RFC 4469): a message made of literals and parts of messages already here."""

from __future__ import annotations

import re
from urllib.parse import unquote

from django.conf import settings

from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.parsing.errors import ParseError
from academail.imap.parsing.fetch import parse_section
from academail.imap.parsing.lexer import Lexer
from academail.imap.render import MessageBytes, section_bytes
from academail.imap.session import Session, parse_flags
from academail.mime.parse import Part
from academail.store import imap as store
from academail.store.errors import (
    MailboxNotFound,
    NoPermission,
    QuotaExceeded,
)

# RFC 4469 §5 / RFC 5092 §6: only a relative URL to this account's view of
# the server ("/mailbox;UIDVALIDITY=n/;UID=n/;SECTION=x"); an absolute
# "imap://" URL, another server or another user's login, is BADURL.
_URL = re.compile(
    r"^/(?P<mailbox>[^;?#]+?)(?:;UIDVALIDITY=(?P<uidvalidity>\d+))?/;UID=(?P<uid>\d+)"
    r"(?:/;SECTION=(?P<section>[0-9A-Za-z.]+))?$",
    re.IGNORECASE,
)


class BadUrl(ValueError):
    pass


def url_bytes(account_id: int, url: str) -> bytes:
    """The bytes a CATENATE URL names, read as FETCH BODY.PEEK would (the
    account needs "r" on the mailbox); BadUrl when it names nothing readable."""
    match = _URL.match(url)
    if match is None:
        raise BadUrl(url)
    try:
        info = store.mailbox_info(account_id, unquote(match["mailbox"]), need="r")
    except (MailboxNotFound, NoPermission):
        raise BadUrl(url) from None
    if match["uidvalidity"] and int(match["uidvalidity"]) != info.uidvalidity:
        raise BadUrl(url)
    rows = store.fetch_rows(info.id, [int(match["uid"])], structure=True)
    if not rows:
        raise BadUrl(url)
    try:
        section = parse_section(Lexer(b"[" + (match["section"] or "").upper().encode() + b"]"))
    except ParseError:
        raise BadUrl(url) from None
    (row,) = rows
    root = Part.from_dict(row.root) if row.root else None
    if root is None and (section.part or section.text):
        raise BadUrl(url)
    data = section_bytes(MessageBytes(row, store.read_blob), root, section)
    if data is None:
        raise BadUrl(url)
    return data


class TooBig(ValueError):
    pass


def catenated(account_id: int, parts: tuple[tuple[str, bytes], ...]) -> bytes:
    """RFC 4469 §5: the parts in order, TEXT as given, URL as the bytes it names.
    Stops with TooBig as soon as the message passes APPENDLIMIT, so many URLs
    to large messages never add up in memory."""
    out: list[bytes] = []
    total = 0
    for kind, value in parts:
        data = value if kind == "TEXT" else url_bytes(account_id, value.decode("utf-8", "replace"))
        total += len(data)
        if total > settings.MAX_MESSAGE_SIZE:
            raise TooBig
        out.append(data)
    return b"".join(out)


async def do_append(session: Session, command: C.Append) -> None:
    parts = [C.AppendMessage(command.flags, command.date, command.message, command.catenate), *command.more]
    messages = []
    for part in parts:
        raw = part.message
        if part.catenate:
            try:
                raw = await session.run(catenated, session.account, part.catenate)
            except BadUrl as exc:
                await session.no(command, "Bad URL", f"BADURL {str(exc)[:200]}")  # RFC 4469 §6
                return
            except TooBig:
                await session.no(command, "Message too big / message trop volumineux", R.CODE_TOOBIG)
                return
        if len(raw) > settings.MAX_MESSAGE_SIZE:
            await session.no(command, "Message too big / message trop volumineux", R.CODE_TOOBIG)  # RFC 7889
            return
        if not raw:
            await session.no(command, "Empty message", R.CODE_CANNOT)
            return
        try:
            bits, keywords = parse_flags(part.flags)
        except ValueError as exc:
            await session.bad(command, str(exc))
            return
        messages.append((raw, bits, " ".join(keywords), part.date))
    try:
        # RFC 3502 §6.3.11: "If the server is unable to append all of the
        # messages, then none of them are appended": one transaction.
        uidvalidity, uids = await session.run(store.append_messages, session.account, command.mailbox, messages)
    except MailboxNotFound as exc:
        await session.no(command, exc.message, R.CODE_TRYCREATE)  # RFC 3501 §6.3.11
        return
    except QuotaExceeded as exc:
        await session.no(command, exc.message, R.CODE_OVERQUOTA)  # RFC 9208 §4.4
        return
    await session.announce(expunge_ok=True)
    await session.ok(command, f"APPENDUID {uidvalidity} {R.number_set(uids)}")  # RFC 4315 §3: a uid-set
