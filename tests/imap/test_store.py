"""STORE (.SILENT, UNCHANGEDSINCE -> MODIFIED), COPY/MOVE (COPYUID), EXPUNGE, UID EXPUNGE, CLOSE."""

from __future__ import annotations

import re

from tests.imap.helpers import deliver_to


def selected_with(session, user, n):
    for _ in range(n):
        deliver_to(user)
    assert session.cmd("SELECT INBOX").ok


def test_store_modes_and_silent(session, user):
    selected_with(session, user, 3)
    added = session.cmd("STORE 1:2 +FLAGS (\\Flagged $Urgent)")
    assert added.untagged == [
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Urgent)\r\n",  # new keyword (RFC 3501 §7.2.6)
        # \Recent: this session selected them first (RFC 3501 §2.3.2).
        b"* 1 FETCH (FLAGS (\\Flagged $Urgent \\Recent))\r\n", b"* 2 FETCH (FLAGS (\\Flagged $Urgent \\Recent))\r\n",
    ]
    removed = session.cmd("UID STORE 2 -FLAGS (\\Flagged)")
    assert removed.untagged == [b"* 2 FETCH (UID 2 FLAGS ($Urgent \\Recent))\r\n"]
    assert session.cmd("STORE 3 FLAGS.SILENT (\\Seen)").untagged == []
    assert b"FLAGS (\\Seen \\Recent)" in session.cmd("FETCH 3 FLAGS").untagged[0]
    assert session.cmd("STORE 1 +FLAGS (\\Bogus)").status == "BAD"
    status = session.cmd("STATUS INBOX (UNSEEN)").untagged[0]
    assert b"UNSEEN 2" in status


def test_unchangedsince_reports_modified(session, user):
    selected_with(session, user, 2)
    response = session.cmd("FETCH 1:2 MODSEQ")
    modseqs = [int(m.group(1)) for m in response.find(rb"MODSEQ \((\d+)\)")]
    session.cmd("STORE 2 +FLAGS (\\Answered)")
    conditional = session.cmd(f"STORE 1:2 (UNCHANGEDSINCE {max(modseqs)}) +FLAGS (\\Flagged)")
    assert b"[MODIFIED 2]" in conditional.tagged
    assert len(conditional.untagged) == 1 and b"\\Flagged" in conditional.untagged[0] and b"MODSEQ" in conditional.untagged[0]


def test_expunge_in_descending_order(session, user):
    selected_with(session, user, 5)
    session.cmd("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    response = session.cmd("EXPUNGE")
    assert response.untagged == [b"* 4 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"]
    uids = [m.group(1) for m in session.cmd("FETCH 1:* UID").find(rb"UID (\d+)")]
    assert uids == [b"1", b"3", b"5"]


def test_uid_expunge_only_given_uids(session, user):
    selected_with(session, user, 3)
    session.cmd("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    assert session.cmd("UID EXPUNGE 3").untagged == [b"* 3 EXPUNGE\r\n"]
    assert session.cmd("CLOSE").ok  # CLOSE expunges the rest silently
    assert b"MESSAGES 0" in session.cmd("STATUS INBOX (MESSAGES)").untagged[0]


def test_copy_and_move_with_copyuid(session, user):
    selected_with(session, user, 3)
    copied = session.cmd("COPY 1:2 Archives")
    assert re.search(rb"\[COPYUID \d+ 1:2 1:2\]", copied.tagged)
    moved = session.cmd("UID MOVE 2:3 Archives")
    assert moved.ok
    assert re.search(rb"\* OK \[COPYUID \d+ 2:3 3:4\]", moved.untagged[0])
    assert moved.untagged[1:] == [b"* 3 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"]
    assert b"MESSAGES 4" in session.cmd("STATUS Archives (MESSAGES)").untagged[0]
    missing = session.cmd("COPY 1 Inconnu")
    assert b"[TRYCREATE]" in missing.tagged


def test_move_with_qresync_reports_vanished(session, user):
    session.cmd("ENABLE QRESYNC")
    selected_with(session, user, 2)
    moved = session.cmd("MOVE 1 Archives")
    assert b"* VANISHED 1\r\n" in moved.untagged


def test_readonly_mailbox_refuses_changes(session, user):
    deliver_to(user)
    session.cmd("EXAMINE INBOX")
    assert session.cmd("STORE 1 +FLAGS (\\Seen)").status == "NO"
    assert session.cmd("EXPUNGE").status == "NO"
    assert session.cmd("UNSELECT").ok
