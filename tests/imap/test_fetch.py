"""FETCH: ENVELOPE, BODYSTRUCTURE and body sections read from the part map and
the blob (prefix first), partial fetches, \\Seen on non-PEEK, CHANGEDSINCE."""

from __future__ import annotations

import re

from tests.conftest import build_message
from tests.imap.helpers import corpus, deliver_to

NESTED_BODYSTRUCTURE = (
    b'(("TEXT" "PLAIN" ("charset" "utf-8") NIL NIL "7BIT" 16 1 NIL NIL NIL NIL)'
    b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" %(size)d '
    b'("Thu, 5 Sep 2024 11:00:00 +0000" "=?utf-8?q?Le_message_d=27origine?=" '
    b'(("Original Sender" NIL "orig" "example.com")) (("Original Sender" NIL "orig" "example.com")) '
    b'(("Original Sender" NIL "orig" "example.com")) ((NIL NIL "someone" "example.com")) NIL NIL NIL "<orig@example.com>") '
    b'(("TEXT" "PLAIN" ("charset" "utf-8") NIL NIL "7BIT" 16 1 NIL NIL NIL NIL)'
    b'("TEXT" "HTML" ("charset" "utf-8") NIL NIL "7BIT" 23 1 NIL NIL NIL NIL) "ALTERNATIVE" ("boundary" "inner") NIL NIL NIL) '
    b'%(lines)d NIL ("attachment" ("filename" "origine.eml")) NIL NIL) "MIXED" ("boundary" "outer") NIL NIL NIL)'
)


def select_with(session, user, *raws):
    for raw in raws:
        deliver_to(user, raw)
    assert session.cmd("SELECT INBOX").ok


def test_bodystructure_and_sections_of_nested_message(session, user):
    raw = corpus("nested_rfc822.eml")
    select_with(session, user, raw)
    response = session.cmd("FETCH 1 (BODYSTRUCTURE BODY.PEEK[2.2] BODY.PEEK[2.1] BODY.PEEK[2.HEADER.FIELDS (Subject)])")
    line = response.untagged[0]
    # The embedded message runs from its first header to the line end before "--outer--"
    # (RFC 2046 §5.1.1: that line end belongs to the delimiter).
    embedded = raw[raw.index(b"From: Original Sender") : re.search(rb"\r?\n--outer--", raw).start()]
    lines = embedded.count(b"\n") + (0 if embedded.endswith(b"\n") else 1)
    assert NESTED_BODYSTRUCTURE % {b"size": len(embedded), b"lines": lines} in line
    html = b"<p>Texte d'origine.</p>"
    assert b"BODY[2.2] {%d}\r\n%s" % (len(html), html) in line
    assert b"BODY[2.1] {16}\r\nTexte d'origine." in line
    subject = b"Subject: =?utf-8?q?Le_message_d=27origine?=\r\n\r\n"
    assert b"BODY[2.HEADER.FIELDS (SUBJECT)] {%d}\r\n%s" % (len(subject), subject) in line
    # BODY[2] is the whole embedded message, exactly as in the file.
    whole = session.cmd("FETCH 1 BODY.PEEK[2]").untagged[0]
    start = raw.index(b"From: Original Sender")
    end = re.search(rb"\r?\n--outer--", raw).start()
    assert whole.endswith(b"{%d}\r\n" % (end - start) + raw[start:end] + b")\r\n")


def test_apple_inline_image_part(session, user):
    raw = corpus("apple_mail_inline_image.eml")
    select_with(session, user, raw)
    line = session.cmd("FETCH 1 (BODY.PEEK[2.2] BODY.PEEK[2.2.MIME] BODYSTRUCTURE)").untagged[0]
    image_header_end = re.compile(rb"\r?\n\r?\n").search(raw, raw.index(b"Content-Type: image/png")).end()
    image = raw[image_header_end : raw.index(b"\n--", image_header_end)]
    image = image[:-1] if image.endswith(b"\r") else image
    assert b"BODY[2.2] {%d}\r\n" % len(image) + image in line
    assert re.search(rb'\("IMAGE" "PNG" \([^)]*\) "<[^>]+>" NIL "BASE64" %d NIL' % len(image), line)
    assert b'"RELATED"' in line and b'"ALTERNATIVE"' in line


