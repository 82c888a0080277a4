"""A real IMAP server (implicit TLS and STARTTLS ports) on loopback, in its own
event-loop thread, over the test database; a tiny line client for transcripts."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from academail.imap.server import start_imap, stop_store_threads
from academail.server.tls import server_context
from tests.servers import PASSWORD, Server, free_port, per_module, read_line, serving, with_password


def client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass
class RunningIMAP:
    host: str
    tls_port: int
    plain_port: int
    loop: asyncio.AbstractEventLoop


@contextmanager
def _imap_server() -> Iterator[RunningIMAP]:
    tls_port, plain_port = free_port(), free_port()

    async def start() -> list[Server]:
        context = server_context()
        return [
            await start_imap(host="127.0.0.1", port=tls_port, tls_context=context, implicit_tls=True),
            await start_imap(host="127.0.0.1", port=plain_port, tls_context=context, implicit_tls=False),
        ]

    with serving(start, stop_threads=stop_store_threads) as loop:
        yield RunningIMAP("127.0.0.1", tls_port, plain_port, loop)


@pytest.fixture
def imap(transactional_db, request) -> RunningIMAP:
    """A real server (implicit TLS and STARTTLS ports), one per test module,
    over this test's (committed) data."""
    return per_module(request, "imap", _imap_server)


@pytest.fixture
def user(make_account):
    return with_password(make_account())


@dataclass
class Response:
    untagged: list[bytes]
    tagged: bytes
    lines: list[bytes] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.tagged.split(b" ", 2)[1].decode()

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    def text(self) -> str:
        return b"".join(self.untagged).decode("utf-8", "replace")

    def find(self, pattern: bytes) -> list[re.Match[bytes]]:
        return [m for line in self.untagged if (m := re.search(pattern, line, re.S))]


class Client:
    """Sends tagged commands, reads responses with their literals inline."""

    def __init__(self, host: str, port: int, *, tls: bool = True, timeout: float = 10) -> None:
        raw = socket.create_connection((host, port), timeout=timeout)
        self.sock: socket.socket = client_context().wrap_socket(raw) if tls else raw
        self.file = self.sock.makefile("rb")
        self.greeting = self.readline()
        self.counter = 0

    @classmethod
    def over_tls(cls, raw: socket.socket) -> Client:
        """A client on ``raw``, a connected socket (after a PROXY header, say), with TLS from here."""
        client = cls.__new__(cls)
        client.sock = client_context().wrap_socket(raw)
        client.file = client.sock.makefile("rb")
        client.greeting = client.readline()
        client.counter = 0
        return client

    def readline(self) -> bytes:
        return read_line(self.file)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def next_tag(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    def cmd(self, text: str | bytes) -> Response:
        tag = self.next_tag()
        data = text.encode() if isinstance(text, str) else text
        self.send(tag.encode() + b" " + data + b"\r\n")
        return self.read_until(tag)

    def read_until(self, tag: str) -> Response:
        untagged: list[bytes] = []
        while True:
            line = self.readline()
            if not line:
                raise ConnectionError("server closed the connection")
            if line.startswith(tag.encode() + b" "):
                return Response(untagged, line)
            untagged.append(line)

    def login(self, account, password: str = PASSWORD) -> Response:
        response = self.cmd(f'LOGIN {account.identifier} "{password}"')
        assert response.ok, response
        return response

    def close(self) -> None:
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def connect(imap):
    clients: list[Client] = []

    def factory(*, tls: bool = True) -> Client:
        client = Client(imap.host, imap.tls_port if tls else imap.plain_port, tls=tls)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def session(connect, user) -> Client:
    """A logged-in client over implicit TLS."""
    client = connect()
    client.login(user)
    return client
