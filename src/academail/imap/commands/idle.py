"""IDLE (RFC 2177): changes announced as they happen, until DONE."""

from __future__ import annotations

import asyncio
import contextlib

from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.session import Session
from academail.imap.state import State


async def do_idle(session: Session, command: C.Idle) -> None:
    """RFC 2177: report changes as they happen until the client sends DONE."""
    await session.conn.write(f"+ {R.OK_IDLE}\r\n".encode())
    await session.announce(expunge_ok=True)
    await session.conn.flush()
    subscription = session.subscription
    assert subscription is not None
    reader = asyncio.ensure_future(session.conn.next_line())
    try:
        while True:
            await session.wait_event_or(reader)
            if not subscription.queue.empty():
                await session.announce(expunge_ok=True)  # drains the queue (and NOTIFY's events)
                await session.conn.flush()
                if session.state is State.LOGOUT:
                    return
            if reader.done():
                line = reader.result().rstrip(b"\r\n")
                if line.upper() == b"DONE":
                    await session.ok(command)
                else:
                    await session.bad(command, "Expected DONE")
                return
    finally:
        for task in (reader,):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