def test_body_sections_include_delivery_prefix(session, user):
    raw = build_message(subject="Préfixe")
    select_with(session, user, raw)
    line = session.cmd("FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[]<0.10>)").untagged[0]
    size = int(re.search(rb"RFC822.SIZE (\d+)", line).group(1))
    whole = re.search(rb"BODY\[\] \{(\d+)\}\r\n", line)
    assert int(whole.group(1)) == size  # the delivery prefix counts (none here: deliver() adds none)
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert b"BODY[TEXT] {%d}\r\n" % len(body) + body in line
    assert b"BODY[]<0> {10}\r\n" + raw[:10] in line


def test_partial_and_missing_parts(session, user):
    select_with(session, user, build_message(body="0123456789" * 10))
    line = session.cmd("FETCH 1 (BODY.PEEK[1]<5.10> BODY.PEEK[9] BODY.PEEK[1]<5000.10>)").untagged[0]
    assert b"BODY[1]<5> {10}\r\n5678901234" in line
    assert b"BODY[9] {0}\r\n" in line
    assert b"BODY[1]<5000> {0}\r\n" in line


def test_non_peek_fetch_sets_seen_and_examine_does_not(session, user):
    select_with(session, user, build_message(), build_message())
    # \Recent: this session selected the new messages first (RFC 3501 §2.3.2).
    assert b"FLAGS (\\Recent)" in session.cmd("FETCH 1 (FLAGS BODY.PEEK[HEADER])").untagged[0]
    line = session.cmd("FETCH 1 BODY[TEXT]").untagged[0]
    assert b"FLAGS (\\Seen \\Recent)" in line
    assert b"FLAGS (\\Seen \\Recent)" in session.cmd("FETCH 1 FLAGS").untagged[0]
    session.cmd("EXAMINE INBOX")  # a second look: nothing is \Recent any more
    line = session.cmd("FETCH 2 (BODY[TEXT])").untagged[0]
    assert b"FLAGS" not in line
    assert b"FLAGS ()" in session.cmd("FETCH 2 FLAGS").untagged[0]


def test_envelope_macros_and_uid_fetch(session, user):
    select_with(session, user, build_message(subject="Réunion \"parents\""), build_message())
    line = session.cmd("UID FETCH 2:* ALL").untagged
    assert len(line) == 1 and line[0].startswith(b"* 2 FETCH (UID 2 FLAGS (\\Recent)")
    envelope = session.cmd("FETCH 1 ENVELOPE").untagged[0]
    assert "Réunion".encode() in envelope or b"=?utf-8?" in envelope
    assert b'"direction" "college-exemple.fr"' in envelope
    # UID FETCH of UIDs that do not exist answers nothing, not an error.
    assert session.cmd("UID FETCH 100:200 FLAGS").untagged == []


def test_sequence_edge_cases(session, user):
    session.cmd("SELECT INBOX")
    empty = session.cmd("FETCH 1:* FLAGS")
    assert empty.ok and empty.untagged == []
    assert session.cmd("FETCH 1 FLAGS").status == "BAD"
    deliver_to(user)
    deliver_to(user)
    session.cmd("NOOP")
    backwards = session.cmd("FETCH *:1 UID")
    assert [m.group(1) for m in backwards.find(rb"UID (\d+)")] == [b"1", b"2"]
    assert session.cmd("FETCH 3 FLAGS").status == "BAD"
    assert session.cmd("FETCH 4294967296 FLAGS").status == "BAD"
    assert session.cmd("UID FETCH 4294967295 FLAGS").ok


def test_changedsince_and_modseq(session, user):
    select_with(session, user, build_message(), build_message())
    session.cmd("ENABLE CONDSTORE")
    modseq = int(session.cmd("FETCH 2 MODSEQ").find(rb"MODSEQ \((\d+)\)")[0].group(1))
    session.cmd("STORE 1 +FLAGS.SILENT (\\Flagged)")
    changed = session.cmd(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq})")
    assert len(changed.untagged) == 1 and b"\\Flagged" in changed.untagged[0] and b"MODSEQ (" in changed.untagged[0]
