"""Sender domains' history with the académie: the first message from a
domain gets a "Premier message de ce domaine" line beside the outside
banner and a few spam points; a domain that has written for a week with
authenticated mail and no failure gets a few points off; one whose mail
mostly fails authentication gets points on.

Read before the message is stored (``history``, one indexed query) and
counted in the delivery transaction (``do_count``, one upsert sharing the
delivery's commit), so a message refused or lost is not counted twice and
nothing adds a commit per message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

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
    it. Needs no transaction."""
    if not domain:
        return None
    # Raw SQL: the ORM's compiling cost more than the indexed lookup (bench/protection.py).
    table = DomainHistory._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT first_seen, messages, verified, failed FROM {table} WHERE domain = %s",  # noqa: S608
            [domain[:253]],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    first_seen = row[0] if isinstance(row[0], datetime) else parse_datetime(str(row[0]))  # SQLite: text
    if first_seen is None:
        return None
    if timezone.is_naive(first_seen):
        first_seen = timezone.make_aware(first_seen, UTC)  # Django stores UTC
    return History(first_seen, int(row[1]), int(row[2]), int(row[3]))


def do_count(domain: str, auth: Auth) -> None:
    """Count one message from ``domain`` (authenticated or failing, from our
    MX's results in ``auth``). Precondition: inside the delivery
    transaction (the upsert shares its commit)."""
    if not domain:
        return
    now = timezone.now()
    verified, failed = int(auth.present and auth.passing), int(auth.present and auth.failing)
    table = DomainHistory._meta.db_table
    with connection.cursor() as cursor:
        # INSERT ... ON CONFLICT DO UPDATE: SQLite >= 3.24 and PostgreSQL alike.
        cursor.execute(
            f"INSERT INTO {table} (domain, first_seen, last_seen, messages, verified, failed) "  # noqa: S608
            f"VALUES (%s, %s, %s, 1, %s, %s) ON CONFLICT (domain) DO UPDATE SET last_seen = excluded.last_seen, "
            f"messages = {table}.messages + 1, verified = {table}.verified + excluded.verified, "
            f"failed = {table}.failed + excluded.failed",
            [domain[:253], now, now, verified, failed],
        )
