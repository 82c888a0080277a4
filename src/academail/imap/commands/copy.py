"""COPY and MOVE (RFC 6851), with COPYUID (RFC 4315)."""

from __future__ import annotations

from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.session import Session, to_ranges
from academail.imap.view import InvalidSequence
from academail.store import imap as store
from academail.store.errors import (
    MailboxNotFound,
    QuotaExceeded,
)


async def do_copy(session: Session, command: C.Copy) -> None:
    view = session.selected
    if command.move and view.readonly:
        await session.no(command, R.NO_READ_ONLY, R.CODE_READ_ONLY)
        return
    try:
        uids = session.uids(command.set, command.uid)
    except InvalidSequence as exc:
        await session.bad(command, f"Invalid sequence set: {exc}")
        return
    if not uids:
        await session.ok(command)
        return
    try:
        uidvalidity, mapping = await session.run(
            store.copy_messages, session.account, view.mailbox_id, to_ranges(uids), command.mailbox, move=command.move
        )
    except MailboxNotFound as exc:
        await session.no(command, exc.message, R.CODE_TRYCREATE)
        return
    except QuotaExceeded as exc:
        await session.no(command, exc.message, R.CODE_OVERQUOTA)
        return
    code = None
    if mapping:
        code = f"COPYUID {uidvalidity} {R.number_set(s for s, _ in mapping)} {R.number_set(d for _, d in mapping)}"
    if command.move:
        # RFC 6851 §4.3: COPYUID in an untagged OK, then the expunges.
        if code:
            await session.untagged(f"OK [{code}] Moved")
        await session.send_expunged([s for s, _ in mapping])
        await session.announce(expunge_ok=True)
        await session.ok(command)
        return
    await session.announce(expunge_ok=command.uid)
    await session.ok(command, code)
