"""The header and text readers on their own: RFC 2047, RFC 2231, RFC 5322 address
lists and identifiers, charsets, transfer encodings, HTML to text."""

from __future__ import annotations

from academail.mime.headers import (
    RawAddress,
    decode_words,
    message_ids,
    parse_address_list,
    parse_content_type,
    parse_params,
    split_header,
)
from academail.mime.text import (
    b64decode_lenient,
    codec_for,
    decode_text,
    html_to_text,
    transfer_decode,
)


def test_decode_words():
    assert decode_words("=?utf-8?q?caf=C3=A9?= =?utf-8?q?_cr=C3=A8me?=") == "café crème"
    assert decode_words("Re: =?ISO-8859-1?Q?r=E9union?= demain") == "Re: réunion demain"
    # A multi-byte character split across two words (seen from some mailers).
    assert decode_words("=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=") == "éé"
    assert decode_words("=?utf-8?B?ww==?= =?UTF-8?B?qQ==?=") == "é"
    # RFC 2231 §5 language suffix; unknown charset; broken base64 and Q.
    assert decode_words("=?utf-8*fr?q?=C3=A9t=C3=A9?=") == "été"
    assert decode_words("=?x-nope?q?caf=C3=A9?=") == "café"
    assert decode_words("=?utf-8?b?!!!?=") == ""
    assert decode_words("=?utf-8?q?a=ZZb?=") == "a=ZZb"
    assert decode_words("plain =? text ?=") == "plain =? text ?="
    assert decode_words("=?utf-8?q?a?= b =?utf-8?q?c?=") == "a b c"


def test_parse_params_rfc2045_and_2231():
    main, params, defects = parse_params(
        'Attachment; filename="a \\"quoted\\" name.txt"; size=12; FILENAME=second'
    )
    assert main == "attachment"
    assert params == {"filename": 'a "quoted" name.txt', "size": "12"}
    assert defects == []
    _, params, _ = parse_params("x; title*0*=us-ascii'en'This%20is; title*1=\" fun\"")
    assert params["title"] == "This is fun"
    _, params, _ = parse_params("x; name=plain; name*=utf-8''%C3%A9.txt")
    assert params["name"] == "é.txt"  # RFC 2231 wins over the plain form
    _, params, _ = parse_params('x; filename="C:\\Users\\prof\\note.doc"')
    assert params["filename"] == "C:\\Users\\prof\\note.doc"
    _, params, defects = parse_params("x; novalue; a=1; b*=bad%ZZ")
    assert params == {"a": "1", "b": "bad%ZZ"}
    assert defects == ["parameter without value: 'novalue'"]


def test_parse_content_type():
    assert parse_content_type(None, "text/plain") == ("text/plain", {}, [])
    ctype, params, _ = parse_content_type('Multipart/Mixed (comment); boundary="=_x"', "text/plain")
    assert (ctype, params) == ("multipart/mixed", {"boundary": "=_x"})
    ctype, _, defects = parse_content_type("garbage", "message/rfc822")
    assert ctype == "message/rfc822" and defects


def test_address_lists():
    assert parse_address_list('"Doe, John" <john@example.com>, jane@example.com') == [
        RawAddress("Doe, John", "john", "example.com"),
        RawAddress("", "jane", "example.com"),
    ]
    assert parse_address_list("Team: ;") == [
        RawAddress("", "Team", "", group="start"),
        RawAddress("", "", "", group="end"),
    ]
    assert parse_address_list("<@a.example,@b.example:x@c.example>") == [
        RawAddress("", "x", "c.example", route="@a.example,@b.example")
    ]
    assert parse_address_list("x@y (a (nested) comment)") == [
        RawAddress("a (nested) comment", "x", "y")
    ]
    assert parse_address_list("=?utf-8?q?Fran=C3=A7ois?= <f@x>")[0].name == (
        "=?utf-8?q?Fran=C3=A7ois?="
    )
    # Broken input still yields what can be read, and never raises.
    assert len(parse_address_list('"unterminated <a@b>')) == 1
    assert parse_address_list("<a@b") == [RawAddress("", "a", "b")]
    assert parse_address_list(",,, ;;") == []
    assert parse_address_list("(open comment") == []
    assert parse_address_list(None) == []


def test_message_ids():
    assert message_ids("<a@b>") == ["<a@b>"]
    assert message_ids("<a@b>\r\n <c@d> junk <e@f>") == ["<a@b>", "<c@d>", "<e@f>"]
    assert message_ids("bare@id.example") == ["<bare@id.example>"]
    assert message_ids("<a\r\n @b>") == ["<a@b>"]
    assert message_ids("<> nothing") == []
    assert message_ids(None) == []


def test_split_header_line_ends():
    raw = b"A: 1\r\n folded\r\nB: 2\r\n\r\nbody"
    block = split_header(raw, 0, len(raw))
    assert raw[block.body_start :] == b"body"
    assert block.get("a") == "1 folded"
    assert block.fields() == [("a", "1 folded"), ("b", "2")]
    raw = b" continuation first\nA: 1\n\nbody"
    block = split_header(raw, 0, len(raw))
    assert raw[block.body_start :] == b"body"
    assert block.defects == ["header starts with a continuation line"]
    raw = b"Name With Space: x\n\nbody"
    block = split_header(raw, 0, len(raw))
    assert block.body_start == 0 and block.spans == []


def test_charsets():
    assert codec_for("UTF-8") == "utf-8"
    assert codec_for('"iso-8859-15"') == "iso8859-15"
    assert codec_for("ks_c_5601-1987") == "cp949"
    assert codec_for("rot13") is None
    assert codec_for("zlib") is None
    assert codec_for("unicode_escape") is None
    assert codec_for("") is None
    assert decode_text("é".encode(), "us-ascii") == "é"
    assert decode_text(b"caf\xe9", "utf-8") == "café"
    assert decode_text(b"\xa4", "iso-8859-15") == "€"
    assert decode_text(b"\x81", "windows-1252") == "\ufffd"
    assert decode_text("é".encode()[:1], "utf-8", final=False) == ""
    assert decode_text(b"\xef\xbb\xbfbom", "utf-8") == "bom"


def test_transfer_encodings():
    assert b64decode_lenient(b"aGVsbG8") == b"hello"
    assert b64decode_lenient(b"aGVs\r\nbG8=\r\n") == b"hello"
    assert b64decode_lenient(b"a") == b""
    assert transfer_decode(b"caf=C3=A9=\r\n!", "quoted-printable") == "café!".encode()
    assert transfer_decode(b"raw", "x-unknown") == b"raw"
    uu = b"begin 644 f.txt\n%:&5L;&\\`\n`\nend\n"
    assert transfer_decode(uu, "x-uuencode") == b"hello"


def test_html_to_text():
    assert html_to_text("<p>a</p><p>b</p>").split() == ["a", "b"]
    assert html_to_text("x<script>y</script>z") == "xz"
    assert html_to_text("x<STYLE>p{}</style >z") == "xz"
    assert html_to_text("x<!-- hidden -->z") == "xz"
    assert html_to_text("x<!-- never closed z") == "x"
    assert html_to_text("a < b &amp; c") == "a < b & c"
    assert html_to_text("<head><title>t</title></head><body>b</body>") == "b"
    assert html_to_text("<head><title>t</title><body>b") == "b"
    assert html_to_text("<script>never closed") == ""
