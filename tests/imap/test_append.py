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


def test_multiappend_rfc3502_example(session):
    """RFC 3502 §6.3.11's example: two messages in one APPEND, the second with
    its own flags; APPENDUID gives both UIDs as a uid-set (RFC 4315 §3)."""
    first = build_message(subject="afternoon meeting")
    second = build_message(subject="afternoon meeting 2")
    assert b"MULTIAPPEND" in session.cmd("CAPABILITY").untagged[0]
    session.send(b'a APPEND saved-messages (\\Seen) {%d}\r\n' % len(first))
    assert session.readline().startswith(b"+ ")
    session.send(first + b' (\\Seen) " 7-Feb-1994 22:43:04 -0800" {%d}\r\n' % len(second))
    assert session.readline().startswith(b"+ ")
    session.send(second + b"\r\n")
    response = session.read_until("a")
    assert response.status == "NO" and b"[TRYCREATE]" in response.tagged  # no such mailbox yet
    assert session.cmd("CREATE saved-messages").ok
    response = session.cmd(
        b'APPEND saved-messages (\\Seen) {%d+}\r\n' % len(first) + first
        + b' (\\Seen $Important) " 7-Feb-1994 22:43:04 -0800" {%d+}\r\n' % len(second) + second
    )
    assert response.ok and re.search(rb"\[APPENDUID \d+ 1:2\]", response.tagged)
    session.cmd("EXAMINE saved-messages")
    fetched = session.cmd("FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[])").untagged
    assert fetched[0].endswith(first + b")\r\n")
    # The same instant, shown in the server's time zone (Europe/Paris).
    assert b"$Important" in fetched[1] and b'INTERNALDATE "08-Feb-1994 07:43:04 +0100"' in fetched[1]
    assert fetched[1].endswith(second + b")\r\n")


def test_multiappend_is_all_or_nothing(session, user):
    """RFC 3502 §6.3.11: "If the server is unable to append all of the messages,
    then none of them are appended": the second over quota undoes the first."""
    user.quota_bytes = 4000
    user.save()
    small = build_message(body="court")
    big = build_message(body="x" * 5000)
    response = session.cmd(b"APPEND INBOX {%d+}\r\n" % len(small) + small + b" {%d+}\r\n" % len(big) + big)
    assert response.status == "NO" and b"[OVERQUOTA]" in response.tagged
    assert b"MESSAGES 0" in session.cmd("STATUS INBOX (MESSAGES)").untagged[0]
    empty = session.cmd(b"APPEND INBOX {%d+}\r\n" % len(small) + small + b" {0+}\r\n")
    assert empty.status == "NO" and b"MESSAGES 0" in session.cmd("STATUS INBOX (MESSAGES)").untagged[0]
    assert session.cmd(b"APPEND INBOX {%d+}\r\n" % len(small) + small + b" junk").status == "BAD"


def test_catenate_rfc4469_example(session, user):
    """RFC 4469 §5: a message built from a URL to a message already here (its
    header, its first part) and TEXT literals; §6: a URL naming nothing this
    account may read, or another server or user (absolute), is NO [BADURL]."""
    from tests.imap.helpers import deliver_to

    deliver_to(user, build_message(subject="Original"))
    (match,) = session.cmd("STATUS INBOX (UIDVALIDITY)").find(rb"UIDVALIDITY (\d+)")
    validity = int(match.group(1))
    text = b"Nouveau corps.\r\n"
    response = session.cmd(
        b'APPEND Brouillons (\\Seen \\Draft) CATENATE (URL "/INBOX;UIDVALIDITY=%d/;UID=1/;section=HEADER"'
        b" TEXT {%d+}\r\n" % (validity, len(text)) + text
        + b' URL "/INBOX/;UID=1/;SECTION=1")'
    )
    assert response.ok and re.search(rb"\[APPENDUID \d+ 1\]", response.tagged), response.tagged
    session.cmd("EXAMINE INBOX")
    original = session.cmd("FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[1])").untagged[0]
    header = re.search(rb"BODY\[HEADER\] \{(\d+)\}\r\n", original)
    assert header is not None
    header_bytes = original[header.end() : header.end() + int(header.group(1))]
    first = re.search(rb"BODY\[1\] \{(\d+)\}\r\n", original)
    assert first is not None
    first_bytes = original[first.end() : first.end() + int(first.group(1))]
    session.cmd("EXAMINE Brouillons")
    built = session.cmd("FETCH 1 (BODY.PEEK[])").untagged[0]
    assert built.endswith(header_bytes + text + first_bytes + b")\r\n")
    for url in (
        b"/INBOX;UIDVALIDITY=%d/;UID=1" % (validity + 1),
        b"/INBOX/;UID=99",
        b"/Inconnu/;UID=1",
        b"imap://autre@ailleurs.fr/INBOX/;UID=1",
        b"/INBOX/;UID=1/;SECTION=7",
    ):
        refused = session.cmd(b'APPEND Brouillons CATENATE (URL "%s")' % url)
        assert refused.status == "NO" and b"[BADURL" in refused.tagged, (url, refused.tagged)
    assert session.cmd(b"APPEND Brouillons CATENATE (FOO {1+}\r\nx)").status == "BAD"


@override_settings(MAX_MESSAGE_SIZE=1000)
def test_catenate_over_appendlimit(session, user):
    """RFC 4469 §5 with RFC 7889: URLs adding up past APPENDLIMIT are NO [TOOBIG]."""
    from tests.imap.helpers import deliver_to

    deliver_to(user, build_message(body="x" * 400))
    urls = b" ".join([b'URL "/INBOX/;UID=1"'] * 3)
    refused = session.cmd(b"APPEND Brouillons CATENATE (%s)" % urls)
    assert refused.status == "NO" and b"[TOOBIG]" in refused.tagged
    assert session.cmd(b'APPEND Brouillons CATENATE (URL "/INBOX/;UID=1")').ok
