"""NOTIFY (RFC 5465): NOTIFY SET and NOTIFY NONE; the notifying itself is
``imap.notify``."""

from __future__ import annotations

from academail.imap import notify
from academail.imap.parsing import commands as C
from academail.imap.session import Session


async def do_notify(session: Session, command: C.Notify) -> None:
    if command.filters is None:
        session.notify = None  # RFC 5465 §3.2: NOTIFY NONE
        await session.ok(command)
        return
    try:
        notify.check(command.filters)
    except notify.NotifyError as exc:
        # §3.1: a refused NOTIFY SET leaves the previous one in force.
        if exc.status == "BAD":
            await session.bad(command, exc.text, exc.code)
        else:
            await session.no(command, exc.text, exc.code)
        return
    await session.announce(expunge_ok=False)  # what the previous setting had pending goes first
    await notify.start(session, command)
    await session.ok(command)
