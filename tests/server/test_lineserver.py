"""IMAP and ManageSieve run on one line server (``server.lineserver``): what is
fixed there holds for both. Here, the last words before dropping a client that
sends too much: the server reads and drops what is still coming before it
closes (``linger``), so a TCP reset does not wipe out the BYE in flight. Once
only in IMAP; each case below runs against both real servers."""

from __future__ import annotations

import socket

import pytest

from academail.server.lineserver import MAX_DISCARD
from tests.imap.conftest import imap  # noqa: F401 (fixtures)
from tests.managesieve.conftest import sieve_server  # noqa: F401 (fixtures)

PROTOCOLS = ("imap", "managesieve")


@pytest.fixture(params=PROTOCOLS)
def address(request) -> tuple[str, int, str]:
    """(host, port, protocol) of a plain-text port of each server."""
    if request.param == "imap":
        running = request.getfixturevalue("imap")
        return running.host, running.plain_port, "imap"
    running = request.getfixturevalue("sieve_server")
    return running.host, running.port, "managesieve"


def _greeted(host: str, port: int) -> tuple[socket.socket, socket.SocketIO]:
    sock = socket.create_connection((host, port), timeout=10)
    lines = sock.makefile("rb")
    while not (line := lines.readline()).startswith((b"* OK", b"OK")):
        assert line, "greeting cut short"
    return sock, lines


def _bye(lines) -> bytes:
    """The server's reply; a reset before we read it fails the test."""
    while (line := lines.readline()).startswith(b"*") and not line.startswith(b"* BYE"):
        continue
    return line


def test_endless_line_gets_its_bye_before_the_close(address):
    host, port, protocol = address
    sock, lines = _greeted(host, port)
    try:
        sock.sendall(b"x" * (MAX_DISCARD + 1024 * 1024))  # never a line end
        assert _bye(lines).startswith((b"* BYE", b"BYE")), protocol
        assert lines.read() == b""  # then the server closes
    finally:
        sock.close()


def test_literal_too_big_to_skip_gets_its_bye_before_the_close(address):
    host, port, protocol = address
    sock, lines = _greeted(host, port)
    try:
        # A non-synchronizing literal over every limit, with its first bytes
        # already sent: refused (IMAP: BAD, then BYE; ManageSieve: BYE) and dropped.
        sock.sendall(b"a NOOP {99999999+}\r\n" if protocol == "imap" else b"CHECKSCRIPT {99999999+}\r\n")
        sock.sendall(b"y" * (512 * 1024))
        reply = _bye(lines)
        if protocol == "imap":
            assert reply.startswith(b"a BAD [TOOBIG]"), reply
            reply = _bye(lines)
        assert reply.startswith((b"* BYE", b"BYE")), (protocol, reply)
        assert lines.read() == b""
    finally:
        sock.close()
