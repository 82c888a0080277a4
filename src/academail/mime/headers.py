"""Header sections read straight from the raw bytes of a message: where a header
ends and its body begins (RFC 5322 §2.1, §2.2), field values unfolded and decoded,
encoded-words (RFC 2047), MIME parameters with RFC 2231 continuations and charsets
(RFC 2045 §5.1), address lists with groups (RFC 5322 §3.4) and message identifiers
(RFC 5322 §3.6.4).

Why not ``email.parser`` with ``email.policy.default``: the part map needs exact byte
offsets, which the stdlib parser does not expose, and its structured-header parser
raises or goes quadratic on some hostile inputs (and has mis-parsed addresses, see
CVE-2023-27043). These readers are small, linear-time regular expressions and
loops, and they record what was wrong instead of raising.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from academail.mime.text import b64decode_lenient, clean_text, decode_text, qp_decode

# RFC 5322 §2.2 field-name: printable US-ASCII except colon. White space before the
# colon is obsolete syntax (RFC 5322 §4.5) that is still seen.
_FIELD_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:")
_FOLD = re.compile(r"\r?\n(?=[ \t])")

# Past these sizes a header is an attack, not mail; parsing stays linear regardless,
# these only bound memory and the work spent on one field.
MAX_FIELDS = 1000
MAX_FIELD_BYTES = 1 << 20


@dataclass(slots=True)
class HeaderBlock:
    """The header section of one entity: ``raw[start:body_start]`` (which includes
    the blank separator line when there is one)."""

    start: int
    body_start: int
    # (lower-case name, value start, value end) into the raw bytes.
    spans: list[tuple[str, int, int]] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    raw: bytes = b""

    def raw_value(self, name: str) -> bytes | None:
        """First occurrence of field ``name`` (lower-case), raw bytes, still folded."""
        for fname, vstart, vend in self.spans:
            if fname == name:
                return self.raw[vstart : min(vend, vstart + MAX_FIELD_BYTES)]
        return None

    def get(self, name: str) -> str | None:
        """First occurrence of ``name``, unfolded (RFC 5322 §2.2.3), 8-bit bytes read
        as UTF-8 (RFC 6532) or else windows-1252, controls removed, stripped."""
        value = self.raw_value(name)
        if value is None:
            return None
        return header_str(value)

    def fields(self) -> list[tuple[str, str]]:
        return [
            (name, header_str(self.raw[vs : min(ve, vs + MAX_FIELD_BYTES)]))
            for name, vs, ve in self.spans
        ]


def header_str(value: bytes) -> str:
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        text = decode_text(value, "utf-8")
    text = _FOLD.sub("", text)
    return clean_text(text).replace("\r", "").replace("\n", " ").strip()


_BLANK_LINE = re.compile(rb"\n\r?\n")
_UTF8_BOM = b"\xef\xbb\xbf"
# A line that is neither a continuation nor "name:"; searched from a line start.
_BAD_LINE = re.compile(rb"^(?![ \t]|[\x21-\x39\x3b-\x7e]+[ \t]*:)", re.M)
_FIELD_LINE = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:", re.M)


def split_header(raw: bytes, start: int, end: int, *, allow_unixfrom: bool = False) -> HeaderBlock:
    """Find the header fields of the entity in ``raw[start:end]`` and where its
    body starts.

    The header ends at the first empty line (CRLF or bare LF). A line that is
    neither a field nor a continuation ends the header too, and is the first body
    line, as in the stdlib feedparser: a part without a blank line after its
    header still has a readable body. Without any body the body start is ``end``.
    Every scan is a regular expression or ``bytes.find`` over the slice, so a
    30 MB header costs no Python-level loop per line.
    """
    block = HeaderBlock(start=start, body_start=end, raw=raw)
    if allow_unixfrom and raw.startswith(_UTF8_BOM, start, end):
        # A UTF-8 byte-order mark before the first field (Windows tools write
        # one): skipped, so that the first field is still a field and the
        # header is not taken for body text.
        block.defects.append("UTF-8 byte-order mark before the header")
        start += len(_UTF8_BOM)
    if start >= end:
        return block
    if raw[start] == 0x0A:
        block.body_start = start + 1
        return block
    if raw.startswith(b"\r\n", start, end):
        block.body_start = start + 2
        return block
    blank = _BLANK_LINE.search(raw, start, end)
    header_stop = end if blank is None else blank.start() + 1
    body_start = end if blank is None else blank.end()
    nl = raw.find(b"\n", start, header_stop)
    first_end = header_stop if nl < 0 else nl + 1
    first = _FIELD_NAME.match(raw, start, first_end)
    if first is None:
        if raw[start] in (0x20, 0x09):
            # RFC 5322 §2.2.3: a continuation needs a field to continue; ignored.
            block.defects.append("header starts with a continuation line")
        elif not (allow_unixfrom and raw.startswith(b"From ", start, first_end)):
            # (An mbox "From " line at the very top is tolerated and ignored.)
            block.defects.append("missing blank line between header and body")
            block.body_start = start
            return block
    if first_end < header_stop:
        bad = _BAD_LINE.search(raw, first_end, header_stop)
        if bad is not None and bad.start() < header_stop:
            block.defects.append("missing blank line between header and body")
            header_stop = body_start = bad.start()
    block.body_start = body_start
    starts: list[tuple[str, int, int]] = []
    late: list[tuple[str, int, int]] = []
    if first is not None:
        starts.append((first.group(1).decode("ascii").lower(), start, first.end()))
    if first_end < header_stop:
        for m in _FIELD_LINE.finditer(raw, first_end, header_stop):
            if len(starts) >= MAX_FIELDS:
                block.defects.append(f"more than {MAX_FIELDS} header fields")
                late = _late_mime_fields(raw, m.start(), header_stop)
                header_stop = m.start()
                break
            starts.append((m.group(1).decode("ascii").lower(), m.start(), m.end()))
    for index, (name, _, value_start) in enumerate(starts):
        value_end = starts[index + 1][1] if index + 1 < len(starts) else header_stop
        block.spans.append((name, value_start, value_end))
    block.spans.extend(late)
    return block


_LATE_MIME_FIELD = re.compile(rb"^(content-[\x21-\x39\x3b-\x7e]*|mime-version)[ \t]*:", re.M | re.I)
MAX_LATE_MIME_FIELDS = 20


def _late_mime_fields(raw: bytes, pos: int, stop: int) -> list[tuple[str, int, int]]:
    """The MIME fields (Content-*, MIME-Version) after the first MAX_FIELDS
    fields: they still say how the body reads (RFC 2045 §3), wherever they
    stand; the other fields past the bound are dropped. One C-level scan."""
    found: list[tuple[str, int, int]] = []
    for m in _LATE_MIME_FIELD.finditer(raw, pos, stop):
        following = _FIELD_LINE.search(raw, m.end(), stop)
        found.append((m.group(1).decode("ascii").lower(), m.end(), following.start() if following else stop))
        if len(found) >= MAX_LATE_MIME_FIELDS:
            break
    return found


# --- RFC 2047 encoded-words -------------------------------------------------------

# Lenient on purpose: spaces inside the encoded text and a language suffix
# (RFC 2231 §5, "=?utf-8*fr?q?...?=") are accepted, as every mail client does.
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?]*)\?=")


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded-words anywhere in ``text``.

    White space between two encoded-words is dropped (RFC 2047 §6.2). Adjacent
    words in one charset are joined before decoding, because some mailers split a
    multi-byte character across two words.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    pending = b""
    pending_charset = ""
    pos = 0
    for m in _ENCODED_WORD.finditer(text):
        between = text[pos : m.start()]
        adjacent = pos > 0 and text.endswith("?=", 0, pos) and not between.strip(" \t\r\n")
        charset, kind, payload = m.group(1), m.group(2).lower(), m.group(3)
        if pending and (not adjacent or charset.lower() != pending_charset.lower()):
            out.append(decode_text(pending, pending_charset))
            pending = b""
        if not adjacent:
            out.append(between)
        data = payload.encode("utf-8", "replace")
        pending += b64decode_lenient(data) if kind == "b" else qp_decode(data, header=True)
        pending_charset = charset
        pos = m.end()
    if pending:
        out.append(decode_text(pending, pending_charset))
    out.append(text[pos:])
    return clean_text("".join(out))


# --- MIME parameters (RFC 2045 §5.1, RFC 2231) ------------------------------------

_PARAM_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|;|[^";]+', re.S)
_MIME_TYPE = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+/[!#$%&'*+\-.^_`|~0-9a-z]+")
_COMMENT = re.compile(r"\([^()]*\)")
_RFC2231_NAME = re.compile(r"(.+?)\*(\d+)$")
MAX_PARAMS = 200


def _unquote(value: str) -> str:
    value = value.strip()
    if value.startswith('"'):
        value = value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
        # Only \\ and \" are unescaped, as mail clients do: Windows paths in
        # filename parameters are routinely sent with single backslashes.
        value = value.replace("\\\\", "\\").replace('\\"', '"')
    return value


def _segments(value: str) -> list[str]:
    """``value`` split at the semicolons outside quoted strings."""
    segments: list[str] = []
    current: list[str] = []
    for m in _PARAM_TOKEN.finditer(value):
        tok = m.group()
        if tok == ";":
            segments.append("".join(current))
            current = []
            if len(segments) > MAX_PARAMS:
                break
        else:
            current.append(tok)
    segments.append("".join(current))
    return segments


def raw_params(value: str | None) -> dict[str, str]:
    """The parameters as they appear in the field, for IMAP BODYSTRUCTURE (RFC
    3501 §7.4.2): names as written (``filename*0*``), values unquoted but not
    decoded (RFC 2231 continuations and RFC 2047 words stay as sent). The
    first occurrence of a name wins. ``value`` is already unfolded, so no value
    holds CR or LF."""
    out: dict[str, str] = {}
    for segment in _segments(value or "")[1:]:
        name, sep, raw_value = segment.partition("=")
        name = name.strip()
        if name and sep:
            out.setdefault(name, clean_text(_unquote(raw_value)).replace("\r", "").replace("\n", " "))
    return out


def parse_params(value: str) -> tuple[str, dict[str, str], list[str]]:
    """Split ``type/subtype; a=b; c*=utf-8''%C3%A9`` into the lower-cased main value
    and its decoded parameters (names lower-cased; the first occurrence wins).

    RFC 2231 continuations (``name*0``, ``name*1*``) are reassembled and decoded;
    an RFC 2231 form takes precedence over a plain parameter of the same name.
    """
    segments = _segments(value)
    main = _COMMENT.sub("", segments[0]).strip().lower()
    defects: list[str] = []
    plain: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[bool, str]]] = {}
    for segment in segments[1:]:
        name, sep, raw_value = segment.partition("=")
        name = name.strip().lower()
        if not name:
            continue
        if not sep:
            defects.append(f"parameter without value: {name[:40]!r}")
            continue
        is_ext = name.endswith("*")
        if is_ext:
            name = name[:-1]
        m2 = _RFC2231_NAME.match(name)
        if m2 is not None:
            base, index = m2.group(1), int(m2.group(2)[:6])
        elif is_ext:
            base, index = name, 0
        else:
            plain.setdefault(name, _unquote(raw_value))
            continue
        extended.setdefault(base, {}).setdefault(index, (is_ext, _unquote(raw_value)))
    params = dict(plain)
    for base, pieces in extended.items():
        params[base] = _join_rfc2231(pieces)
    for key in ("name", "filename"):
        # RFC 2047 words in parameters are forbidden (RFC 2047 §5) yet widespread.
        if key in params and "=?" in params[key]:
            params[key] = decode_words(params[key])
    return main, {k: clean_text(v) for k, v in params.items()}, defects


def _join_rfc2231(pieces: dict[int, tuple[bool, str]]) -> str:
    charset = ""
    data = bytearray()
    for position, index in enumerate(sorted(pieces)):
        is_ext, value = pieces[index]
        if is_ext:
            if position == 0 and value.count("'") >= 2:
                # RFC 2231 §4: charset'language'percent-encoded-octets
                charset, _language, value = value.split("'", 2)
            data += urllib.parse.unquote_to_bytes(value)
        else:
            data += value.encode("utf-8")
    return decode_text(bytes(data), charset or "utf-8")


def parse_content_type(value: str | None, default: str) -> tuple[str, dict[str, str], list[str]]:
    """Content-Type (RFC 2045 §5): lower-case ``type/subtype`` and parameters. A
    missing or syntactically invalid type gets ``default`` (RFC 2045 §5.2)."""
    if value is None:
        return default, {}, []
    main, params, defects = parse_params(value)
    if not _MIME_TYPE.fullmatch(main):
        defects.append(f"invalid Content-Type {main[:60]!r}, using {default}")
        return default, params, defects
    return main, params, defects


# --- Addresses (RFC 5322 §3.4) ----------------------------------------------------

_ADDR_TOKEN = re.compile(
    r"""
      (?P<ws>[ \t\r\n]+)
    | (?P<qs>"(?:[^"\\]|\\.)*"?)
    | (?P<lp>\()
    | (?P<angle><[^<>]*>?)
    | (?P<sp>[,:;@])
    | (?P<atom>[^ \t\r\n"(),:;<>@]+)
    | (?P<junk>.)
    """,
    re.X | re.S,
)
_PAREN = re.compile(r"[()\\]")
MAX_ADDRESS_CHARS = 256 * 1024
MAX_ADDRESSES = 10_000


@dataclass(slots=True)
class RawAddress:
    """An address as written: ``name`` is the display-name phrase with quotes
    removed but encoded-words kept (what IMAP ENVELOPE carries, RFC 3501 §7.4.2)."""

    name: str
    mailbox: str
    host: str
    route: str = ""
    group: str | None = None  # None for a mailbox, "start" or "end" for group markers


def _skip_comment(text: str, pos: int) -> tuple[str, int]:
    """``text[pos]`` is "(": return the comment's content and the position after it
    (comments nest, RFC 5322 §3.2.2)."""
    depth = 0
    i = pos
    start = pos + 1
    while True:
        m = _PAREN.search(text, i)
        if m is None:
            return text[start:], len(text)
        ch = m.group()
        if ch == "\\":
            i = m.end() + 1
            continue
        depth += 1 if ch == "(" else -1
        i = m.end()
        if depth == 0:
            return text[start : i - 1], i


def parse_address_list(text: str | None) -> list[RawAddress]:
    """Parse an address-list with groups; never raises, keeps what it can.

    At most ``MAX_ADDRESS_CHARS`` of the field and ``MAX_ADDRESSES`` addresses are
    read: far beyond any real recipient list, and it bounds the work per message.
    """
    if not text:
        return []
    text = text[:MAX_ADDRESS_CHARS]
    result: list[RawAddress] = []
    words: list[tuple[str, str]] = []  # (kind, text) of the address being read
    angle: str | None = None
    comment = ""
    in_group = False
    has_at = False  # an "@" among ``words``: a ":" then is not a group start

    def flush() -> None:
        nonlocal angle, comment, has_at
        has_at = False
        address = _make_address(words, angle, comment)
        if address is not None:
            result.append(address)
        words.clear()
        angle = None
        comment = ""

    pos = 0
    length = len(text)
    while pos < length:
        m = _ADDR_TOKEN.match(text, pos)
        if m is None:  # pragma: no cover - the pattern matches any character
            break
        kind = m.lastgroup or "junk"
        pos = m.end()
        if kind == "ws" or kind == "junk":
            continue
        if kind == "lp":
            content, pos = _skip_comment(text, m.start())
            if not comment:
                comment = content.strip()
            continue
        tok = m.group()
        if kind == "angle":
            angle = tok[1:-1] if tok.endswith(">") else tok[1:]
        elif tok == ",":
            flush()
            if len(result) >= MAX_ADDRESSES:
                break
        elif tok == ":" and not in_group and angle is None and not has_at:
            name = " ".join(_word_text(k, t) for k, t in words)
            result.append(RawAddress(name="", mailbox=name, host="", group="start"))
            words.clear()
            comment = ""
            in_group = True
        elif tok == ";":
            flush()
            if in_group:
                result.append(RawAddress(name="", mailbox="", host="", group="end"))
                in_group = False
        else:
            has_at = has_at or tok == "@"
            words.append((kind, tok))
    flush()
    if in_group:
        result.append(RawAddress(name="", mailbox="", host="", group="end"))
    return result


def _word_text(kind: str, tok: str) -> str:
    return _unquote(tok) if kind == "qs" else tok


def _make_address(
    words: list[tuple[str, str]], angle: str | None, comment: str
) -> RawAddress | None:
    if angle is not None:
        spec = "".join(angle.split())
        name = " ".join(_word_text(k, t) for k, t in words) or comment
    elif words:
        if ("sp", "@") in words:
            spec = "".join(t for _, t in words)
        else:
            spec = " ".join(t for _, t in words)
        name = comment
    else:
        return None
    route = ""
    if spec.startswith("@") and ":" in spec:
        # Obsolete source route (RFC 5322 §4.4), the ENVELOPE "adl".
        route, spec = spec.split(":", 1)
    mailbox, at, host = spec.rpartition("@")
    if not at:
        mailbox, host = spec, ""
    if not mailbox and not host and not name:
        return None
    return RawAddress(name=name.strip(), mailbox=mailbox, host=host, route=route)


# --- Message identifiers (RFC 5322 §3.6.4) ----------------------------------------

_MSG_ID = re.compile(r"<([^<>]*)>")


def message_ids(text: str | None) -> list[str]:
    """All ``<id>`` in a Message-ID, In-Reply-To or References value, brackets
    kept. Free text between them (old mailers put phrases there) is ignored; a
    value without brackets that looks like an id is bracketed."""
    if not text:
        return []
    found = ["<" + "".join(inner.split()) + ">" for inner in _MSG_ID.findall(text)]
    found = [f for f in found if f != "<>"]
    if not found:
        for tok in text.split():
            if "@" in tok and "<" not in tok and ">" not in tok:
                found.append(f"<{tok}>")
    return found
