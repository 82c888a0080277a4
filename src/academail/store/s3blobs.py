"""Blobs in S3-compatible object storage (Ceph RGW, MinIO, Garage, a cloud
provider), with boto3, behind the ``store.blobs.Blobs`` interface.

Keys are content-addressed like the files: ``<prefix>/aa/bb/<sha256>``.

Durability before ``250``: ``put`` is one ``PutObject``, which the server
answers only once the object is stored; an object appears whole or not at all,
so an upload cut half-way leaves nothing (the S3 equivalent of the file
store's temp file and rename). ``Content-MD5`` makes the server check that it
received the bytes we hashed (every S3 implementation supports it, unlike the
newer ``x-amz-checksum-*`` trailers, which boto3 is told to send only when an
operation requires them). Any failure after the configured attempts is raised
as ``BlobStoreError``, so the delivery answers ``451 4.3.0``.

Age for the collector: ``put`` always uploads, even a blob that exists, which
refreshes its ``LastModified`` as writing a file refreshes its mtime; a blob
written again is rare (a message delivered to many people is stored once per
transaction) and checking first would cost a round trip for every new one.

Reads: ``get`` reads the whole object, checks its SHA-256 and keeps a copy in
the local read cache (``BLOB_CACHE_DIR``, at most ``BLOB_CACHE_BYTES``, the
least recently read evicted first; several processes may share it: entries are
written by rename, and blobs never change). ``read_range`` answers from the
cache or with a ranged ``GetObject`` (IMAP partial fetches, the headers for
filters), without downloading the rest.

Secrets: the key pair goes to boto3 only; it is in no log line, no exception
text and no ``repr``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from academail.metrics import count_blob_error
from academail.store.blobs import BlobStoreError

log = logging.getLogger(__name__)

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def _client() -> Any:
    """A boto3 S3 client from the settings (thread-safe, one per store)."""
    config = Config(
        connect_timeout=settings.S3_TIMEOUT,
        read_timeout=settings.S3_TIMEOUT,
        retries={"max_attempts": max(1, settings.S3_ATTEMPTS), "mode": "standard"},
        s3={"addressing_style": settings.S3_ADDRESSING_STYLE},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        max_pool_connections=32,
    )
    credentials: dict[str, str] = {}
    if settings.S3_ACCESS_KEY_ID:
        credentials = {"aws_access_key_id": settings.S3_ACCESS_KEY_ID,
                       "aws_secret_access_key": settings.S3_SECRET_ACCESS_KEY}
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=settings.S3_ENDPOINT_URL or None, region_name=settings.S3_REGION,
                          config=config, **credentials)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3BlobStore:
    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._s3 = _client()
        self.cache = BlobCache(Path(settings.BLOB_CACHE_DIR) / _cache_name(bucket, self.prefix),
                               settings.BLOB_CACHE_BYTES)

    def __repr__(self) -> str:
        return f"S3BlobStore({self.describe()!r})"

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, sha256: str) -> str:
        path = f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
        return f"{self.prefix}/{path}" if self.prefix else path

    def _failed(self, action: str, sha256: str, error: Exception) -> BlobStoreError:
        count_blob_error(action)
        # The error's text names the operation and the HTTP status, never the credentials.
        return BlobStoreError(f"object store {self.describe()}: {action} {sha256[:12]} failed: {error}")

    def put(self, data: bytes) -> str:
        """Upload ``data`` (durable when this returns); return its SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        try:
            self._s3.put_object(Bucket=self.bucket, Key=self.key(sha256), Body=data, ContentMD5=md5,
                                ContentType="message/rfc822")
        except (BotoCoreError, ClientError) as error:
            raise self._failed("put", sha256, error) from None
        return sha256

    def get(self, sha256: str) -> bytes:
        cached = self.cache.get(sha256)
        if cached is not None:
            return cached
        data = self._get(sha256)
        if hashlib.sha256(data).hexdigest() != sha256:
            count_blob_error("get")
            raise BlobStoreError(f"object store {self.describe()}: blob {sha256[:12]} read back altered")
        self.cache.add(sha256, data)
        return data

    def _get(self, sha256: str, byte_range: str | None = None) -> bytes:
        extra = {"Range": byte_range} if byte_range else {}
        try:
            answer = self._s3.get_object(Bucket=self.bucket, Key=self.key(sha256), **extra)
            return bytes(answer["Body"].read())
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                raise FileNotFoundError(f"blob {sha256} not in {self.describe()}") from None
            if _code(error) == "InvalidRange":  # start past the end: a file read gives b"" too
                return b""
            raise self._failed("get", sha256, error) from None
        except BotoCoreError as error:
            raise self._failed("get", sha256, error) from None

    def read_range(self, sha256: str, start: int, end: int) -> bytes:
        """Bytes ``[start:end)``: from the cache, else one ranged GET (RFC 9110 §14.1.2)."""
        if end <= start:
            return b""
        cached = self.cache.get(sha256)
        if cached is not None:
            return cached[start:end]
        return self._get(sha256, f"bytes={start}-{end - 1}")

    def _head(self, sha256: str) -> dict[str, Any] | None:
        try:
            return dict(self._s3.head_object(Bucket=self.bucket, Key=self.key(sha256)))
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                return None
            raise self._failed("head", sha256, error) from None
        except BotoCoreError as error:
            raise self._failed("head", sha256, error) from None

    def exists(self, sha256: str) -> bool:
        return self._head(sha256) is not None

    def mtime(self, sha256: str) -> float | None:
        head = self._head(sha256)
        return None if head is None else float(head["LastModified"].timestamp())

    def delete(self, sha256: str) -> None:
        self.cache.discard(sha256)
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=self.key(sha256))
        except (BotoCoreError, ClientError) as error:
            raise self._failed("delete", sha256, error) from None

    def clean_tmp(self, older_than: float) -> int:
        """Object storage has no half-written object (``PutObject`` is atomic);
        what an interrupted write can leave is a temporary file of the read
        cache."""
        return self.cache.clean_tmp(older_than)

    def check(self) -> None:
        """Write, read back and delete a probe object (the health probe)."""
        key = f"{self.prefix}/healthz/{secrets.token_hex(8)}" if self.prefix else f"healthz/{secrets.token_hex(8)}"
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=b"ok")
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            self._s3.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as error:
            raise self._failed("check", "healthz", error) from None
        if body != b"ok":
            raise BlobStoreError(f"object store {self.describe()}: the probe read back wrong bytes")

    def iter_shas(self) -> Iterator[str]:
        """Every blob under the prefix, in ascending order (S3 lists keys in
        UTF-8 binary order, and ``aa/bb/<sha256>`` sorts as the SHA-256 does)."""
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else "")
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    name = str(item["Key"]).rsplit("/", 1)[-1]
                    if len(name) == 64 and self.key(name) == item["Key"]:
                        yield name
        except (BotoCoreError, ClientError) as error:
            raise self._failed("list", "", error) from None


