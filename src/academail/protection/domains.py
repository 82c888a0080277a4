"""Sender domains' history with the académie: the first message from a
domain gets a "Premier message de ce domaine" line beside the outside
banner and a few spam points; a domain that has written for a week with
authenticated mail and no failure gets a few points off; one whose mail
mostly fails authentication gets points on.

Read before the message is stored (``history``, one indexed query) and
counted in the delivery transaction (``do_count``), so a message refused or
lost is not counted twice and nothing adds a commit per message. Through the
MX's group commit the counts of the whole batch are one upsert just before
the commit (``protection.gathered``), which keeps a busy domain's row locked
only for the commit itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from academail.protection import gathered
from academail.protection.authresults import Auth
from academail.protection.models import DomainHistory

GOOD_AFTER = timedelta(days=7)  # a domain's good history counts after a week ...
GOOD_VERIFIED = 10  # ... and this many authenticated messages with no failure
BAD_FAILED = 5  # failures, more than the authenticated messages, make a bad history


@dataclass(frozen=True)
class History:
    """A domain's record before the message being screened."""

    first_seen: datetime
    messages: int
    verified: int
    failed: int

    def good(self, now: datetime) -> bool:
        return self.failed == 0 and self.verified >= GOOD_VERIFIED and now - self.first_seen >= GOOD_AFTER

    def bad(self) -> bool:
        return self.failed >= BAD_FAILED and self.failed > self.verified


def history(domain: str) -> History | None:
    """The domain's record, None when the académie never received mail from
    it. Needs no transaction. One indexed query (``history_query`` and
    ``history_in``, which a delivery sends with its other reads in one
    statement: ``spam.screen``)."""
    if not domain:
        return None
    with connection.cursor() as cursor:
        cursor.execute(*history_query(domain))
        return history_in(cursor.fetchall())


def history_query(domain: str) -> tuple[str, list[str]]:
    """``history``'s query and parameters (columns ``c1`` first seen, ``c2``
    messages, ``c3`` verified, ``c4`` failed)."""
    # Raw SQL: the ORM's compiling cost more than the indexed lookup (bench/protection.py).
    return (
        f"SELECT first_seen AS c1, messages AS c2, verified AS c3, failed AS c4 "  # noqa: S608
        f"FROM {DomainHistory._meta.db_table} WHERE domain = %s",
        [domain[:253]],
    )


def history_in(rows: Sequence[Sequence[object]]) -> History | None:
    """``history``'s answer from the rows of ``history_query`` (as the
    database gives them, or as text: ``protection.together``)."""
    if not rows:
        return None
    row = rows[0]
    first_seen = row[0] if isinstance(row[0], datetime) else parse_datetime(str(row[0]))  # SQLite: text
    if first_seen is None:
        return None
    if timezone.is_naive(first_seen):
        first_seen = timezone.make_aware(first_seen, UTC)  # Django stores UTC
    return History(first_seen, int(str(row[1])), int(str(row[2])), int(str(row[3])))


def do_count(domain: str, auth: Auth) -> None:
    """Count one message from ``domain`` (authenticated or failing, from our
    MX's results in ``auth``): noted for the batch inside
    ``gathered.gathering``, otherwise one upsert now. Precondition: inside
    the delivery transaction (either way the count shares its commit)."""
    if not domain:
        return
    verified, failed = int(auth.present and auth.passing), int(auth.present and auth.failing)
    notes = gathered.current()
    if notes is not None:
        notes.add_domain(domain[:253], verified, failed)
        return
    do_count_many({domain[:253]: [1, verified, failed]})


CHUNK = 500  # domains per statement (6 parameters each, far below SQLite's limit)


def do_count_many(counts: Mapping[str, Sequence[int]]) -> None:
    """Add ``counts`` (domain -> (messages, verified, failed)) to the domains'
    history, creating the rows of new domains: one statement per ``CHUNK``
    domains, in domain order (two writers lock the rows in the same order:
    no deadlock). Precondition: inside a transaction."""
    if not counts:
        return
    now = timezone.now()
    table = DomainHistory._meta.db_table
    rows = sorted(counts.items())
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            # INSERT ... ON CONFLICT DO UPDATE: SQLite >= 3.24 and PostgreSQL alike.
            cursor.execute(
                f"INSERT INTO {table} (domain, first_seen, last_seen, messages, verified, failed) VALUES "  # noqa: S608
                + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
                + f" ON CONFLICT (domain) DO UPDATE SET last_seen = excluded.last_seen, "
                f"messages = {table}.messages + excluded.messages, verified = {table}.verified + excluded.verified, "
                f"failed = {table}.failed + excluded.failed",
                [value for domain, (messages, verified, failed) in chunk
                 for value in (domain, now, now, messages, verified, failed)],
            )
