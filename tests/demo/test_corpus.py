"""The demo corpus: deterministic, well-formed, threaded, varied French mail."""

from __future__ import annotations

import csv
import io
import re
import statistics
import struct
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from functools import cache

import pytest

from academail.demo.corpus import (
    DEMO_PEOPLE_SPEC,
    DemoMessage,
    DemoPerson,
    demo_people,
    generate_mailbox,
    make_ics,
    make_pdf,
    make_png,
)

NOW = datetime(2025, 3, 14, 10, 30, tzinfo=UTC)
SEED = 42
PARSER = BytesParser(policy=policy.default)


@cache
def _parse_raw(raw: bytes) -> EmailMessage:
    msg = PARSER.parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return msg


def parse(m: DemoMessage) -> EmailMessage:
    """Parsed once per distinct message; callers must not modify the result."""
    return _parse_raw(m.raw)


@pytest.fixture(scope="module")
def people() -> list[DemoPerson]:
    return demo_people("ac-demo.fr")


@pytest.fixture(scope="module")
def mailboxes(people: list[DemoPerson]) -> dict[str, list[DemoMessage]]:
    counts = [50, 70, 90, 120]
    return {
        p.address: generate_mailbox(p, people, counts[i % len(counts)], SEED, NOW)
        for i, p in enumerate(people)
    }


@pytest.fixture(scope="module")
def all_messages(mailboxes: dict[str, list[DemoMessage]]) -> list[DemoMessage]:
    return [m for box in mailboxes.values() for m in box]


# -- people -------------------------------------------------------------------------


def test_demo_people_addresses(people: list[DemoPerson]) -> None:
    addresses = [p.address for p in people]
    assert len(addresses) == len(set(addresses)) == len(DEMO_PEOPLE_SPEC)
    assert "jean-pierre.delafontaine@ac-demo.fr" in addresses
    assert "aissatou.ndiaye@ac-demo.fr" in addresses
    assert "yann.legall@ac-demo.fr" in addresses
    assert "helene.berard@ac-demo.fr" in addresses
    assert addresses.index("julie.martin@ac-demo.fr") < addresses.index("julie.martin1@ac-demo.fr")
    for address in addresses:
        assert re.fullmatch(r"[a-z0-9-]+\.[a-z0-9-]+@ac-demo\.fr", address), address


def test_demo_people_cover_roles_and_hard_names(people: list[DemoPerson]) -> None:
    assert {p.role for p in people} == {"staff", "secretariat", "support", "admin"}
    names = Counter((p.first_name, p.last_name) for p in people)
    assert max(names.values()) >= 2  # homonyms
    assert any("-" in p.first_name for p in people)
    assert any(" " in p.last_name for p in people)
    assert any("'" in p.last_name for p in people)
    assert any(not p.first_name.isascii() for p in people)


# -- determinism and shape ------------------------------------------------------------


def test_deterministic(people: list[DemoPerson]) -> None:
    a = generate_mailbox(people[0], people, 80, 7, NOW)
    b = generate_mailbox(people[0], people, 80, 7, NOW)
    assert a == b
    c = generate_mailbox(people[0], people, 80, 8, NOW)
    assert [m.raw for m in a] != [m.raw for m in c]
    d = generate_mailbox(people[1], people, 80, 7, NOW)
    assert [m.raw for m in a] != [m.raw for m in d]


@pytest.mark.parametrize("count", [0, 1, 2, 5, 17, 60, 150])
def test_exact_count(people: list[DemoPerson], count: int) -> None:
    assert len(generate_mailbox(people[2], people, count, SEED, NOW)) == count


def test_works_without_colleagues(people: list[DemoPerson]) -> None:
    box = generate_mailbox(people[0], [], 40, SEED, NOW)
    assert len(box) == 40
    for m in box:
        assert not parse(m).defects


def test_total_volume(all_messages: list[DemoMessage]) -> None:
    assert len(all_messages) >= 300


def test_folders(people: list[DemoPerson], mailboxes: dict[str, list[DemoMessage]]) -> None:
    for person in people:
        box = mailboxes[person.address]
        folders = Counter(m.folder for m in box)
        for expected in ("inbox", "sent", "trash", "junk", "archive",
                         "Réunions", "Parents", "Direction", "Élèves/3eB"):
            assert folders[expected] >= 1, (person.address, expected, folders)
        assert 1 <= folders["drafts"] <= 3
        assert folders["junk"] >= 3
        assert folders["trash"] >= 2
        assert folders["inbox"] >= len(box) // 4


def test_sent_and_drafts_are_from_owner(people: list[DemoPerson],
                                        mailboxes: dict[str, list[DemoMessage]]) -> None:
    for person in people:
        for m in mailboxes[person.address]:
            sender = parse(m)["From"].addresses[0].addr_spec
            if m.folder in ("sent", "drafts"):
                assert sender == person.address
                assert m.seen
            else:
                assert sender != person.address
            assert m.draft == (m.folder == "drafts")


# -- well-formedness ------------------------------------------------------------------


