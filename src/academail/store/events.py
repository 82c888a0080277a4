"""The event bus: every store change is announced to the sessions watching that
account (IMAP IDLE, the webmail's live updates).

Store functions queue events with ``publish_on_commit`` so that nobody hears of
a change that was rolled back. In one process the bus is in memory; publishing
is thread-safe because the store runs in worker threads while subscribers live
on the event loop. On PostgreSQL the same events also go out with ``NOTIFY``
inside the changing transaction (so they are sent only if it commits), and
``listen_forever`` relays other processes' events into this one: several
``serve`` processes share one database and their IDLE sessions hear each
other's deliveries. Relayed events carry no UIDs (sessions ask the store what
changed since their MODSEQ anyway), which keeps payloads under NOTIFY's limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction

log = logging.getLogger(__name__)

CHANNEL = "academail_events"
# Tells our own notifications from other processes' (a pid can repeat across hosts).
PROCESS_TAG = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
_NOTIFY_PAYLOAD_LIMIT = 7000  # PostgreSQL refuses payloads of 8,000 bytes and more


@dataclass(frozen=True)
class MailEvent:
    account_id: int
    mailbox_id: int
    kind: str  # "exists" | "flags" | "expunge" | "mailbox"
    modseq: int = 0
    uids: tuple[int, ...] = field(default=())
    # For that account's subscribers only (0: everyone watching the mailbox's
    # owner): a change of one person's own \Seen (store.seen).
    only: int = 0


class Subscription:
    def __init__(self, bus: EventBus, account_id: int, loop: asyncio.AbstractEventLoop) -> None:
        self.bus = bus
        self.account_id = account_id
        # Other accounts whose events this subscriber hears too: the owner of
        # a shared mailbox it has selected (a member of a functional mailbox).
        self.watched: set[int] = set()
        self.loop = loop
        self.queue: asyncio.Queue[MailEvent] = asyncio.Queue(maxsize=1000)
        # Set by a waiter that prefers one future to a task on queue.get()
        # (IMAP IDLE: a thousand sessions of one account wake per delivery).
        self.wakeup: asyncio.Future[None] | None = None
        self.dropped = 0  # events lost to a full queue (IMAP NOTIFY reports an overflow)

    async def get(self) -> MailEvent:
        return await self.queue.get()

    def _offer(self, event: MailEvent) -> None:
        # A subscriber that stops reading loses old events rather than growing
        # without bound; it will resynchronise from MODSEQ anyway.
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)
        wakeup = self.wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def watch(self, account_ids: set[int]) -> None:
        """Hear the events of exactly these other accounts as well (replacing
        the previous set)."""
        self.bus.rewatch(self, account_ids - {self.account_id})

    def close(self) -> None:
        self.bus.unsubscribe(self)


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[int, set[Subscription]] = {}

    def subscribe(self, account_id: int) -> Subscription:
        sub = Subscription(self, account_id, asyncio.get_running_loop())
        with self._lock:
            self._subs.setdefault(account_id, set()).add(sub)
        return sub

    def _remove(self, sub: Subscription, account_id: int) -> None:
        subs = self._subs.get(account_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[account_id]

    def rewatch(self, sub: Subscription, account_ids: set[int]) -> None:
        with self._lock:
            for account_id in sub.watched - account_ids:
                self._remove(sub, account_id)
            for account_id in account_ids - sub.watched:
                self._subs.setdefault(account_id, set()).add(sub)
            sub.watched = set(account_ids)

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            for account_id in {sub.account_id, *sub.watched}:
                self._remove(sub, account_id)
            sub.watched = set()

    def publish(self, events: Iterable[MailEvent]) -> None:
        for event in events:
            with self._lock:
                subs = list(self._subs.get(event.account_id, ()))
            for sub in subs:
                if event.only and sub.account_id != event.only:
                    continue
                sub.loop.call_soon_threadsafe(sub._offer, event)


bus = EventBus()


def publish_on_commit(events: list[MailEvent]) -> None:
    """Publish ``events`` once the current transaction commits (at once if none);
    on PostgreSQL also to the other processes (NOTIFY is transactional)."""
    if not events:
        return
    transaction.on_commit(lambda: bus.publish(events))
    if connection.vendor == "postgresql":
        _notify(events)


def _notify(events: list[MailEvent]) -> None:
    rows = [[e.account_id, e.mailbox_id, e.kind, e.modseq, e.only] for e in events]
    batch: list[list[object]] = []
    size = 0
    with connection.cursor() as cursor:
        for row in rows:
            encoded = len(json.dumps(row)) + 1
            if batch and size + encoded > _NOTIFY_PAYLOAD_LIMIT:
                cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, json.dumps({"from": PROCESS_TAG, "events": batch})])
                batch, size = [], 0
            batch.append(row)
            size += encoded
        if batch:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, json.dumps({"from": PROCESS_TAG, "events": batch})])


def relay(payload: str) -> int:
    """Publish on this process's bus the events another process notified.
    Returns how many (0 for our own notifications)."""
    try:
        data = json.loads(payload)
        if data.get("from") == PROCESS_TAG:
            return 0
        events = [
            MailEvent(int(a), int(m), str(k), int(s), only=int(rest[0]) if rest else 0)
            for a, m, k, s, *rest in data["events"]
        ]
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring a malformed event notification")
        return 0
    bus.publish(events)
    return len(events)


def listen_forever(stop: threading.Event) -> None:
    """LISTEN for other processes' events until ``stop`` is set (a thread of
    ``serve``, PostgreSQL only). Reconnects with a growing pause on errors."""
    import psycopg
    from django.db import connections

    settings_dict = connections["default"].settings_dict
    params = {
        "dbname": settings_dict["NAME"], "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None, "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
    }
    pause = 1.0
    while not stop.is_set():
        try:
            with psycopg.connect(autocommit=True, **{k: v for k, v in params.items() if v}) as listener:
                listener.execute(f"LISTEN {CHANNEL}")
                pause = 1.0
                while not stop.is_set():
                    for notice in listener.notifies(timeout=1.0):
                        relay(notice.payload)
        except psycopg.Error:
            log.exception("event listener lost its connection; retrying in %.0f s", pause)
            stop.wait(pause)
            pause = min(pause * 2, 30.0)
        except Exception:
            log.exception("event listener failed")
            time.sleep(1)