def _cache_name(bucket: str, prefix: str) -> str:
    return hashlib.sha256(f"{bucket}/{prefix}".encode()).hexdigest()[:16]


class BlobCache:
    """A directory of whole blobs, at most ``limit`` bytes, the least recently
    read evicted first (a read refreshes the file's mtime). Best effort: any
    I/O error is a cache miss, never a failed read."""

    def __init__(self, root: Path, limit: int) -> None:
        self.root = root
        self.limit = limit
        self.tmp = root / "tmp"
        self._added = 0
        self._lock = threading.Lock()
        if limit > 0:
            self.tmp.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def get(self, sha256: str) -> bytes | None:
        if self.limit <= 0:
            return None
        path = self._path(sha256)
        try:
            data = path.read_bytes()
            os.utime(path)
        except OSError:
            return None
        return data

    def add(self, sha256: str, data: bytes) -> None:
        if len(data) > self.limit // 4:  # one huge attachment must not empty the cache
            return
        path = self._path(sha256)
        try:
            path.parent.mkdir(exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.tmp)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(name, path)  # no fsync: a cache entry lost in a crash is read again
        except OSError as error:
            log.warning("blob cache %s: %s", self.root, error)
            return
        with self._lock:
            self._added += len(data)
            sweep = self._added > self.limit // 10
            if sweep:
                self._added = 0
        if sweep:
            self._evict()

    def discard(self, sha256: str) -> None:
        try:
            self._path(sha256).unlink()
        except OSError:
            pass

    def _evict(self) -> None:
        """Down to 90 % of the limit, oldest read first."""
        entries: list[tuple[float, int, str]] = []
        for first in os.scandir(self.root):
            if len(first.name) != 2 or not first.is_dir():
                continue
            for entry in os.scandir(first.path):
                try:
                    info = entry.stat()
                except FileNotFoundError:
                    continue
                entries.append((info.st_mtime, info.st_size, entry.path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.limit * 9 // 10:
                break
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            total -= size

    def size(self) -> int:
        return sum(entry.stat().st_size for first in self.root.glob("??") for entry in os.scandir(first))

    def clean_tmp(self, older_than: float) -> int:
        removed = 0
        if not self.tmp.is_dir():
            return 0
        for entry in os.scandir(self.tmp):
            try:
                if entry.stat().st_mtime < older_than:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
