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
    loop = asyncio.get_running_loop()
    reader = asyncio.ensure_future(session.conn.next_line())
    try:
        while True:
            # One future per wait, resolved by a new event or by the
            # client's line: no task per event and no asyncio.wait, which
            # mattered when a delivery wakes a thousand sessions at once.
            if subscription.queue.empty() and not reader.done():
                wake: asyncio.Future[None] = loop.create_future()

                def wake_up(_: object, wake: asyncio.Future[None] = wake) -> None:
                    if not wake.done():
                        wake.set_result(None)

                subscription.wakeup = wake
                reader.add_done_callback(wake_up)
                try:
                    await wake
                finally:
                    subscription.wakeup = None
                    reader.remove_done_callback(wake_up)
            if not subscription.queue.empty():
                while not subscription.queue.empty():
                    event = subscription.queue.get_nowait()
                    if session.view is not None and event.mailbox_id == session.view.mailbox_id:
                        session.poke(event)
                await session.announce(expunge_ok=True)
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
