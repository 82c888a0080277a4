"""Hostile and broken input: syntax errors, unbalanced parentheses, huge literals
announced, literals cut by a disconnection, over-long lines, a client that never
reads. BAD or NO with a text, no crash, other sessions unaffected."""

from __future__ import annotations

import logging
import time

from academail.imap import server as imap_server
from tests.conftest import build_message
from tests.imap.conftest import Client
from tests.imap.helpers import deliver_to


def test_syntax_errors_are_bad_and_the_session_goes_on(session):
    for line in (b"", b"nospace", b"a UNKNOWN", b"a FETCH (", b"a SELECT", b"a LIST \"\" (\"*\"",
                 b"a FETCH 1:* (FLAGS", b"a STORE 1 +FLAGS ((\\Seen)", b'a LOGIN "unterminated',
                 b"a SEARCH OR ALL", b"a FETCH 0 FLAGS", b"a UID FETCH 1:99999999999 FLAGS"):
        session.send(line + b"\r\n")
        reply = session.readline()
        assert b" BAD " in reply, (line, reply)
    assert session.cmd("NOOP").ok


def test_two_gigabyte_literal_announced(connect, user):
    client = connect()
    client.login(user)
    client.send(b"a APPEND INBOX {2147483648}\r\n")
    assert client.readline().startswith(b"a NO [TOOBIG]")
    client.send(b"b LOGIN {2147483648}\r\n")  # before or after login, never a "+"
    assert client.readline().startswith(b"b ")
    # A non-synchronising literal that big: BAD, then the connection is closed (RFC 7888 §4).
    client.send(b"c APPEND INBOX {2147483648+}\r\nxxxx")
    assert client.readline().startswith(b"c BAD [TOOBIG]")
    assert client.readline().startswith(b"* BYE")
    assert client.readline() == b""


def test_preauth_literals_are_small(connect):
    client = connect()
    client.send(b"a LOGIN {100000}\r\n")
    assert client.readline().startswith(b"a BAD [TOOBIG]")


def test_client_vanishing_mid_literal_harms_nobody(imap, connect, user):
    client = connect()
    client.login(user)
    client.send(b"a APPEND INBOX {100000+}\r\n" + b"x" * 1000)
    client.close()
    other = connect()
    other.login(user)
    assert b"MESSAGES 0" in other.cmd("STATUS INBOX (MESSAGES)").untagged[0]


def test_long_line_is_refused_then_connection_dropped(connect):
    client = connect()
    client.send(b"a NOOP " + b"x" * (70 * 1024) + b"\r\n")
    assert b"BAD [TOOBIG]" in client.readline()
    assert client.cmd("NOOP").ok
    client.send(b"y" * (2 * 1024 * 1024))
    assert client.readline().startswith(b"* BYE")


def test_client_that_never_reads_is_disconnected(imap, session, user, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG, logger="academail.imap.server")
    monkeypatch.setattr(imap_server, "WRITE_TIMEOUT_SECONDS", 0.5)
    deliver_to(user, build_message(body="x" * 400_000))
    session.cmd("SELECT INBOX")
    for i in range(60):  # ~24 MB of responses, more than the kernel buffers hold
        session.send(b"f%d FETCH 1 BODY.PEEK[]\r\n" % i)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any("client does not read" in r.getMessage() for r in caplog.records):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the server kept a client that never reads")
    # Other clients are served normally.
    fresh = Client(imap.host, imap.tls_port)
    assert fresh.cmd("NOOP").ok
    fresh.close()
