"""IDLE and concurrent sessions: changes by delivery and by other sessions are
pushed within a second, and EXPUNGE arrives only where RFC 3501 §7.4.1 allows."""

from __future__ import annotations

import time

from tests.imap.helpers import deliver_to


def test_idle_sees_delivery_within_a_second(session, user):
    session.cmd("SELECT INBOX")
    session.send(b"i IDLE\r\n")
    assert session.readline().startswith(b"+ ")
    started = time.monotonic()
    deliver_to(user)
    assert session.readline() == b"* 1 EXISTS\r\n"
    assert time.monotonic() - started < 1.0
    session.send(b"DONE\r\n")
    assert session.read_until("i").ok


def test_idle_sees_flag_changes_and_expunges_from_another_session(connect, session, user):
    deliver_to(user)
    deliver_to(user)
    session.cmd("SELECT INBOX")
    other = connect()
    other.login(user)
    other.cmd("SELECT INBOX")
    session.send(b"i IDLE\r\n")
    session.readline()
    # A change may be announced twice (an event and the catch-up read can both
    # see it: RFC 9051 lets a server repeat FETCH responses), never skipped.
    seen: list[bytes] = []

    def next_new_line() -> bytes:
        line = session.readline()
        while seen and line == seen[-1]:
            line = session.readline()
        seen.append(line)
        return line

    # \Recent: ``session`` selected the messages first (RFC 3501 §2.3.2), ``other`` second.
    other.cmd("STORE 1 +FLAGS (\\Flagged)")
    assert next_new_line() == b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))\r\n"
    other.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
    assert next_new_line() == b"* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent))\r\n"
    other.cmd("EXPUNGE")
    assert next_new_line() == b"* 2 EXPUNGE\r\n"
    session.send(b"DONE\r\n")
    assert session.read_until("i").ok


def test_expunge_by_another_session_waits_for_an_allowed_point(connect, session, user):
    for _ in range(3):
        deliver_to(user)
    session.cmd("SELECT INBOX")
    other = connect()
    other.login(user)
    other.cmd("SELECT INBOX")
    other.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
    other.cmd("EXPUNGE")
    time.sleep(0.2)
    # FETCH must not announce the expunge: numbers stay as the client knows them.
    fetched = session.cmd("FETCH 1:3 UID")
    assert not any(b"EXPUNGE" in line for line in fetched.untagged)
    assert [m.group(1) for m in fetched.find(rb"UID (\d+)")] == [b"1", b"3"]
    assert session.cmd("FETCH 3 UID").find(rb"\* 3 FETCH \(UID 3\)")
    searched = session.cmd("SEARCH ALL")
    assert not any(b"EXPUNGE" in line for line in searched.untagged)
    noop = session.cmd("NOOP")
    assert b"* 2 EXPUNGE\r\n" in noop.untagged
    assert [m.group(1) for m in session.cmd("FETCH 1:* UID").find(rb"UID (\d+)")] == [b"1", b"3"]


def test_new_mail_announced_after_a_command(session, user):
    session.cmd("SELECT INBOX")
    deliver_to(user)
    time.sleep(0.1)
    assert b"* 1 EXISTS\r\n" in session.cmd("NOOP").untagged


def test_idle_in_authenticated_state_and_bad_done(session):
    session.send(b"i IDLE\r\n")
    assert session.readline().startswith(b"+ ")
    session.send(b"NOTDONE\r\n")
    assert session.read_until("i").status == "BAD"


def test_many_idlers_share_resyncs_and_miss_nothing(connect, user):
    """Sessions in the same state share one changes query (session._RESYNCS);
    deliveries in quick succession still reach every one of them."""
    clients = []
    for _ in range(6):
        client = connect()
        client.login(user)
        client.cmd("SELECT INBOX")
        client.send(b"i IDLE\r\n")
        assert client.readline().startswith(b"+ ")
        clients.append(client)
    for _ in range(3):
        deliver_to(user)
    for client in clients:
        seen = b""
        while b"* 3 EXISTS" not in seen:
            line = client.readline()
            if line.endswith(b" RECENT\r\n"):  # follows each EXISTS (RFC 3501 §7.3.2)
                continue
            assert line.endswith(b" EXISTS\r\n"), line
            seen += line
        client.send(b"DONE\r\n")
        assert client.read_until("i").ok
        assert client.cmd("NOOP").ok
        assert client.cmd("UID SEARCH ALL").untagged == [b"* SEARCH 1 2 3\r\n"]
