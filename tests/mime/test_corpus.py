"""Every message of tests/data/messages parses, with the invariants of the part map,
and agrees with the stdlib parser where the message is well formed."""

from __future__ import annotations

import email
import email.policy

import pytest

from academail.mime import decode_part_body, iter_parts, parse_message

from .invariants import check_invariants, corpus_files

FILES = corpus_files()


def test_corpus_is_large_enough():
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_invariants(path):
    raw = path.read_bytes()
    check_invariants(raw, parse_message(raw))


# Well-formed messages on which an independent reading (the stdlib parser, with an
# explicit policy) must find the same leaves with the same decoded bodies.
WELL_FORMED = [
    "apple_mail_inline_image.eml",
    "bare_lf.eml",
    "boundary_prefix_nested.eml",
    "calendar_invite.eml",
    "french_subject_rfc2047.eml",
    "multipart_digest.eml",
    "nested_rfc822.eml",
    "outlook_winmail_like.eml",
    "quoted_printable_utf8.eml",
    "rfc2231_filename.eml",
]


def _stdlib_leaves(msg):
    for part in msg.walk():
        if not part.is_multipart():
            yield part.get_content_type(), part.get_payload(decode=True)


def _our_leaves(raw, root):
    for _, part in iter_parts(root):
        if part.children:
            continue
        if part.message is not None:
            continue  # the stdlib walks into it; so do we, below it
        yield part.content_type, decode_part_body(raw, part)


@pytest.mark.parametrize("name", WELL_FORMED)
def test_agrees_with_stdlib_parser(name):
    from .invariants import load

    raw = load(name)
    reference = email.message_from_bytes(raw, policy=email.policy.default)
    ours = list(_our_leaves(raw, parse_message(raw).root))
    theirs = list(_stdlib_leaves(reference))
    assert [t for t, _ in ours] == [t for t, _ in theirs]
    for (ctype, mine), (_, other) in zip(ours, theirs, strict=True):
        # The stdlib keeps a bare-LF text body as it is, like us; it may differ
        # only by the line end before a boundary, which RFC 2046 gives the delimiter.
        assert mine.rstrip(b"\r\n") == other.rstrip(b"\r\n"), ctype
