"""``academail blobs migrate``: copy every blob from one store to another
(files to S3-compatible object storage, or back), resumable and idempotent.

The stores are content-addressed, so a blob already at the destination is the
same bytes and is skipped: running the command again, after an interruption
or after more mail arrived, copies only what is missing. Each copy is one
durable ``put``; an interrupted run leaves whole blobs only. Every blob read
from the source is checked against its SHA-256 before it is written; a damaged
one is reported and not copied. The source is never changed.

Both stores list their blobs in ascending SHA-256 order (S3 lists keys
sorted; the file store sorts each directory), so the missing blobs are found
by walking the two lists side by side: one listing pass of each store, in
constant memory whatever its size (a 30-million-message store included), and
no request per blob already there. The missing ones are copied by a few
threads (object storage answers many requests at once).

Switching a running platform: migrate while it serves, stop it, migrate again
(copies what arrived meanwhile), set ``ACADEMAIL_BLOB_URL`` and start.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from academail.store.blobs import Blobs


@dataclass
class MigrationReport:
    copied: int = 0
    present: int = 0
    damaged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unlisted: str = ""  # why a store could not be listed: the run stopped there

    @property
    def complete(self) -> bool:
        return not self.damaged and not self.failed and not self.unlisted


def do_migrate_blobs(source: Blobs, dest: Blobs, *, threads: int = 8, batch_size: int = 256,
                     progress: Callable[[MigrationReport], None] | None = None) -> MigrationReport:
    """Copy to ``dest`` every blob of ``source`` that ``dest`` lacks, in batches
    of ``batch_size`` (``progress`` is called after each)."""
    report = MigrationReport()
    lock = threading.Lock()

    def copy(sha256: str) -> None:
        try:
            data = source.get(sha256)
            if hashlib.sha256(data).hexdigest() != sha256:
                outcome = report.damaged
            else:
                dest.put(data)
                outcome = None
        except FileNotFoundError:
            return  # collected since it was listed
        except OSError:
            outcome = report.failed
        with lock:
            if outcome is None:
                report.copied += 1
            else:
                outcome.append(sha256)

    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="blobs-migrate") as pool:
        batch: list[str] = []
        try:
            for sha256, there in _side_by_side(source.iter_shas(), dest.iter_shas()):
                if there:
                    report.present += 1
                    continue
                batch.append(sha256)
                if len(batch) >= batch_size:
                    list(pool.map(copy, batch))
                    batch = []
                    if progress is not None:
                        progress(report)
        except OSError as error:
            report.unlisted = str(error)
        list(pool.map(copy, batch))
    if progress is not None:
        progress(report)
    return report


def _side_by_side(source: Iterator[str], dest: Iterator[str]) -> Iterator[tuple[str, bool]]:
    """Each of ``source``'s names, with whether ``dest`` has it (both ascending)."""
    other = next(dest, None)
    for name in source:
        while other is not None and other < name:
            other = next(dest, None)
        yield name, other == name