def test_crlf_only(all_messages: list[DemoMessage]) -> None:
    for m in all_messages:
        assert b"\n" not in m.raw.replace(b"\r\n", b"")
        assert b"\r" not in m.raw.replace(b"\r\n", b"")
        assert m.raw.endswith(b"\r\n")


def test_parses_without_defects(all_messages: list[DemoMessage]) -> None:
    for m in all_messages:
        msg = parse(m)
        for part in msg.walk():
            assert not part.defects, (part.defects, m.raw[:400])
            for name, value in part.items():
                assert not getattr(value, "defects", ()), (name, value)
            if not part.is_multipart() and part.get_content_maintype() != "message":
                part.get_content()  # decodes: charset and transfer encoding are right
        for header in ("Message-ID", "Date", "From", "To", "Subject"):
            assert msg[header], header
        assert len(msg["From"].addresses) == 1
        assert msg["To"].addresses


def test_headers_are_ascii_with_rfc2047(all_messages: list[DemoMessage]) -> None:
    headers = [m.raw.split(b"\r\n\r\n", 1)[0] for m in all_messages]
    for head in headers:
        head.decode("ascii")
    assert any(b"Subject: =?utf-8?" in h or b"Subject:" in h and b"=?utf-8?" in h for h in headers)
    subjects = [str(parse(m)["Subject"]) for m in all_messages]
    assert any("é" in s for s in subjects)


def test_dates(all_messages: list[DemoMessage]) -> None:
    for m in all_messages:
        assert m.internaldate.tzinfo is not None
        assert NOW - timedelta(days=190) <= m.internaldate <= NOW
        date = parsedate_to_datetime(str(parse(m)["Date"]))
        assert date <= m.internaldate <= date + timedelta(minutes=5)
    months = {(m.internaldate.year, m.internaldate.month) for m in all_messages}
    assert len(months) >= 6


def test_message_ids_unique(mailboxes: dict[str, list[DemoMessage]]) -> None:
    for box in mailboxes.values():
        ids = [str(parse(m)["Message-ID"]) for m in box]
        assert len(ids) == len(set(ids))
        for mid in ids:
            assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", mid), mid


def test_size(all_messages: list[DemoMessage]) -> None:
    sizes = [len(m.raw) for m in all_messages]
    assert statistics.median(sizes) < 50_000
    assert max(sizes) < 200_000


# -- flags ------------------------------------------------------------------------------


def test_flags_mix(mailboxes: dict[str, list[DemoMessage]]) -> None:
    for box in mailboxes.values():
        inboxish = [m for m in box if m.folder not in ("sent", "drafts", "trash", "junk")]
        assert any(not m.seen for m in inboxish)
        old = [m for m in inboxish if m.internaldate < NOW - timedelta(days=30)]
        assert sum(m.seen for m in old) > 0.8 * len(old)
        assert any(m.answered for m in box)
        assert not any(m.flagged for m in box if m.folder in ("junk", "trash", "drafts"))
    all_msgs = [m for box in mailboxes.values() for m in box]
    assert any(m.flagged for m in all_msgs)
    recent = [m for m in all_msgs if m.internaldate > NOW - timedelta(days=2)
              and m.folder not in ("sent", "drafts")]
    assert recent and sum(not m.seen for m in recent) > len(recent) / 2


# -- threads ------------------------------------------------------------------------------


def test_threads_consistent(mailboxes: dict[str, list[DemoMessage]]) -> None:
    replies = 0
    for box in mailboxes.values():
        parsed = [(m, parse(m)) for m in box]
        by_id = {str(msg["Message-ID"]): (m, msg) for m, msg in parsed}
        for m, msg in parsed:
            parent_id = msg["In-Reply-To"]
            if parent_id is None:
                assert msg["References"] is None
                continue
            replies += 1
            refs = str(msg["References"]).split()
            assert refs[-1] == str(parent_id)
            assert all(r in by_id for r in refs)
            parent_m, parent = by_id[str(parent_id)]
            assert str(parent.get("References", "")).split() + [str(parent_id)] == refs
            subject = str(msg["Subject"])
            assert re.match(r"(?i)re: ", subject)
            assert subject[4:] == re.sub(r"(?i)^(re|tr): ", "", str(parent["Subject"]))
            assert parsedate_to_datetime(str(msg["Date"])) >= parsedate_to_datetime(str(parent["Date"]))
            if m.folder == "sent":
                assert parent_m.answered
    assert replies >= 50


def test_forwards(all_messages: list[DemoMessage]) -> None:
    inline = attached = 0
    for m in all_messages:
        msg = parse(m)
        if not str(msg["Subject"]).startswith("TR: "):
            continue
        body = msg.get_body(("plain",))
        assert body is not None
        if "Message transféré" in body.get_content():
            inline += 1
        for part in msg.iter_attachments():
            if part.get_content_type() == "message/rfc822":
                attached += 1
                inner = part.get_content()
                assert inner["Message-ID"] and inner["Subject"]
                assert str(msg["Subject"]) == "TR: " + str(inner["Subject"])
                assert part.get_filename().endswith(".eml")
    assert inline >= 5 and attached >= 5


# -- content ----------------------------------------------------------------------------


