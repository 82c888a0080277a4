"""APPEND (RFC 3501 §6.3.11, APPENDUID of RFC 4315, TOOBIG of RFC 7889) and
MULTIAPPEND (RFC 3502): several messages, all stored or none."""

from __future__ import annotations

from django.conf import settings

from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.session import Session, parse_flags
from academail.store import imap as store
from academail.store.errors import (
    MailboxNotFound,
    QuotaExceeded,
)


async def do_append(session: Session, command: C.Append) -> None:
    parts = [C.AppendMessage(command.flags, command.date, command.message), *command.more]
    messages = []
    for part in parts:
        if len(part.message) > settings.MAX_MESSAGE_SIZE:
            await session.no(command, "Message too big / message trop volumineux", R.CODE_TOOBIG)  # RFC 7889
            return
        if not part.message:
            await session.no(command, "Empty message", R.CODE_CANNOT)
            return
        try:
            bits, keywords = parse_flags(part.flags)
        except ValueError as exc:
            await session.bad(command, str(exc))
            return
        messages.append((part.message, bits, " ".join(keywords), part.date))
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
