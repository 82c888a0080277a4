"""Garbage collection of contents and blobs.

A Content whose last message went away is kept for a grace period, then its row
and index entry are deleted, then its blob file if nobody wrote it again in the
meantime (``BlobStore.put`` refreshes the mtime of a blob it finds). Blob files
with no row at all (a crash between the fsync and the commit) are removed once
older than the grace period, and so are temporary files in ``blobs/tmp/`` (a
crash during a write), every round and at start-up (``do_clean_blob_tmp``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from academail.store import search
from academail.store.blobs import Blobs, blob_store
from academail.store.models import Content

DEFAULT_GRACE = timedelta(hours=1)


@dataclass
class GcReport:
    contents: int = 0
    blobs: int = 0
    orphans: int = 0
    tmp: int = 0


def do_clean_blob_tmp(grace: timedelta = DEFAULT_GRACE) -> int:
    """Delete temporary blob files older than ``grace`` (interrupted writes)."""
    return blob_store().clean_tmp(time.time() - grace.total_seconds())


def do_collect(grace: timedelta = DEFAULT_GRACE, *, sweep_orphans: bool = False, batch: int = 500) -> GcReport:
    """Delete released contents and their blobs; with ``sweep_orphans`` also scan
    the blob directory for files without a row (slow on a big store: run daily).

    Precondition: none (own transactions, one per batch)."""
    report = GcReport()
    store = blob_store()
    cutoff = timezone.now() - grace
    limit = time.time() - grace.total_seconds()
    report.tmp = store.clean_tmp(limit)
    while True:
        with transaction.atomic():
            rows = list(
                Content.objects.select_for_update()
                .filter(refcount__lte=0, released_at__lt=cutoff)
                .values_list("pk", "sha256")[:batch]
            )
            if not rows:
                break
            ids = [pk for pk, _ in rows]
            search.do_unindex(ids)
            Content.objects.filter(pk__in=ids, refcount__lte=0).delete()
        report.contents += len(rows)
        for _, sha256 in rows:
            if _unused(store, sha256, limit):
                store.delete(sha256)
                report.blobs += 1
    if sweep_orphans:
        for sha256 in store.iter_shas():
            if _unused(store, sha256, limit):
                store.delete(sha256)
                report.orphans += 1
    return report


def _unused(store: Blobs, sha256: str, limit: float) -> bool:
    mtime = store.mtime(sha256)
    if mtime is None or mtime > limit:
        return False
    return not Content.objects.filter(sha256=sha256).exists()
