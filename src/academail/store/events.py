"""The event bus: every store change is announced to the sessions watching that
account (IMAP IDLE, the webmail's live updates).

Store functions queue events with ``publish_on_commit`` so that nobody hears of
a change that was rolled back. In one process the bus is in memory; publishing
is thread-safe because the store runs in worker threads while subscribers live
on the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction


@dataclass(frozen=True)
class MailEvent:
    account_id: int
    mailbox_id: int
    kind: str  # "exists" | "flags" | "expunge" | "mailbox"
    modseq: int = 0
    uids: tuple[int, ...] = field(default=())


class Subscription:
    def __init__(self, bus: EventBus, account_id: int, loop: asyncio.AbstractEventLoop) -> None:
        self.bus = bus
        self.account_id = account_id
        self.loop = loop
        self.queue: asyncio.Queue[MailEvent] = asyncio.Queue(maxsize=1000)

    async def get(self) -> MailEvent:
        return await self.queue.get()

    def _offer(self, event: MailEvent) -> None:
        # A subscriber that stops reading loses old events rather than growing
        # without bound; it will resynchronise from MODSEQ anyway.
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(event)

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

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.account_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.account_id]

    def publish(self, events: Iterable[MailEvent]) -> None:
        for event in events:
            with self._lock:
                subs = list(self._subs.get(event.account_id, ()))
            for sub in subs:
                sub.loop.call_soon_threadsafe(sub._offer, event)


bus = EventBus()


def publish_on_commit(events: list[MailEvent]) -> None:
    """Publish ``events`` once the current transaction commits (at once if none)."""
    if events:
        transaction.on_commit(lambda: bus.publish(events))