def _attachments(all_messages: list[DemoMessage]) -> list[tuple[str, str, bytes]]:
    found = []
    for m in all_messages:
        for part in parse(m).iter_attachments():
            if part.get_content_maintype() != "message":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                found.append((part.get_content_type(), part.get_filename() or "", payload))
    return found


def test_attachments_are_real_files(all_messages: list[DemoMessage]) -> None:
    found = _attachments(all_messages)
    kinds = Counter(t for t, _, _ in found)
    for kind in ("application/pdf", "text/csv", "image/png", "text/calendar"):
        assert kinds[kind] >= 3, kinds
    for ctype, filename, data in found:
        assert filename
        if ctype == "application/pdf":
            assert filename.endswith(".pdf")
            check_pdf(data)
        elif ctype == "image/png":
            check_png(data)
        elif ctype == "text/csv":
            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
            assert rows[0][:2] == ["Nom", "Prénom"]
            assert len(rows) > 20 and all(len(r) == len(rows[0]) for r in rows)
        elif ctype == "text/calendar":
            check_ics(data)
    assert any(not f.isascii() for _, f, _ in found)
    raw = b"".join(m.raw for m in all_messages)
    assert b"filename*=utf-8''" in raw  # RFC 2231


def test_html_alternative_and_inline_image(all_messages: list[DemoMessage]) -> None:
    alternatives = inline_images = 0
    for m in all_messages:
        msg = parse(m)
        html_part = msg.get_body(("html",))
        if html_part is None:
            continue
        alternatives += 1
        assert msg.get_body(("plain",)) is not None
        html = html_part.get_content()
        assert 'style="' in html and '<html lang="fr">' in html
        for cid in re.findall(r'src="cid:([^"]+)"', html):
            images = [p for p in msg.walk() if p["Content-ID"] == f"<{cid}>"]
            assert len(images) == 1
            image_data = images[0].get_payload(decode=True)
            assert isinstance(image_data, bytes)
            check_png(image_data)
            inline_images += 1
    assert alternatives >= 20
    assert inline_images >= 5


def test_parents_and_junk(all_messages: list[DemoMessage]) -> None:
    parent_domains = set()
    junk_subjects = []
    for m in all_messages:
        msg = parse(m)
        sender = msg["From"].addresses[0].domain
        if m.folder == "Parents" and "In-Reply-To" not in msg:
            parent_domains.add(sender)
        if m.folder == "junk":
            assert msg["X-Spam-Flag"] == "YES"
            junk_subjects.append(str(msg["Subject"]))
    assert {"gmail.com", "orange.fr", "free.fr"} & parent_domains
    assert len(parent_domains) >= 3
    assert any("boîte mail est pleine" in s for s in junk_subjects)
    assert any("DIFFUSION RESTREINTE" in str(parse(m)["Subject"]) for m in all_messages)


def test_french_text(all_messages: list[DemoMessage]) -> None:
    french = re.compile(r"\b(le|la|les|de|des|du|un|une|et|en|je|tu|il|elle|vous|votre|pour|est|sont|au|aux|sur|à)\b", re.IGNORECASE)
    for m in all_messages:
        body = parse(m).get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert french.search(text), text[:200]
        assert "\ufffd" not in text


# -- attachment builders ------------------------------------------------------------------


def check_pdf(data: bytes) -> None:
    assert data.startswith(b"%PDF-1.")
    assert data.rstrip().endswith(b"%%EOF")
    startxref = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[startxref:].startswith(b"xref")
    lines = data[startxref:].split(b"\n")
    count = int(lines[1].split()[1])
    for number in range(1, count):
        offset = int(lines[2 + number][:10])
        assert data[offset:].startswith(b"%d 0 obj" % number)


def check_png(data: bytes) -> None:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(tag + body) & 0xFFFFFFFF == crc
        chunks[tag] = body
        pos += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)
    assert b"IEND" in chunks


def check_ics(data: bytes) -> None:
    text = data.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    unfolded = text.replace("\r\n ", "")
    for key in ("METHOD:REQUEST", "BEGIN:VEVENT", "DTSTART;TZID=Europe/Paris:", "ORGANIZER", "UID:"):
        assert key in unfolded


def test_make_pdf_accents() -> None:
    data = make_pdf("Compte rendu (réunion)", "Élèves \\ présents : 24\n" + "mot " * 400)
    check_pdf(data)
    assert b"\\(r\xe9union\\)" in data


def test_make_png() -> None:
    check_png(make_png(3, 2, lambda x, y: (x * 80, y * 100, 7)))


def test_make_ics_folds_utf8() -> None:
    start = datetime(2025, 3, 20, 17, 0, tzinfo=UTC)
    data = make_ics(
        uid="x@ac-demo.fr", summary="Réunion " + "é" * 80, location="Salle 1, bâtiment B",
        description="Ordre du jour ; points divers", start=start,
        end=start + timedelta(hours=1), stamp=start,
        organizer=("Hélène Bérard", "helene.berard@ac-demo.fr"),
        attendees=[("Jean Dupont", "jean.dupont@ac-demo.fr")],
    )
    check_ics(data)
    assert "LOCATION:Salle 1\\, bâtiment B" in data.decode()
