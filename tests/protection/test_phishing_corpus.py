"""The French corpus under tests/data/protection: each lure raises its
warnings; legitimate outside mail (ministry newsletter, a parent, a town
hall) raises only the neutral "outside" banner; a colleague's mail raises
nothing. Then hostile input: bounded time, no crash."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from academail.mime.parse import parse_message
from academail.protection.authresults import Auth
from academail.protection.lookalike import imitated, skeleton
from academail.protection.phishing import analyse

pytestmark = pytest.mark.django_db  # a display name is looked up among the staff's names
CORPUS = Path(__file__).resolve().parent.parent / "data" / "protection"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus(name, make_account):
    # A colleague whose name, written without its accents and in capitals,
    # an outside sender borrows (lure-colleague-name).
    make_account("Hélène", "Martin")
    raw = (CORPUS / f"{name}.eml").read_bytes()
    findings = analyse(parse_message(raw), raw, Auth(present=True, spf="pass", dmarc="none"))
    codes = [w.code for w in findings.warnings]
    expected = EXPECTED[name]
    if "exact" in expected:
        assert codes == expected["exact"]
    else:
        assert set(expected["must"]) <= set(codes), codes
    assert findings.level == expected["level"]
    for warning in findings.warnings:
        assert warning.title and warning.detail  # every warning explains itself in French


def test_lookalikes():
    assert imitated("ac-dem0.fr") == "ac-demo.fr"  # replaced character
    assert imitated("ac-deemo.fr") == "ac-demo.fr"  # inserted
    assert imitated("ac-dmeo.fr") == "ac-demo.fr"  # swapped
    assert imitated("ac-demo.fr.example.com") == "ac-demo.fr"
    assert imitated("ac-demo-fr.com") == "ac-demo.fr"
    assert imitated("\u0430c-demo.fr") == "ac-demo.fr"  # Cyrillic a (TR39 skeleton)
    assert imitated("xn--c-demo-vwf.fr") in (None, "ac-demo.fr")  # a label that may not decode: no crash
    assert imitated("educati0n.gouv.fr") == "education.gouv.fr"  # the trusted list
    assert imitated("ac-demo.fr") is None and imitated("mail.ac-demo.fr") is None
    assert imitated("famille.example") is None and imitated("education.gouv.fr") is None
    assert skeleton("p\u0430ypal.com") == skeleton("paypal.com")


def test_authentication_failures_are_red():
    raw = (CORPUS / "legit-parent.eml").read_bytes()
    failed = analyse(parse_message(raw), raw, Auth(present=True, spf="fail", dmarc="fail", dmarc_policy="reject"))
    assert "AUTH_FAILED" in [w.code for w in failed.warnings] and failed.level == "danger"
    spoofed = analyse(parse_message(raw), raw, Auth(present=True), spoofed=True)
    assert "AUTH_ACADEMIE" in [w.code for w in spoofed.warnings]


def _html(body: str) -> bytes:
    return (
        "From: x@outside.example\r\nTo: julie.martin@ac-demo.fr\r\nSubject: test\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
    ).encode()


def test_hostile_input_is_bounded():
    # 100,000 links, a URL of several MB, undecodable IDNs: no crash, bounded work.
    many = "".join(f'<a href="http://192.0.2.{i % 250}/{i}">lien {i}</a>' for i in range(100_000))
    raw = _html(many)
    findings = analyse(parse_message(raw), raw, Auth())
    assert "LINK_IP" in [w.code for w in findings.warnings]
    assert len(findings.flagged_links) <= 50
    huge = _html('<a href="https://xn--zzzzzzz-' + "a" * 3_000_000 + '.example/">x</a><a href="https://xn--ls8h.xn--999/">y</a>')
    analyse(parse_message(huge), huge, Auth())


def test_zip_bomb_and_nested_archives_cost_nothing():
    # A 1 GB member compressed to a few KB: only the central directory is read.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zero.bin", b"\0" * (200 * 1024 * 1024))
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as nested:
            nested.writestr("deep.zip", b"PK\x03\x04")
        archive.writestr("nested.zip", inner.getvalue())
    from email.message import EmailMessage
    from email.policy import SMTP

    message = EmailMessage(policy=SMTP)
    message["From"] = "x@outside.example"
    message["Subject"] = "bombe"
    message.set_content("voir pièce jointe")
    message.add_attachment(buffer.getvalue(), maintype="application", subtype="zip", filename="donnees.zip")
    raw = message.as_bytes()
    findings = analyse(parse_message(raw), raw, Auth())
    assert [w.code for w in findings.warnings] == ["EXTERNAL"]
