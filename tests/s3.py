"""A real S3-protocol server for the tests: moto's standalone server
(``python -m moto.server``, from the ``moto[server]`` package) in its own
process on a free port, and ``FaultyProxy``, a TCP relay in front of it that
can be told to cut an upload half-way, answer ``500`` or stop answering.

Why moto: neither MinIO nor Garage is packaged by Debian or PyPI; moto's
server speaks the S3 REST protocol over HTTP (SigV4, Content-MD5, ranged GETs,
ListObjectsV2 pagination), which is all the blob store uses.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest

from tests.servers import free_port

ACCESS_KEY = "academail-test-access"
SECRET_KEY = "academail-test-secret-Zk3q9"  # noqa: S105 (moto accepts any key pair; the tests look for it in logs)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 server in a subprocess; yields its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(f"moto server did not start: {error}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def new_bucket(endpoint: str) -> str:
    name = f"academail-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def keys(endpoint: str, bucket: str) -> list[str]:
    pages = s3_client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", ()))


@dataclass
class S3Blobs:
    endpoint: str
    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def keys(self) -> list[str]:
        return keys(self.endpoint, self.bucket)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def use_s3(settings, endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> S3Blobs:
    """Point the blob store at a fresh bucket of the server at ``endpoint``
    (pytest-django's ``settings`` restores the file store afterwards)."""
    blobs = S3Blobs(endpoint, new_bucket(endpoint), "mail")
    settings.BLOB_URL = blobs.url
    settings.S3_ENDPOINT_URL = endpoint
    settings.S3_ACCESS_KEY_ID = ACCESS_KEY
    settings.S3_SECRET_ACCESS_KEY = SECRET_KEY
    settings.S3_TIMEOUT = 5.0
    settings.BLOB_CACHE_DIR = tmp_path_factory.mktemp("blob-cache")
    return blobs


@pytest.fixture
def s3_blobs(settings, s3_endpoint, tmp_path_factory) -> S3Blobs:
    return use_s3(settings, s3_endpoint, tmp_path_factory)


@pytest.fixture
def s3_faulty(s3_blobs, settings) -> Iterator[FaultyProxy]:
    """The blob store reaches the S3 server through a ``FaultyProxy``, with
    short timeouts and two attempts."""
    proxy = FaultyProxy(s3_blobs.endpoint)
    settings.S3_ENDPOINT_URL = proxy.endpoint
    settings.S3_TIMEOUT = 1.0
    settings.S3_ATTEMPTS = 2
    yield proxy
    proxy.close()


class FaultyProxy:
    """A TCP relay to the S3 server. ``mode`` decides what a new request meets:
    ``"pass"`` relays; ``"cut"`` reads the request's first bytes then closes
    (an upload cut mid-way); ``"error"`` answers ``500 InternalError``;
    ``"hang"`` reads and never answers (a timeout)."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.mode = "pass"
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._open.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        mode = self.mode
        self.requests += 1
        try:
            if mode == "pass":
                upstream = socket.create_connection(self.upstream)
                self._open.append(upstream)
                threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
                _pump(client, upstream)
                return
            first = client.recv(4096)
            if mode == "cut":
                client.close()
            elif mode == "error" and first:
                body = b"<Error><Code>InternalError</Code><Message>boom</Message></Error>"
                client.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n"
                               b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
                client.close()
            # "hang": keep the socket open, answer nothing
        except OSError:
            client.close()

    def close(self) -> None:
        self._listener.close()
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.close()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
