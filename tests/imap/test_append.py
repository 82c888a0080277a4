"""APPEND: flags, date, APPENDUID, APPENDLIMIT and literals, [OVERQUOTA], TRYCREATE."""

from __future__ import annotations

import re

from django.test import override_settings

from tests.conftest import build_message


def test_append_with_flags_and_date(session):
    raw = build_message(subject="Brouillon")
    response = session.cmd(b'APPEND Brouillons (\\Draft \\Seen $Important) "05-Sep-2024 11:00:00 +0200" {%d+}\r\n' % len(raw) + raw)
    assert response.ok and re.search(rb"\[APPENDUID \d+ 1\]", response.tagged)
    session.cmd("SELECT Brouillons")
    fetched = session.cmd("FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])").untagged[0]
    # \Recent too: this session is the first to select the new message (RFC 3501 §2.3.2).
    assert b"FLAGS (\\Seen \\Draft $Important \\Recent)" in fetched
    assert b'INTERNALDATE "05-Sep-2024 11:00:00 +0200"' in fetched
    assert b"RFC822.SIZE %d" % len(raw) in fetched and fetched.endswith(raw + b")\r\n")


def test_append_synchronising_literal(session):
    raw = build_message()
    session.send(b"a APPEND INBOX {%d}\r\n" % len(raw))
    assert session.readline().startswith(b"+ ")
    session.send(raw + b"\r\n")
    assert session.read_until("a").ok


def test_append_too_big_is_refused_before_reading(session):
    session.send(b"a APPEND INBOX {2147483648}\r\n")
    reply = session.readline()
    assert reply.startswith(b"a NO [TOOBIG]")
    assert session.cmd("NOOP").ok  # the connection goes on, no literal was expected


def test_append_over_quota_and_missing_mailbox(session, user):
    user.quota_bytes = 1000
    user.save()
    raw = build_message(body="x" * 5000)
    response = session.cmd(b"APPEND INBOX {%d+}\r\n" % len(raw) + raw)
    assert response.status == "NO" and b"[OVERQUOTA]" in response.tagged
    missing = session.cmd(b"APPEND Inconnu {3+}\r\nabc")
    assert missing.status == "NO" and b"[TRYCREATE]" in missing.tagged


@override_settings(MAX_MESSAGE_SIZE=1000)
def test_appendlimit_advertised(session):
    assert b"APPENDLIMIT=1000" in session.cmd("CAPABILITY").untagged[0]
    response = session.cmd(b"APPEND INBOX {2000+}\r\n" + b"x" * 2000)
    assert response.status == "BAD" and b"TOOBIG" in response.tagged
