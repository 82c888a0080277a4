"""Hostile or broken input over the wire: unknown commands, bad syntax,
over-long lines, literals too big before and after signing in, a flood of
connections from one address. The server answers NO (or BYE when it must stop
reading) and never lets one client grow its memory."""

from __future__ import annotations

import socket

from academail.managesieve import server
from tests.managesieve.conftest import literal


def test_unknown_and_malformed_commands_answer_no(session):
    assert session.cmd("SELECT INBOX").status == "NO"
    assert session.cmd("").status == "NO"
    bad = session.cmd('GETSCRIPT "a" "b"')
    assert bad.status == "NO" and "GETSCRIPT" in bad.text
    assert session.cmd(b'GETSCRIPT "\xff"').status == "NO"
    assert session.cmd("NOOP").ok


def test_script_commands_need_a_signed_in_user(connect):
    client = connect()
    for command in ('GETSCRIPT "a"', "LISTSCRIPTS", 'PUTSCRIPT "a" "keep;"', "UNAUTHENTICATE"):
        reply = client.cmd(command)
        assert reply.status == "NO" and "connectez-vous" in reply.text


def test_commands_of_the_wrong_state_after_sign_in(session):
    assert session.cmd('AUTHENTICATE "PLAIN" "AGEAYg=="').status == "NO"
    assert session.cmd("STARTTLS").status == "NO"


def test_over_long_line_is_refused_and_the_session_goes_on(session):
    reply = session.cmd(b'NOOP "' + b"x" * (server.MAX_LINE + 10) + b'"')
    assert reply.status == "NO"
    assert session.cmd("NOOP").ok


def test_endless_line_drops_the_client(connect):
    client = connect()
    chunk = b"x" * 65536
    try:
        for _ in range(server.MAX_DISCARD // len(chunk) + 4):
            client.send(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # dropped while we were still sending
    try:
        rest = client.file.read()  # a timeout here (the server still reading) fails the test
    except ConnectionResetError:
        rest = b""
    assert rest == b"" or rest.startswith(b"BYE")


def test_big_literal_before_sign_in_is_refused(connect):
    client = connect()
    reply = client.cmd(b"CHECKSCRIPT " + literal(b"#" * (server.MAX_PREAUTH_LITERAL + 1)))
    assert reply.status == "NO"
    assert client.cmd("NOOP").ok


def test_huge_literal_announcement_ends_the_connection(session):
    session.send(b'PUTSCRIPT "a" {999999999+}\r\n')
    reply = session.read_reply()
    assert reply.status == "BYE"
    assert session.file.read() == b""


def test_too_many_connections_from_one_address(sieve_server, monkeypatch):
    monkeypatch.setattr(server, "MAX_CONNECTIONS_PER_IP", 2)
    held = [socket.create_connection((sieve_server.host, sieve_server.port)) for _ in range(2)]
    try:
        for sock in held:
            sock.settimeout(10)
            lines = sock.makefile("rb")
            while not (line := lines.readline()).startswith(b"OK"):
                assert line, "greeting cut short"
        third = socket.create_connection((sieve_server.host, sieve_server.port), timeout=10)
        greeting = third.makefile("rb").readline()
        assert greeting.startswith(b"BYE (TRYLATER)")
        third.close()
    finally:
        for sock in held:
            sock.close()


def test_idle_client_is_told_bye_and_dropped(connect, monkeypatch):
    monkeypatch.setattr(server, "PREAUTH_TIMEOUT_SECONDS", 0.5)
    client = connect()
    bye = client.read_reply()  # sent nothing: the server gives up on us
    assert bye.status == "BYE" and "inactivité" in bye.text
    assert client.file.read() == b""
