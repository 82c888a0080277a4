"""Live updates of the webmail: new mail shows up in the open folder and in the
folder pane's counters without reloading, and the INBOX's unread count is in
the tab title.

The endpoints are in ``webmail.views.live``. ``state`` is a cheap JSON snapshot of the account's folders
(counters, UIDNEXT, HIGHESTMODSEQ: one indexed query on ``store_mailbox`` by
account). ``events`` is a server-sent event stream fed by the store's event bus
(``store.events``; on PostgreSQL other processes' changes arrive through
LISTEN/NOTIFY): it only says "this folder changed at this MODSEQ", and the page
asks ``state`` (and the folder page) for what changed. The stream is an async
generator waiting on an asyncio queue: while idle it holds no thread and no
database connection (the one used to authenticate is closed before streaming).
It sends a heartbeat comment every ``WEBMAIL_LIVE_HEARTBEAT`` seconds (so
proxies keep it open and a dead client is noticed) and ends after
``WEBMAIL_LIVE_MAX_SECONDS``; the browser's EventSource reconnects by itself,
which also spreads reconnections and re-checks the session. Without
EventSource, or when the stream fails, the page polls ``state``.

A page showing someone else's mailbox (a functional mailbox, a delegation:
``owner``) also gets that owner's folders the person may see, and their
events: only those of the folders they may see (a folder share says nothing
of the owner's other folders), and not another member's own \\Seen
(``MailEvent.only``, per-person \\Seen).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from django.conf import settings

from academail.store.events import MailEvent, bus
from academail.store.webmail import mailbox_counters, shared_counters

# How long the browser waits before reconnecting after the stream ends (ms).
RECONNECT_MS = 3000


def _heartbeat() -> float:
    return float(getattr(settings, "WEBMAIL_LIVE_HEARTBEAT", 25))


def _max_seconds() -> float:
    return float(getattr(settings, "WEBMAIL_LIVE_MAX_SECONDS", 600))


def access_live_state(account_id: int, owner_id: int | None = None) -> dict[str, Any] | None:
    """The account's folders as the page needs them to refresh itself (one
    indexed query, ``store.webmail.mailbox_counters``), and with ``owner_id``
    that owner's folders the account may see (``store.acl``); None when it
    may see none of them (the view answers 404, as for any unknown id)."""
    rows = mailbox_counters(account_id)
    inbox = next((r for r in rows if r.inbox), None)
    if owner_id is not None and owner_id != account_id:
        theirs = shared_counters(account_id, owner_id)
        if not theirs:
            return None
        rows += theirs
    return {
        "inbox": inbox.mailbox_id if inbox else None,
        "inbox_unseen": inbox.unseen if inbox else 0,
        "mailboxes": [
            {"id": r.mailbox_id, "messages": r.messages, "unseen": r.unseen, "uidnext": r.uidnext, "modseq": r.modseq}
            for r in rows
        ],
    }


def frame(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def visible_folders(account_id: int, owner_id: int) -> frozenset[int]:
    """The ids of ``owner_id``'s folders ``account_id`` may see now (empty:
    none, or the account's own). Precondition: none (one or two queries)."""
    return frozenset(row.mailbox_id for row in shared_counters(account_id, owner_id))


async def stream(account_id: int, owner_id: int | None = None, folders: frozenset[int] = frozenset()) -> AsyncIterator[bytes]:
    """The server-sent events of ``account_id``'s changes, and of
    ``owner_id``'s ``folders`` (``visible_folders``, read by the view before
    streaming), until ``WEBMAIL_LIVE_MAX_SECONDS`` (a heartbeat comment while
    idle). Rights are not read again during the stream: it ends within
    ``WEBMAIL_LIVE_MAX_SECONDS`` and the reconnection reads them afresh, and
    an event carries only a folder id and a MODSEQ, the page asking ``state``
    (which checks the rights) for the rest."""
    # Subscribe here, not in the view: the generator runs on the server's event
    # loop, the one the bus must wake up.
    subscription = bus.subscribe(account_id)
    if owner_id is not None and folders:
        subscription.watch({owner_id})
    try:
        yield f"retry: {RECONNECT_MS}\n".encode() + frame("hello", {})
        deadline = time.monotonic() + _max_seconds()
        heartbeat = _heartbeat()
        while (left := deadline - time.monotonic()) > 0:
            try:
                event: MailEvent = await asyncio.wait_for(subscription.get(), timeout=min(heartbeat, left))
            except TimeoutError:
                yield b": ping\n\n"
                continue
            if event.account_id != account_id and event.mailbox_id not in folders:
                continue
            yield frame("change", {"mailbox": event.mailbox_id, "kind": event.kind, "modseq": event.modseq})
        yield frame("bye", {})
    finally:
        subscription.close()
