"""The protection's per-delivery writes, gathered for one group commit.

Each message from outside adds one to its sender domain's history
(``domains.do_count``) and stores its phishing warnings (``warnings.do_remember``).
Written one statement each inside the delivery, the domain's row stayed
locked on PostgreSQL from that delivery until its writer committed, the
rest of its batch included: two MX processes took turns on it (every lock
wait of bench/deliver.py --servers 2, bench/README.md). Inside ``gathering``
those two functions only note what they would write; the delivery batcher
(``delivery.batcher``) keeps the notes of every delivery whose savepoint
held, and writes them all with ``spam.do_write_gathered`` as the last
statements before its commit: one upsert for every domain of the batch
(sorted, so two writers lock rows in one order), one insert for every
warnings row. Durable with the deliveries (same transaction), nothing
counted for a delivery that rolled back, and the domain rows stay locked
only for the commit itself.

This module holds data only (no SQL): the owners write their own rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class Gathered:
    """What some deliveries would have written."""

    # domain -> [messages, verified, failed]
    domains: dict[str, list[int]] = field(default_factory=dict)
    # warnings key -> (level, JSON data)
    warnings: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add_domain(self, domain: str, verified: int, failed: int) -> None:
        counts = self.domains.setdefault(domain, [0, 0, 0])
        counts[0] += 1
        counts[1] += verified
        counts[2] += failed

    def add(self, other: Gathered) -> None:
        """Take ``other``'s notes too (a delivery whose savepoint held)."""
        for domain, (messages, verified, failed) in other.domains.items():
            counts = self.domains.setdefault(domain, [0, 0, 0])
            counts[0] += messages
            counts[1] += verified
            counts[2] += failed
        for key, row in other.warnings.items():
            self.warnings.setdefault(key, row)

    def __bool__(self) -> bool:
        return bool(self.domains or self.warnings)


_current: ContextVar[Gathered | None] = ContextVar("academail_protection_gathered", default=None)


def current() -> Gathered | None:
    """Where the writes of this delivery go, or None: write them now."""
    return _current.get()


@contextmanager
def gathering(into: Gathered) -> Iterator[Gathered]:
    """Inside: ``domains.do_count`` and ``warnings.do_remember`` note into
    ``into`` instead of writing. The caller writes it
    (``spam.do_write_gathered``) in the same transaction, before its commit,
    and only if the work inside held (no rollback)."""
    token = _current.set(into)
    try:
        yield into
    finally:
        _current.reset(token)
