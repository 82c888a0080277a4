"""Checks that hold for the parse of any input, shared by the corpus, pathological
and fuzz tests."""

from __future__ import annotations

import json
from pathlib import Path

from academail.mime import (
    Envelope,
    ParsedMessage,
    Part,
    body_bytes,
    decode_part_body,
    find_part,
    header_bytes,
    iter_parts,
    part_text,
)
from academail.mime.parse import PREVIEW_CHARS, SEARCH_TEXT_BYTES

CORPUS = Path(__file__).resolve().parent.parent / "data" / "messages"


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.eml"))


def load(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def check_offsets(part: Part, low: int, high: int) -> None:
    assert low <= part.start <= part.body_start <= part.end <= high, part
    previous = part.body_start
    for child in part.children:
        assert child.start >= previous, (part.section, child.section)
        previous = child.end
        check_offsets(child, part.body_start, part.end)
    if part.message is not None:
        inner = part.message.root
        assert (inner.start, inner.end) == (part.body_start, part.end)
        check_offsets(inner, part.body_start, part.end)


def check_invariants(raw: bytes, msg: ParsedMessage, *, decode: bool = True) -> None:
    root = msg.root
    assert root.section == ""
    assert (root.start, root.end) == (0, len(raw))
    check_offsets(root, 0, len(raw))
    assert not [d for d in msg.defects if d.startswith("internal error")], msg.defects

    # The part map survives the JSON the store keeps it as.
    assert Part.from_json(msg.structure_json()) == root
    assert Envelope.from_dict(json.loads(json.dumps(msg.envelope.to_dict()))) == msg.envelope

    for section, part in iter_parts(root):
        found = find_part(root, section)
        if part.children:
            # A multipart is listed under its own prefix, which names its container.
            assert found is not None
        else:
            assert found is part, section
        assert header_bytes(raw, part) + body_bytes(raw, part) == raw[part.start : part.end]
        head = header_bytes(raw, part)
        assert head == b"" or head.endswith(b"\n") or part.body_start == part.end
        if decode:
            decode_part_body(raw, part)
            part_text(raw, part)

    # Everything the store writes to text columns is valid UTF-8 without NUL.
    texts = [msg.subject, msg.preview, msg.search_text, msg.thread_key]
    texts += [a.name for a in msg.from_ + msg.to + msg.cc + msg.bcc + msg.reply_to]
    texts += [a.filename or "" for a in msg.attachments]
    texts.append(msg.structure_json())
    for text in texts:
        text.encode("utf-8")
        assert "\x00" not in text
    assert len(msg.preview) <= PREVIEW_CHARS
    assert len(msg.search_text.encode("utf-8")) <= SEARCH_TEXT_BYTES
    assert msg.date is None or msg.date.tzinfo is not None
    assert msg.thread_key[:2] in ("m:", "s:", "u:")
