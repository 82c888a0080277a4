"""Removing attachments keeps every other byte: the headers, the text parts
and the small attachments are unchanged; each removed part becomes a text
note; the result is still a well-formed message that the stdlib reads; the
whole corpus goes through without breaking its invariants."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from academail.mime import parse_message
from academail.mime.strip import MARK_HEADER, strip_attachments

from .invariants import check_invariants, corpus_files

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 400  # ~100 KB once in base64
ICON = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def _note(removed) -> str:
    return f"Pièce jointe retirée : {removed.filename} ({removed.content_type}, {removed.size} octets)"


def _message() -> bytes:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = "direction@college-exemple.fr"
    message["To"] = "julie.martin@ac-demo.fr"
    message["Subject"] = "Compte rendu du conseil"
    message["Message-ID"] = "<cr-1@college-exemple.fr>"
    message.set_content("Bonjour,\n\nVoici le compte rendu.\n")
    message.add_alternative("<p>Bonjour,</p><p>Voici le compte rendu.</p>", subtype="html")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="compte-rendu.pdf")
    message.add_attachment(ICON, maintype="image", subtype="png", filename="logo.png")
    return message.as_bytes()


def test_large_attachment_becomes_a_note_and_the_rest_is_unchanged():
    raw = _message()
    lighter, removed = strip_attachments(raw, min_size=10_000, note=_note, mark="2026-12-07")
    assert [(r.filename, r.content_type) for r in removed] == [("compte-rendu.pdf", "application/pdf")]
    assert len(lighter) < len(raw) - 100_000
    assert lighter.startswith(f"{MARK_HEADER}: 2026-12-07\r\n".encode())

    before, after = parse_message(raw), parse_message(lighter)
    old_leaves = [p for p in before.root.walk() if not p.children]
    new_leaves = [p for p in after.root.walk() if not p.children]
    assert len(old_leaves) == len(new_leaves) == 4
    for old, new in zip(old_leaves, new_leaves, strict=True):
        if old.filename == "compte-rendu.pdf":
            assert new.content_type == "text/plain" and new.filename is None
            continue
        # text, HTML and the small logo: the same header and body bytes
        assert lighter[new.start:new.end] == raw[old.start:old.end]

    parsed = email.message_from_bytes(lighter, policy=email.policy.default)
    notes = [p for p in parsed.walk() if p.get_content_type() == "text/plain" and "retirée" in p.get_content()]
    assert notes and "compte-rendu.pdf (application/pdf" in notes[0].get_content()
    assert [p.get_filename() for p in parsed.iter_attachments()] == ["logo.png"]
    assert parsed["Subject"] == "Compte rendu du conseil"


def test_nothing_large_enough_leaves_the_message_as_it_was():
    raw = _message()
    assert strip_attachments(raw, min_size=10_000_000, note=_note, mark="x") == (raw, [])


def test_a_message_that_is_one_attachment_keeps_it():
    message = EmailMessage()
    message["From"] = "scanner@college-exemple.fr"
    message["Subject"] = "Numérisation"
    message.set_content(PDF, maintype="application", subtype="pdf", disposition="attachment", filename="scan.pdf")
    raw = message.as_bytes()
    assert strip_attachments(raw, min_size=1, note=_note, mark="x") == (raw, [])


def test_an_embedded_message_goes_whole():
    inner = EmailMessage()
    inner["From"] = "a@exemple.fr"
    inner["Subject"] = "Transféré"
    inner.set_content("texte " * 5000)
    outer = EmailMessage()
    outer["From"] = "b@exemple.fr"
    outer["Subject"] = "Tr: Transféré"
    outer.set_content("Je vous transfère ce message.")
    outer.add_attachment(inner)
    lighter, removed = strip_attachments(outer.as_bytes(), min_size=1000, note=_note, mark="x")
    assert [r.content_type for r in removed] == ["message/rfc822"]
    assert b"texte texte" not in lighter and b"Je vous transf" in lighter


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_stays_well_formed(path):
    raw = path.read_bytes()
    lighter, removed = strip_attachments(raw, min_size=1, note=_note, mark="x")
    check_invariants(lighter, parse_message(lighter))
    if removed:
        assert lighter != raw
