"""What parse_message reads from each kind of message: exact byte slices of parts
(RFC 2046 §5.1.1: the line end before a boundary belongs to the delimiter), IMAP
numbering (RFC 3501 §6.4.5), envelope (RFC 3501 §7.4.2) and decoded fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from academail.mime import (
    Address,
    body_bytes,
    decode_part_body,
    find_part,
    header_bytes,
    iter_parts,
    parse_message,
    part_text,
)
from academail.mime.parse import normalize_subject

from .invariants import load


def sections(msg):
    return [(s, p.content_type) for s, p in iter_parts(msg.root)]


# --- Offsets --------------------------------------------------------------------


def test_multipart_offsets_are_exact_crlf():
    raw = (
        b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
        b"preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nfirst\r\n\r\n--b1 \t\r\n"
        b"\r\nsecond has no header\r\n--b1--\r\nepilogue\r\n"
    )
    msg = parse_message(raw)
    one, two = msg.root.children
    assert header_bytes(raw, msg.root).endswith(b"boundary=b1\r\n\r\n")
    assert header_bytes(raw, one) == b"Content-Type: text/plain\r\n\r\n"
    # The blank line before the delimiter is body; the CRLF just before "--b1" is not.
    assert body_bytes(raw, one) == b"first\r\n"
    assert header_bytes(raw, two) == b"\r\n"
    assert body_bytes(raw, two) == b"second has no header"
    assert raw[one.start : one.end] == b"Content-Type: text/plain\r\n\r\nfirst\r\n"
    assert one.lines == 1 and two.lines == 1
    assert msg.defects == []


def test_bare_lf_offsets():
    raw = load("bare_lf.eml")
    msg = parse_message(raw)
    plain = find_part(msg.root, "1")
    html = find_part(msg.root, "2")
    assert header_bytes(raw, plain) == b"Content-Type: text/plain; charset=us-ascii\n\n"
    assert body_bytes(raw, plain) == b"plain line one\nplain line two"
    assert body_bytes(raw, html) == b"<p>html</p>"
    assert plain.lines == 2


def test_mixed_line_endings():
    raw = load("mixed_line_endings.eml")
    msg = parse_message(raw)
    assert [body_bytes(raw, p) for p in msg.root.children] == [b"first", b"second"]
    assert msg.subject == "mixed endings"


def test_first_delimiter_at_body_start_and_empty_parts():
    raw = b"Content-Type: multipart/mixed; boundary=e\n\n--e\n--e\n\nbody\n--e--"
    msg = parse_message(raw)
    first, second = msg.root.children
    assert first.start == first.end  # "--e LF --e": an empty part
    assert body_bytes(raw, second) == b"body"
    assert msg.defects == []


def test_single_part_message_is_part_one():
    raw = load("french_subject_rfc2047.eml")
    msg = parse_message(raw)
    assert find_part(msg.root, "") is msg.root
    assert find_part(msg.root, "1") is msg.root
    assert find_part(msg.root, "2") is None
    assert find_part(msg.root, "1.1") is None
    assert find_part(msg.root, "0") is None
    assert find_part(msg.root, "x") is None
    assert body_bytes(raw, msg.root).startswith("Bonjour à".encode())
    assert sections(msg) == [("1", "text/plain")]


def test_nested_message_rfc822():
    raw = load("nested_rfc822.eml")
    msg = parse_message(raw)
    assert sections(msg) == [
        ("", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "message/rfc822"),
        ("2", "multipart/alternative"),
        ("2.1", "text/plain"),
        ("2.2", "text/html"),
    ]
    container = find_part(msg.root, "2")
    assert container.content_type == "message/rfc822"
    assert container.filename == "origine.eml"
    inner = container.message
    assert inner is not None
    # BODY[2] is the whole embedded message, its last line end included.
    embedded = body_bytes(raw, container)
    assert embedded.startswith(b"From: Original Sender <orig@example.com>\r\n")
    assert embedded.endswith(b"--inner--\r\n")
    assert header_bytes(raw, inner.root).endswith(b'boundary="inner"\r\n\r\n')
    assert body_bytes(raw, find_part(msg.root, "2.1")) == b"Texte d'origine."
    assert inner.envelope.subject == "=?utf-8?q?Le_message_d=27origine?="
    assert inner.envelope.from_ == [Address("Original Sender", "orig", "example.com")]
    assert container.lines == embedded.count(b"\n")
    assert msg.attachments[0].section == "2"
    assert msg.attachments[0].content_type == "message/rfc822"
    assert "Texte d'origine." in msg.search_text
    assert "Le message d'origine" in msg.search_text


def test_single_part_embedded_message_is_numbered_under_it():
    inner = b"Subject: inner\r\n\r\ninner body\r\n"
    raw = (
        b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\n"
        b"a\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--o--\r\n"
    )
    msg = parse_message(raw)
    container = find_part(msg.root, "2")
    body = find_part(msg.root, "2.1")
    assert body is container.message.root
    assert body_bytes(raw, container) == inner
    assert body_bytes(raw, body) == b"inner body\r\n"
    assert find_part(msg.root, "2.2") is None
    assert ("2.1", "text/plain") in sections(msg)


def test_multipart_digest_defaults_to_message_rfc822():
    raw = load("multipart_digest.eml")
    msg = parse_message(raw)
    assert [c.content_type for c in msg.root.children] == [
        "message/rfc822",
        "message/rfc822",
        "text/plain",
    ]
    first = find_part(msg.root, "1")
    assert first.message.envelope.subject == "first"
    assert body_bytes(raw, find_part(msg.root, "1.1")) == b"First message."
    assert body_bytes(raw, find_part(msg.root, "2.1")) == b"Second message."


def test_missing_close_delimiter():
    raw = load("missing_boundary_end.eml")
    msg = parse_message(raw)
    assert [body_bytes(raw, p) for p in msg.root.children] == [
        b"first part",
        b"second part, never closed\r\n",
    ]
    assert msg.root.children[-1].end == len(raw)
    assert any("missing close delimiter" in d for d in msg.defects)


def test_boundary_text_in_preamble_and_body_is_not_a_delimiter():
    raw = load("boundary_in_preamble.eml")
    msg = parse_message(raw)
    (only,) = msg.root.children
    assert body_bytes(raw, only) == b"body with --frontier inside a line"
    assert msg.defects == []


def test_nested_boundary_with_outer_boundary_as_prefix():
    raw = load("boundary_prefix_nested.eml")
    msg = parse_message(raw)
    assert sections(msg) == [
        ("", "multipart/mixed"),
        ("1", "multipart/alternative"),
        ("1.1", "text/plain"),
        ("1.2", "text/html"),
        ("2", "text/plain"),
    ]
    assert body_bytes(raw, find_part(msg.root, "1.2")) == b"<b>alt html</b>"
    assert body_bytes(raw, find_part(msg.root, "2")) == b"notes"


def test_multipart_without_boundary_is_read_as_text():
    msg = parse_message(load("multipart_no_boundary.eml"))
    assert msg.root.content_type == "text/plain"
    assert msg.root.children == ()
    assert any("without boundary" in d for d in msg.defects)


def test_part_without_blank_line_after_header():
    raw = load("missing_header_separator.eml")
    msg = parse_message(raw)
    first = find_part(msg.root, "1")
    assert header_bytes(raw, first) == b"Content-Type: text/plain\r\n"
    assert body_bytes(raw, first) == b"This line should have been preceded by a blank line."
    assert any(d.startswith("1: missing blank line") for d in msg.defects)


def test_message_rfc822_with_base64_is_opaque():
    raw = load("message_rfc822_base64.eml")
    msg = parse_message(raw)
    part = find_part(msg.root, "1")
    assert part.message is None
    assert decode_part_body(raw, part).startswith(b"From: x@y\r\nSubject: inner")


def test_empty_and_headerless_inputs():
    empty = parse_message(b"")
    assert (empty.root.start, empty.root.body_start, empty.root.end) == (0, 0, 0)
    assert empty.subject == "" and empty.preview == "" and empty.defects == []

    no_body = load("no_body.eml")
    msg = parse_message(no_body)
    assert msg.root.body_start == msg.root.end == len(no_body)
    assert msg.subject == "headers only, no blank line"

    body_only = parse_message(b"\r\njust a body\r\n")
    assert body_only.root.body_start == 2
    assert body_only.preview == "just a body"


def test_mbox_from_line_is_tolerated():
    raw = load("mbox_from_line.eml")
    msg = parse_message(raw)
    assert msg.subject == "mbox From_ line first"
    assert body_bytes(raw, msg.root) == b"body\r\n"
    assert header_bytes(raw, msg.root).startswith(b"From sender@example.org Mon")


# --- Headers and envelope -------------------------------------------------------


def test_rfc2047_subject_and_names():
    msg = parse_message(load("french_subject_rfc2047.eml"))
    # Adjacent encoded-words join, even when one splits a UTF-8 character.
    assert msg.subject == "Réunion de rentrée — salle des professeurs – décision"
    assert msg.from_ == [Address("Secrétariat du collège", "secretariat", "ac-lyon.fr")]
    assert msg.to[0].name == "Renée Dupré"
    assert msg.envelope.subject.startswith("=?UTF-8?B?UsOpdW5pb24gZGUgcmVudHLDqWU=?=")
    assert msg.envelope.from_[0].name == "=?UTF-8?Q?Secr=C3=A9tariat_du_coll=C3=A8ge?="
    assert msg.envelope.date == "Mon, 2 Sep 2024 08:15:00 +0200"
    assert msg.date == datetime(2024, 9, 2, 6, 15, tzinfo=UTC)
    assert msg.message_id == "<20240902081500.1234@ac-lyon.fr>"
    assert msg.envelope.message_id == "<20240902081500.1234@ac-lyon.fr>"


def test_8bit_headers_latin1_and_utf8():
    latin = parse_message(load("latin1_8bit_headers.eml"))
    assert latin.subject == "Café et crème brûlée"
    assert latin.from_[0].name == "José García"
    assert latin.preview == "Un café, s'il vous plaît."

    utf8 = parse_message(load("utf8_raw_headers.eml"))
    assert utf8.subject == "Élèves — sortie à Besançon"
    assert utf8.from_ == [Address("Zoë Ünal", "zoe", "exämple.fr")]
    assert utf8.date.utcoffset() == timedelta(hours=2)


def test_groups_comments_routes_in_envelope():
    msg = parse_message(load("group_addresses.eml"))
    env = msg.envelope
    assert env.to == [
        Address("", "Professeurs", "", group="start"),
        Address("", "prof1", "ac-lyon.fr"),
        Address("Prof Deux", "prof2", "ac-lyon.fr"),
        Address("", "", "", group="end"),
        Address("", "autre", "ac-lyon.fr"),
    ]
    assert env.cc == [
        Address("", "undisclosed-recipients", "", group="start"),
        Address("", "", "", group="end"),
    ]
    assert env.bcc == [
        Address("Jean le commentaire", "jean", "example.org"),
        Address("", "route", "example.org", route="@relay.example.org"),
        Address("", '"quoted local"', "example.org"),
        Address("", "nodomain", ""),
    ]
    assert env.sender == [Address("", "secretariat", "ac-lyon.fr")]
    # RFC 3501 §7.4.2: an empty Reply-To takes the From value.
    assert env.reply_to == env.from_ == [Address("Dupont, Jean", "jean.dupont", "ac-lyon.fr")]
    # Decoded lists hold mailboxes only.
    assert [a.addr for a in msg.to] == [
        "prof1@ac-lyon.fr",
        "prof2@ac-lyon.fr",
        "autre@ac-lyon.fr",
    ]
    assert msg.cc == []


def test_threading_fields():
    msg = parse_message(load("reply_thread.eml"))
    assert msg.in_reply_to == "<second@ac-lyon.fr>"
    assert msg.references == ["<first@ac-lyon.fr>", "<second@ac-lyon.fr>"]
    assert msg.message_id == "<third@ac-lyon.fr>"
    assert msg.date is None and any("Date" in d for d in msg.defects)
    assert msg.envelope.in_reply_to == '"message from a" <second@ac-lyon.fr>'
    root = parse_message(b"Message-ID: <first@ac-lyon.fr>\r\nSubject: Sortie scolaire\r\n\r\nx")
    assert msg.thread_key == root.thread_key
    only_reply_to = parse_message(b"In-Reply-To: <first@ac-lyon.fr>\r\n\r\nx")
    assert only_reply_to.thread_key == root.thread_key


def test_subject_thread_key_without_identifiers():
    a = parse_message(b"Subject: Sortie scolaire\r\n\r\nx")
    b = parse_message(b"Subject: RE : TR: Re: Fwd: sortie   scolaire\r\n\r\ny")
    c = parse_message(b"Subject: Autre chose\r\n\r\nx")
    assert a.thread_key == b.thread_key != c.thread_key
    assert a.thread_key.startswith("s:")
    assert parse_message(b"\r\nx").thread_key != parse_message(b"\r\ny").thread_key


def test_normalize_subject_prefixes():
    assert normalize_subject("RE : TR: Re: Fwd: Sortie") == "sortie"
    assert normalize_subject("Fw: Réf. : Re[2]: Conseil") == "conseil"
    assert normalize_subject("AW: WG: Réunion") == "réunion"
    assert normalize_subject("Reunion: ordre du jour") == "reunion: ordre du jour"


def test_date_without_zone_is_utc():
    msg = parse_message(b"Date: Mon, 2 Sep 2024 08:15:00 -0000\r\n\r\n")
    assert msg.date == datetime(2024, 9, 2, 8, 15, tzinfo=UTC)
    msg = parse_message(b"Date: 1 Jan 1999 00:00 +0530\r\n\r\n")
    assert msg.date.tzinfo == timezone(timedelta(hours=5, minutes=30))


def test_invalid_content_type_defaults_and_encoding_case():
    raw = load("invalid_content_type.eml")
    msg = parse_message(raw)
    assert msg.root.content_type == "text/plain"
    assert msg.root.encoding == "base64"
    assert part_text(raw, msg.root) == "Hello"


# --- Parameters, filenames, attachments -----------------------------------------


def test_rfc2231_filenames_and_sanitising():
    raw = load("rfc2231_filename.eml")
    msg = parse_message(raw)
    pdf = find_part(msg.root, "2")
    assert pdf.filename == "Compte rendu réunion du conseil.pdf"
    assert pdf.params["name"] == "Compte rendu réunion.pdf"
    assert pdf.disposition == "attachment"
    assert decode_part_body(raw, pdf) == b"%PDF-1.4\n"
    txt = find_part(msg.root, "3")
    assert txt.params["name"] == "année.txt"
    assert txt.filename == "passwd"  # "../../etc/passwd" loses its path
    assert [a.filename for a in msg.attachments] == [
        "Compte rendu réunion du conseil.pdf",
        "passwd",
    ]
    assert msg.has_attachments
    assert "Compte rendu réunion du conseil.pdf" in msg.search_text


def test_outlook_message():
    raw = load("outlook_winmail_like.eml")
    msg = parse_message(raw)
    assert msg.subject == "RE: Conseil de classe"
    assert msg.from_ == [Address("Martin, Claire", "claire.martin", "ac-lyon.fr")]
    assert msg.preview == "Bonjour, Voici le compte rendu de la réunion."
    docx = find_part(msg.root, "3")
    # RFC 2047 inside a quoted parameter is forbidden but sent by Outlook.
    assert docx.filename == "Procès-verbal.docx"
    assert docx.description == "=?iso-8859-1?Q?Proc=E8s-verbal.docx?="
    assert docx.disposition_params["size"] == "12"
    assert [(a.section, a.filename, a.inline) for a in msg.attachments] == [
        ("2", "winmail.dat", False),
        ("3", "Procès-verbal.docx", False),
    ]
    assert msg.thread_key == parse_message(b"Message-ID: <root@ac-lyon.fr>\r\n\r\n").thread_key
    html = part_text(raw, find_part(msg.root, "1.2"))
    assert "réunion" in html


def test_apple_mail_inline_image():
    raw = load("apple_mail_inline_image.eml")
    msg = parse_message(raw)
    (image,) = msg.attachments
    assert image.section == "2.2"
    assert image.inline and image.content_id == "<photo@apple>"
    assert image.content_type == "image/png"
    assert not msg.has_attachments  # an image the HTML shows is not an attachment
    data = decode_part_body(raw, find_part(msg.root, "2.2"))
    assert data.startswith(b"\x89PNG")
    assert abs(image.size - len(data)) <= 2
    # Collapsing white space turns the narrow no-break space into a space.
    assert msg.preview == "Voici la photo !"


def test_calendar_invite():
    raw = load("calendar_invite.eml")
    msg = parse_message(raw)
    cal = find_part(msg.root, "1.2")
    assert cal.content_type == "text/calendar"
    assert cal.params["method"] == "REQUEST"
    assert "SUMMARY;LANGUAGE=fr-FR:Conseil pédagogique" in part_text(raw, cal)
    assert [(a.section, a.filename) for a in msg.attachments] == [("2", "invite.ics")]
    assert msg.preview == "Vous êtes invité au conseil pédagogique."


def test_html_only_preview_drops_scripts_and_styles():
    msg = parse_message(load("html_only_with_script.eml"))
    assert msg.preview == "Bienvenue ! Café & crème fin."
    for hidden in ("alert", "xss", "evil", "color", "Titre", "comment"):
        assert hidden not in msg.search_text
    assert not msg.has_attachments


# --- Charsets and transfer encodings --------------------------------------------


def test_quoted_printable_soft_breaks():
    raw = load("quoted_printable_utf8.eml")
    msg = parse_message(raw)
    text = part_text(raw, msg.root)
    assert "très longue et coupée par un saut de ligne doux au milieu d'un caractère." in text
    assert msg.subject == "Été"


def test_charset_fallbacks():
    raw = load("unknown_charset.eml")
    msg = parse_message(raw)
    utf8_bytes, latin_bytes, not_a_charset = msg.root.children
    assert part_text(raw, utf8_bytes) == "déjà vu"
    assert part_text(raw, latin_bytes) == "déjà vu"
    assert part_text(raw, not_a_charset) == "aGVsbG8="  # base64_codec is no charset
    assert msg.subject == "café"
    assert sum("unknown charset" in d for d in msg.defects) == 3

    smart = load("windows1252_smart_quotes.eml")
    assert part_text(smart, parse_message(smart).root) == "L’élève a dit “bonjour” …\r\n"
    mislabelled = load("utf8_declared_latin1_body.eml")
    assert parse_message(mislabelled).preview == "Café crème"


def test_lenient_base64():
    raw = load("base64_bad_padding.eml")
    msg = parse_message(raw)
    assert decode_part_body(raw, msg.root) == "Bonjour à tous!".encode()
    assert msg.preview == "Bonjour à tous!"


def test_nul_bytes_never_reach_text_fields():
    raw = load("nul_bytes.eml")
    msg = parse_message(raw)
    assert msg.subject == "nul in subject"
    assert msg.preview == "bodywith NUL second line"
    assert b"\x00" in decode_part_body(raw, msg.root)  # raw access stays exact


def test_plain_rfc822_defaults():
    raw = load("plain_rfc822_no_mime.eml")
    msg = parse_message(raw)
    assert msg.root.content_type == "text/plain"
    assert msg.root.params == {}
    assert msg.root.encoding == "7bit"
    assert msg.from_ == [Address("Old Mailer", "old", "example.org")]
    assert msg.date == datetime(1999, 1, 1, tzinfo=UTC)


def test_search_text_is_bounded():
    big = ("mot " * 200_000).encode()
    raw = b"Content-Type: text/plain\r\n\r\n" + big
    msg = parse_message(raw)
    assert 200_000 < len(msg.search_text.encode()) <= 256 * 1024
    assert msg.preview == ("mot " * 50).strip()


def test_to_dict_round_trip_keeps_everything():
    raw = load("outlook_winmail_like.eml")
    root = parse_message(raw).root
    data = root.to_dict()
    assert data["children"][1]["filename"] == "winmail.dat"
    assert type(root).from_dict(data) == root
