"""A real ManageSieve server on an ephemeral loopback port, in its own
event-loop thread, over the test database; a small line client that speaks
the protocol over a real socket and upgrades it with STARTTLS, trusting the
server's self-signed certificate (verified, not ignored)."""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from academail.managesieve.server import start_managesieve, stop_store_threads
from academail.server.tls import ensure_certificate, server_context
from tests.servers import PASSWORD, Server, free_port, per_module, read_line, serving, with_password


def certificate() -> str:
    return str(ensure_certificate()[0])


def client_context() -> ssl.SSLContext:
    """Trusts exactly the server's certificate; the name checked is 127.0.0.1 (a SAN)."""
    return ssl.create_default_context(cafile=certificate())


@dataclass
class RunningSieve:
    host: str
    port: int
    loop: asyncio.AbstractEventLoop


@contextmanager
def _sieve_server() -> Iterator[RunningSieve]:
    port = free_port()

    async def start() -> list[Server]:
        return [await start_managesieve(host="127.0.0.1", port=port, tls_context=server_context())]

    with serving(start, stop_threads=stop_store_threads) as loop:
        yield RunningSieve("127.0.0.1", port, loop)


@pytest.fixture
def sieve_server(transactional_db, request) -> RunningSieve:
    """A real server, one per test module, over this test's (committed) data."""
    return per_module(request, "managesieve", _sieve_server)


@pytest.fixture
def user(make_account):
    return with_password(make_account())


@dataclass
class Reply:
    lines: list[bytes]  # the lines before the status line, literals inline
    status_line: bytes

    @property
    def status(self) -> str:
        return self.status_line.split(b" ", 1)[0].decode()

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    @property
    def code(self) -> str:
        m = re.match(rb"\w+ \(([^)]*)\)", self.status_line)
        return m.group(1).decode() if m else ""

    @property
    def text(self) -> str:
        return self.status_line.decode("utf-8", "replace")


class Client:
    """Sends commands as bytes, reads replies up to OK/NO/BYE."""

    def __init__(self, host: str, port: int, *, timeout: float = 10) -> None:
        self.sock: socket.socket = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.greeting = self.read_reply()

    def readline(self) -> bytes:
        return read_line(self.file)

    def read_reply(self) -> Reply:
        lines: list[bytes] = []
        while True:
            line = self.readline()
            if not line:
                raise ConnectionError("server closed the connection")
            if re.match(rb"(OK|NO|BYE)\b", line):
                return Reply(lines, line.rstrip(b"\r\n"))
            lines.append(line)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def cmd(self, text: str | bytes) -> Reply:
        self.send((text.encode() if isinstance(text, str) else text) + b"\r\n")
        return self.read_reply()

    def starttls(self) -> Reply:
        reply = self.cmd("STARTTLS")
        assert reply.ok, reply
        self.sock = client_context().wrap_socket(self.sock, server_hostname="127.0.0.1")
        self.file = self.sock.makefile("rb")
        return self.read_reply()  # RFC 5804 §2.2: capabilities again, then OK

    def login(self, account, password: str = PASSWORD) -> Reply:
        token = base64.b64encode(f"\0{account.identifier}\0{password}".encode()).decode()
        return self.cmd(f'AUTHENTICATE "PLAIN" "{token}"')

    def close(self) -> None:
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


def literal(data: str | bytes) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return b"{%d+}\r\n" % len(raw) + raw


@pytest.fixture
def connect(sieve_server):
    clients: list[Client] = []

    def factory() -> Client:
        client = Client(sieve_server.host, sieve_server.port)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def session(connect, user) -> Client:
    """A client signed in over STARTTLS."""
    client = connect()
    client.starttls()
    assert client.login(user).ok
    return client
