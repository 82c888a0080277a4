"""The activity journal: what happened to an account (sign-ins and failures
with protocol, address and device, password and secondary-address changes,
sessions closed, and later filter and forwarding changes), who may read it
(the account's owner), and its purge after ``JOURNAL_RETENTION_DAYS`` (12 months).

Pages are keyset-paginated on the entry id (newest first), so the thousandth
page costs what the first does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from academail.accounts.models import Account, JournalEntry

PAGE_SIZE = 25
_PURGE_BATCH = 5000


def do_record(
    account: Account | int,
    kind: Any,
    *,
    protocol: str = "",
    remote_addr: str = "",
    device: str = "",
    detail: str = "",
) -> JournalEntry:
    """Append one entry (``kind``: an ``EventKind``; typed ``Any`` because
    mypy without Django stubs sees a choice as its (value, label) tuple).
    Other apps (filters, forwarding) call this too."""
    from academail.accounts.throttle import network_of

    account_id = account if isinstance(account, int) else account.pk
    valid_addr = remote_addr if network_of(remote_addr) != "unknown" else None
    return JournalEntry.objects.create(
        account_id=account_id, kind=str(kind), protocol=protocol[:8], remote_addr=valid_addr,
        device=device[:200], detail=detail[:300],
    )


@dataclass(frozen=True)
class JournalPage:
    entries: list[JournalEntry]
    next_before: int | None  # pass as ``before`` for the next (older) page


def access_journal_page(requester: Account, *, before: int | None = None) -> JournalPage:
    """A page of the requester's own journal, newest first; entries older than
    id ``before`` when given. Nobody reads another person's journal here (the
    administrators have the admin)."""
    rows = JournalEntry.objects.filter(account_id=requester.pk)
    if before is not None:
        rows = rows.filter(id__lt=before)
    entries = list(rows.order_by("-id")[: PAGE_SIZE + 1])
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    return JournalPage(entries, entries[-1].pk if more and entries else None)


def do_purge_journal(now: datetime) -> int:
    """Delete entries older than the retention period, in batches (short
    transactions on a large table), plus idle throttles and spent codes and
    reset links. Returns the number of journal entries deleted. Meant for the
    worker, once a day."""
    from academail.accounts.models import ResetToken, VerificationCode
    from academail.accounts.throttle import do_purge_throttles

    limit = now - timedelta(days=int(settings.JOURNAL_RETENTION_DAYS))
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                JournalEntry.objects.filter(at__lt=limit).values_list("id", flat=True)[:_PURGE_BATCH]
            )
            if not ids:
                break
            total += JournalEntry.objects.filter(id__in=ids).delete()[0]
    do_purge_throttles(now)
    day_ago = now - timedelta(days=1)
    ResetToken.objects.filter(expires_at__lt=day_ago).delete()
    VerificationCode.objects.filter(expires_at__lt=day_ago).delete()
    return total
