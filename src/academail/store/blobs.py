"""Content-addressed blobs: the raw bytes of each distinct message, once.

``Blobs`` is the interface the rest of the code sees (``blob_store()``); it has
two implementations, chosen by ``ACADEMAIL_BLOB_URL``: files under
``ACADEMAIL_BLOB_DIR`` (``BlobStore``, the default, below) and S3-compatible
object storage (``store.s3blobs.S3BlobStore``, ``s3://bucket/prefix``). Both keep
the same promise: ``put`` returns only once the bytes are durable, so the row
that points to them can commit after.

A blob file is written to a temporary file, fsynced, renamed into place and the
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
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings


class BlobStoreError(OSError):
    """The blob store cannot take or give a blob now (object store down, slow or
    answering 5xx). An ``OSError``, like a full disk for the file store: the
    delivery answers ``451 4.3.0`` and nothing is acknowledged."""


class Blobs(Protocol):
    """What the store needs from a blob backend. ``put`` is durable on return
    and idempotent; writing a blob that exists refreshes its age (``mtime``),
    which tells the collector it is in use again; ``get`` raises
    ``FileNotFoundError`` for a blob that is not there; ``iter_shas`` lists
    every blob in ascending order."""

    def put(self, data: bytes) -> str: ...
    def get(self, sha256: str) -> bytes: ...
    def read_range(self, sha256: str, start: int, end: int) -> bytes: ...
    def exists(self, sha256: str) -> bool: ...
    def mtime(self, sha256: str) -> float | None: ...
    def delete(self, sha256: str) -> None: ...
    def clean_tmp(self, older_than: float) -> int: ...
    def check(self) -> None: ...
    def iter_shas(self) -> Iterator[str]: ...
    def describe(self) -> str: ...


class BlobStore:
    """Blob files under one directory (``aa/bb/<sha256>``)."""

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

    def describe(self) -> str:
        return f"file://{self.root}"

    def iter_shas(self) -> Iterator[str]:
        """Every blob on disk, in ascending order (for the orphan sweep and
        ``blobs migrate``)."""
        for first in sorted(self.root.iterdir()):
            if len(first.name) != 2 or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                yield from sorted(entry.name for entry in second.iterdir())


def _fsync_dir(path: Path) -> None:
    # The rename is only durable once the directory entry is on disk.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_blob_store(url: str) -> Blobs:
    """The blob store at ``url``: ``s3://bucket/prefix`` (endpoint, region and
    credentials from the ``ACADEMAIL_S3_*`` settings), ``file:///path`` or a
    plain path. Raises ``ValueError`` for anything else."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        from academail.store.s3blobs import S3BlobStore  # boto3 is loaded only when used

        if not parts.netloc:
            raise ValueError(f"{url!r}: name the bucket, s3://bucket/prefix")
        return S3BlobStore(parts.netloc, parts.path.strip("/"))
    if parts.scheme == "file":
        return BlobStore(Path(parts.path))
    if parts.scheme == "" and url:
        return BlobStore(Path(url))
    raise ValueError(f"{url!r}: a blob store is s3://bucket/prefix or file:///path")


@lru_cache(maxsize=4)
def _store_for(url: str, endpoint: str, pid: int) -> Blobs:
    # Keyed by process id too: a forked worker must not share its parent's
    # HTTP connections to the object store.
    return open_blob_store(url)


def blob_store() -> Blobs:
    """The configured store: ``ACADEMAIL_BLOB_URL``, else files in ``BLOB_DIR``."""
    return _store_for(settings.BLOB_URL or str(settings.BLOB_DIR), settings.S3_ENDPOINT_URL, os.getpid())
