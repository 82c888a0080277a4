"""Content-addressed blob files: the raw bytes of each distinct message, once.

A blob is written to a temporary file, fsynced, renamed into place and the
directory fsynced, all before the database row that points to it commits: a crash
leaves at worst an orphan file (collected by ``store.gc``), never a row without
its blob. Writing an existing blob only refreshes its mtime, which tells the
collector it is in use again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from django.conf import settings


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` durably; return its SHA-256. Safe to call concurrently."""
        sha256 = hashlib.sha256(data).hexdigest()
        final = self.path(sha256)
        try:
            os.utime(final)
            return sha256
        except FileNotFoundError:
            pass
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix=sha256[:12])
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, final)
        except BaseException:
            try:
                os.unlink(tmp_name)
            except FileNotFoundError:
                pass
            raise
        _fsync_dir(final.parent)
        return sha256

    def get(self, sha256: str) -> bytes:
        with open(self.path(sha256), "rb") as handle:
            return handle.read()

    def read_range(self, sha256: str, start: int, end: int) -> bytes:
        """Bytes ``[start:end)`` of a blob, without reading the rest (IMAP partial fetch)."""
        with open(self.path(sha256), "rb") as handle:
            handle.seek(start)
            return handle.read(max(0, end - start))

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def mtime(self, sha256: str) -> float | None:
        try:
            return self.path(sha256).stat().st_mtime
        except FileNotFoundError:
            return None

    def delete(self, sha256: str) -> None:
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            pass

    def clean_tmp(self, older_than: float) -> int:
        """Delete temporary files last written before ``older_than`` (a Unix
        time): what a crash left between ``mkstemp`` and the rename. A write in
        progress is milliseconds old, so any age of minutes is safe, with
        several processes sharing the directory too. Returns how many."""
        removed = 0
        for entry in os.scandir(self.tmp):
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < older_than:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue  # another process cleaned it first
        return removed

    def check(self) -> None:
        """Write, read back and remove a probe file in ``tmp/`` (the health
        probe): raises ``OSError`` when the store cannot take a blob."""
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="healthz")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(b"ok")
            with open(name, "rb") as handle:
                if handle.read() != b"ok":
                    raise OSError(f"blob store probe read back wrong bytes in {self.tmp}")
        finally:
            os.unlink(name)

    def iter_shas(self) -> Iterator[str]:
        """Every blob on disk (for the orphan sweep)."""
        for first in self.root.iterdir():
            if len(first.name) != 2 or not first.is_dir():
                continue
            for second in first.iterdir():
                for entry in second.iterdir():
                    yield entry.name


def _fsync_dir(path: Path) -> None:
    # The rename is only durable once the directory entry is on disk.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@lru_cache(maxsize=1)
def _store_for(root: str) -> BlobStore:
    return BlobStore(Path(root))


def blob_store() -> BlobStore:
    return _store_for(str(settings.BLOB_DIR))
