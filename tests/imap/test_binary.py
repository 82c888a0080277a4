"""BINARY (RFC 3516): FETCH BINARY[] and BINARY.SIZE undo the transfer
encoding; data holding NUL comes back as a literal8, and APPEND takes one, so
a binary part survives byte for byte."""

from __future__ import annotations

import base64

from tests.imap.helpers import deliver_to

PAYLOAD = b"\x00\x01zero\r\rbare CR\nbare LF\x00\xff" * 3


def _message(encoding: str, body: bytes) -> bytes:
    head = (
        b"From: a@x.fr\r\nTo: b@y.fr\r\nSubject: binaire\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nTexte.\r\n'
        b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: "
    )
    return head + encoding.encode() + b"\r\n\r\n" + body + b"\r\n--b--\r\n"


def test_fetch_binary_decodes_base64_and_sends_literal8(session, user):
    """RFC 3516 §4.2: BINARY[2] is the decoded part, a literal8 since it holds NUL;
    §4.3: BINARY.SIZE[2] its decoded size; BINARY.PEEK sets no \\Seen."""
    deliver_to(user, _message("base64", base64.encodebytes(PAYLOAD).replace(b"\n", b"\r\n").rstrip()))
    assert b"BINARY" in session.cmd("CAPABILITY").untagged[0]
    assert session.cmd("SELECT INBOX").ok
    size = session.cmd("FETCH 1 (BINARY.SIZE[2])")
    assert size.untagged == [b"* 1 FETCH (BINARY.SIZE[2] %d)\r\n" % len(PAYLOAD)]
    fetched = session.cmd("FETCH 1 (BINARY.PEEK[2])").untagged
    assert fetched == [b"* 1 FETCH (BINARY[2] ~{%d}\r\n" % len(PAYLOAD) + PAYLOAD + b")\r\n"]
    partial = session.cmd("FETCH 1 (BINARY.PEEK[2]<2.4>)").untagged
    assert partial == [b"* 1 FETCH (BINARY[2]<2> {4}\r\nzero)\r\n"]
    text = session.cmd("FETCH 1 (BINARY.PEEK[1] FLAGS)").untagged
    assert text == [b"* 1 FETCH (BINARY[1] {6}\r\nTexte. FLAGS (\\Recent))\r\n"]
    seen = session.cmd("FETCH 1 (BINARY[1])").untagged
    assert b"\\Seen" in seen[0]


def test_fetch_binary_unknown_encoding_and_bad_sections(session, user):
    """RFC 3516 §4.3: an encoding the server cannot undo is NO [UNKNOWN-CTE];
    §4.1: only part numbers in a BINARY section."""
    deliver_to(user, _message("x-inconnu", b"abc"))
    assert session.cmd("SELECT INBOX").ok
    refused = session.cmd("FETCH 1 (BINARY.PEEK[2])")
    assert refused.status == "NO" and b"[UNKNOWN-CTE]" in refused.tagged
    assert session.cmd("FETCH 1 (BINARY[1.TEXT])").status == "BAD"
    assert session.cmd("FETCH 1 (BINARY.SIZE[1]<0.3>)").status == "BAD"
    assert session.cmd("FETCH 1 (BINARY.PEEK[9])").untagged == [b"* 1 FETCH (BINARY[9] {0}\r\n)\r\n"]


def test_append_literal8_round_trip(session):
    """RFC 3516 §4.4: APPEND of a literal8 holding NUL and bare CR/LF, then BINARY[]
    and BODY[] give it back byte for byte."""
    raw = _message("binary", PAYLOAD)
    response = session.cmd(b"APPEND INBOX ~{%d+}\r\n" % len(raw) + raw)
    assert response.ok, response.tagged
    assert session.cmd("SELECT INBOX").ok
    assert session.cmd("FETCH 1 (BINARY.PEEK[2])").untagged == [
        b"* 1 FETCH (BINARY[2] ~{%d}\r\n" % len(PAYLOAD) + PAYLOAD + b")\r\n"
    ]
    whole = session.cmd("FETCH 1 (BINARY.PEEK[])").untagged
    assert whole == [b"* 1 FETCH (BINARY[] ~{%d}\r\n" % len(raw) + raw + b")\r\n"]


def test_no_nul_in_an_ordinary_literal(session):
    """RFC 3501 §9 CHAR8 excludes NUL: BODY[] of a message holding NUL sends
    0x80 in its place, the length unchanged; BINARY[] gives the NUL back."""
    raw = _message("binary", PAYLOAD)
    assert session.cmd(b"APPEND INBOX ~{%d+}\r\n" % len(raw) + raw).ok
    assert session.cmd("SELECT INBOX").ok
    body = session.cmd("FETCH 1 (BODY.PEEK[])").untagged
    assert body == [b"* 1 FETCH (BODY[] {%d}\r\n" % len(raw) + raw.replace(b"\0", b"\x80") + b")\r\n"]
    assert b"\0" not in body[0]
