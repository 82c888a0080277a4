"""Messages built to hurt a parser: many parts, deep nesting, 30 MB, and inputs that
are nothing but delimiters, header lines or blank lines. They must parse, exactly
where they are valid and within the documented limits where they are not. (No
timing assertions: bench/ measures; the test run's own duration is the guard.)"""

from __future__ import annotations

import base64
import os

from academail.mime import body_bytes, decode_part_body, find_part, parse_message
from academail.mime.parse import MAX_DEPTH, MAX_PARTS

from .invariants import check_invariants


def test_500_parts():
    parts = b"".join(
        b"--many\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(1, 501)
    )
    raw = b"Content-Type: multipart/mixed; boundary=many\r\n\r\n" + parts + b"--many--\r\n"
    msg = parse_message(raw)
    assert len(msg.root.children) == 500
    assert body_bytes(raw, find_part(msg.root, "500")) == b"part 500"
    assert body_bytes(raw, find_part(msg.root, "17")) == b"part 17"
    assert find_part(msg.root, "501") is None
    assert msg.defects == []
    check_invariants(raw, msg, decode=False)


def _nested_multiparts(levels: int) -> bytes:
    raw = b"Content-Type: text/plain\r\n\r\ninnermost text"
    for level in range(levels, 0, -1):
        boundary = b"level%d" % level
        raw = (
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n"
            b"--" + boundary + b"\r\n" + raw + b"\r\n--" + boundary + b"--\r\n"
        )
    return raw


def test_50_nested_multiparts():
    raw = _nested_multiparts(50)
    msg = parse_message(raw)
    innermost = find_part(msg.root, ".".join(["1"] * 50))
    assert innermost is not None and not innermost.children
    assert innermost.content_type == "text/plain"
    assert body_bytes(raw, innermost) == b"innermost text"
    assert msg.preview == "innermost text"
    assert msg.defects == []
    check_invariants(raw, msg)


def test_50_nested_messages():
    raw = b"Subject: level 50\r\n\r\ninnermost body\r\n"
    for level in range(49, 0, -1):
        raw = b"Subject: level %d\r\nContent-Type: message/rfc822\r\n\r\n" % level + raw
    msg = parse_message(raw)
    part = msg.root
    for level in range(1, 50):
        assert part.message is not None, level
        assert part.message.envelope.subject == f"level {level + 1}"
        part = part.message.root
    assert body_bytes(raw, part) == b"innermost body\r\n"
    deepest = find_part(msg.root, ".".join(["1"] * 50))
    assert deepest is part
    assert msg.defects == []
    check_invariants(raw, msg)


def test_nesting_beyond_the_limit_is_cut_with_a_defect():
    raw = _nested_multiparts(MAX_DEPTH + 50)
    msg = parse_message(raw)
    assert any("nesting deeper" in d for d in msg.defects)
    depth = 0
    part = msg.root
    while part.children:
        part = part.children[0]
        depth += 1
    assert depth == MAX_DEPTH
    assert part.content_type == "application/octet-stream"
    check_invariants(raw, msg, decode=False)


def test_part_count_is_capped():
    count = MAX_PARTS + 500
    raw = b"Content-Type: multipart/mixed; boundary=x\n\n" + b"--x\n\nx\n" * count + b"--x--\n"
    msg = parse_message(raw)
    assert len(msg.root.children) < MAX_PARTS
    assert any(f"more than {MAX_PARTS} parts" in d for d in msg.defects)
    check_invariants(raw, msg, decode=False)


def test_30_mb_message_with_base64_attachment():
    payload = os.urandom(22 * 1024 * 1024)
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    raw = (
        b"From: a@example.org\r\nSubject: big\r\n"
        b"Content-Type: multipart/mixed; boundary=big\r\n\r\n"
        b"--big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVoir la pi\xc3\xa8ce jointe.\r\n"
        b"--big\r\nContent-Type: application/octet-stream; name=data.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--big--\r\n"
    )
    assert len(raw) > 30 * 1000 * 1000
    msg = parse_message(raw)
    assert msg.preview == "Voir la pièce jointe."
    attachment = find_part(msg.root, "2")
    assert body_bytes(raw, attachment) == encoded[:-2]
    assert decode_part_body(raw, attachment) == payload
    (info,) = msg.attachments
    assert abs(info.size - len(payload)) <= 3
    assert msg.defects == []


def test_30_mb_of_delimiters_lines_and_headers():
    size = 30 * 1024 * 1024
    head = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    # Delimiters only: capped, not millions of parts.
    raw = head + b"--b\r\n" * (size // 5)
    msg = parse_message(raw)
    assert len(msg.root.children) < MAX_PARTS
    # Boundary candidates that never complete a delimiter line.
    raw = head + b"\n--bX" * (size // 5)
    assert parse_message(raw).root.content_type == "text/plain"
    # A header that never ends, and a body that is only blank lines.
    msg = parse_message(b"X-A: b\r\n" * (size // 8))
    assert msg.root.body_start == msg.root.end
    msg = parse_message(b"Subject: x\n" + b"\n" * size)
    assert msg.root.lines == size - 1
    # One enormous header line and one enormous word in an HTML body.
    msg = parse_message(b"Subject: " + b"=?utf-8?q?a?=" * (size // 26) + b"\r\n\r\n")
    assert msg.subject.startswith("aaaa")
    msg = parse_message(b"Content-Type: text/html\r\n\r\n" + b"<!--<script>" * (size // 24))
    assert msg.preview == ""
