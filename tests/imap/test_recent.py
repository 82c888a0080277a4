"""\\Recent (RFC 3501 §2.3.2): the first session to see a message gets it, for
that session only; EXAMINE sees it without taking it; SEARCH RECENT, NEW and
OLD, STATUS RECENT and the RECENT response follow (§6.4.4, §6.3.10, §7.3.2)."""

from __future__ import annotations

import re

from tests.imap.helpers import deliver_to


def numbers(response):
    (line,) = [u for u in response.untagged if u.startswith(b"* SEARCH")]
    return [int(n) for n in line.split()[2:] if n.isdigit()]


def recent(response) -> int:
    (m,) = response.find(rb"^\* (\d+) RECENT")
    return int(m.group(1))


def test_the_first_session_gets_recent_and_the_second_does_not(connect, user):
    deliver_to(user)
    deliver_to(user)
    first, second = connect(), connect()
    first.login(user)
    second.login(user)
    # STATUS and EXAMINE look without taking (§6.3.2: EXAMINE keeps \Recent).
    assert b"RECENT 2" in first.cmd("STATUS INBOX (RECENT MESSAGES)").untagged[0]
    assert recent(second.cmd("EXAMINE INBOX")) == 2
    assert b"\\Recent" in b"".join(second.cmd("FETCH 1:2 FLAGS").untagged)
    assert recent(first.cmd("SELECT INBOX")) == 2
    assert numbers(first.cmd("SEARCH RECENT")) == [1, 2]
    fetched = first.cmd("FETCH 1:2 (FLAGS)").untagged
    assert all(b"\\Recent" in line for line in fetched)
    first.cmd("STORE 1 +FLAGS.SILENT (\\Seen)")
    assert numbers(first.cmd("SEARCH NEW")) == [2]  # RECENT UNSEEN
    assert numbers(first.cmd("SEARCH OLD")) == []
    # Taken: a later SELECT, here or elsewhere, finds nothing recent.
    assert recent(second.cmd("SELECT INBOX")) == 0
    assert numbers(second.cmd("SEARCH RECENT")) == []
    assert numbers(second.cmd("SEARCH OLD")) == [1, 2]
    assert b"\\Recent" not in b"".join(second.cmd("FETCH 1:2 FLAGS").untagged)
    assert b"RECENT 0" in first.cmd("STATUS Envoy&AOk-s (RECENT)").untagged[0]


def test_new_mail_is_recent_for_the_session_told_first(connect, user):
    deliver_to(user)
    session = connect()
    session.login(user)
    assert recent(session.cmd("SELECT INBOX")) == 1
    deliver_to(user)
    noop = session.cmd("NOOP")
    assert b"* 2 EXISTS\r\n" in noop.untagged and recent(noop) == 2
    assert numbers(session.cmd("UID SEARCH RECENT")) == [1, 2]
    # \Recent cannot be stored by a client (§2.3.2) and never lands in the database.
    session.cmd("STORE 1 -FLAGS.SILENT (\\Recent)")
    other = connect()
    other.login(user)
    assert recent(other.cmd("SELECT INBOX")) == 0
    line = b"".join(other.cmd("FETCH 2 FLAGS").untagged)
    assert re.search(rb"FLAGS \(\)", line)
