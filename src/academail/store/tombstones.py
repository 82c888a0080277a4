"""Expunge tombstones (``store_expunged``) over time: QRESYNC needs them to
answer VANISHED (RFC 7162 §3.2.10), but they would grow forever. The worker's
daily housekeeping purges those older than ``settings.EXPUNGED_KEEP_DAYS`` and
raises each mailbox's ``tombstones_purged_modseq`` to the highest MODSEQ it
purged. A client resynchronising from a MODSEQ below that watermark can no
longer be told exactly what went, so it is told every UID of the range it asks
about that is not in the mailbox any more (``missing_uids``): RFC 7162
§3.2.5.2 lets the server list UIDs the client may never have seen, and the
client then holds exactly the mailbox's UIDs again - a full resync of the
UID list, never a missed expunge.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from academail.store.models import Expunged, Message

_DELETE_CHUNK = 10_000


def do_purge_tombstones(now: datetime, *, keep_days: int | None = None) -> int:
    """Delete tombstones older than ``keep_days`` (default
    ``settings.EXPUNGED_KEEP_DAYS``) and raise the mailboxes' watermarks; return
    how many went. Precondition: none (own transactions, one per chunk of
    mailboxes, the watermark committed with the deletion it covers)."""
    days = settings.EXPUNGED_KEEP_DAYS if keep_days is None else keep_days
    cutoff = now - timedelta(days=days)
    removed = 0
    while True:
        with transaction.atomic():
            marks = list(
                Expunged.objects.filter(expunged_at__lt=cutoff)
                .values("mailbox_id")
                .annotate(top=Max("modseq"))
                .order_by("mailbox_id")
                .values_list("mailbox_id", "top")[:1000]
            )
            if not marks:
                return removed
            with connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE store_mailbox SET tombstones_purged_modseq = %s"
                    " WHERE id = %s AND tombstones_purged_modseq < %s",
                    [(top, box, top) for box, top in marks],
                )
            boxes = [box for box, _ in marks]
            while True:
                ids = list(
                    Expunged.objects.filter(mailbox_id__in=boxes, expunged_at__lt=cutoff).values_list(
                        "pk", flat=True
                    )[:_DELETE_CHUNK]
                )
                if not ids:
                    break
                removed += Expunged.objects.filter(pk__in=ids).delete()[0]


def missing_uids(mailbox_id: int, ranges: Sequence[tuple[int, int]]) -> list[int]:
    """The UIDs within ``ranges`` (merged, inclusive) that no message of the
    mailbox has: what may have been expunged once the tombstones are gone."""
    missing: list[int] = []
    for lo, hi in ranges:
        present = (
            Message.objects.filter(mailbox_id=mailbox_id, uid__gte=lo, uid__lte=hi)
            .order_by("uid")
            .values_list("uid", flat=True)
            .iterator(chunk_size=5000)
        )
        expected = lo
        for uid in present:
            missing.extend(range(expected, uid))
            expected = uid + 1
        missing.extend(range(expected, hi + 1))
    return missing
