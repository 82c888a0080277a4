"""Parse once at delivery: this module turns the raw bytes of a message into its part
map (every MIME entity with exact byte offsets into those raw bytes, RFC 2045/2046),
its IMAP ENVELOPE (RFC 3501 §7.4.2), the decoded header fields the store caches
(subject, addresses, date, identifiers, thread key), a preview, the text for the
full-text index and the list of attachments. IMAP ``BODY[1.2]``, ``BODYSTRUCTURE``
and the webmail read slices of the raw bytes through the part map; nothing here
re-serialises a parsed message.

Boundaries are found by our own scan over the bytes (``bytes.find``, no copy of the
buffer per part), with CRLF and bare LF line ends alike. ``parse_message`` never
raises: whatever is broken is recorded in ``defects`` and the best reading is kept,
because refusing or losing a message at delivery is worse than showing it imperfectly.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

from academail.mime.headers import (
    HeaderBlock,
    RawAddress,
    decode_words,
    message_ids,
    parse_address_list,
    parse_content_type,
    parse_params,
    raw_params,
    split_header,
)
from academail.mime.text import (
    clean_text,
    codec_for,
    collapse_whitespace,
    decode_text,
    html_to_text,
    transfer_decode,
)

MAX_DEPTH = 100
MAX_PARTS = 10_000
PREVIEW_CHARS = 200
SEARCH_TEXT_BYTES = 256 * 1024
# How much of a part's raw body is decoded for the preview and the index: enough
# for the text that fits in SEARCH_TEXT_BYTES, without decoding a 30 MB part.
_TEXT_RAW_BUDGET = 4 * SEARCH_TEXT_BYTES
_HTML_PREVIEW_RAW_BUDGET = 512 * 1024

_IDENTITY_ENCODINGS = ("7bit", "8bit", "binary")
_MESSAGE_TYPES = ("message/rfc822", "message/global")
# RFC 2046 §5.1.1: delimiter = "--" boundary, then optional "--" (close delimiter),
# transport padding, then the line end. Anything else after the boundary means the
# line is not a delimiter (a nested boundary may start with an outer one).
_DELIMITER_TAIL = re.compile(rb"(--)?[ \t]*(?:\r?\n|\Z)")
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|tr|réf|ref|rép|rep|aw|wg|sv|antw)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*)+",
    re.I,
)


# --- Data model -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    """One address. ``name`` is decoded in ``ParsedMessage`` address lists and kept
    as written (encoded-words intact, quotes removed) in an ``Envelope``, which is
    what IMAP clients expect (RFC 3501 §7.4.2).

    ``group`` is None for a mailbox. In an ``Envelope``, RFC 5322 groups appear as
    markers: ``group="start"`` with the group name in ``mailbox``, and
    ``group="end"``; the IMAP layer sends both with a NIL host. A mailbox without a
    domain has ``host == ""``.
    """

    name: str
    mailbox: str
    host: str
    route: str = ""
    group: str | None = None

    @property
    def addr(self) -> str:
        return f"{self.mailbox}@{self.host}" if self.host else self.mailbox

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "mailbox": self.mailbox, "host": self.host}
        if self.route:
            d["route"] = self.route
        if self.group:
            d["group"] = self.group
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Address:
        return cls(
            name=str(d.get("name", "")),
            mailbox=str(d.get("mailbox", "")),
            host=str(d.get("host", "")),
            route=str(d.get("route", "")),
            group=d.get("group"),
        )


@dataclass(slots=True)
class Envelope:
    """RFC 3501 §7.4.2 ENVELOPE. ``date``, ``subject``, ``in_reply_to`` and
    ``message_id`` are the header values as written (unfolded, not decoded), None
    when the field is absent. ``sender`` and ``reply_to`` already default to
    ``from_`` when absent or empty, as RFC 3501 requires of the server."""

    date: str | None = None
    subject: str | None = None
    from_: list[Address] = field(default_factory=list)
    sender: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    in_reply_to: str | None = None
    message_id: str | None = None

    _LISTS = ("from", "sender", "reply_to", "to", "cc", "bcc")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "date": self.date,
            "subject": self.subject,
            "in_reply_to": self.in_reply_to,
            "message_id": self.message_id,
        }
        for key in self._LISTS:
            d[key] = [a.to_dict() for a in getattr(self, "from_" if key == "from" else key)]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Envelope:
        def addresses(key: str) -> list[Address]:
            return [Address.from_dict(a) for a in d.get(key) or []]

        return cls(
            date=d.get("date"),
            subject=d.get("subject"),
            from_=addresses("from"),
            sender=addresses("sender"),
            reply_to=addresses("reply_to"),
            to=addresses("to"),
            cc=addresses("cc"),
            bcc=addresses("bcc"),
            in_reply_to=d.get("in_reply_to"),
            message_id=d.get("message_id"),
        )


@dataclass(frozen=True, slots=True)
class Part:
    """One MIME entity and where it lies in the raw bytes.

    ``raw[start:body_start]`` is its header including the blank line,
    ``raw[body_start:end]`` its body. The line end before a boundary belongs to the
    delimiter (RFC 2046 §5.1.1), so it is not in ``end``.

    ``section`` is the IMAP part specifier prefix (RFC 3501 §6.4.5): "" for the
    top-level message, "1.2" for a part; the root of a message embedded in the
    message/rfc822 part "2" has section "2" and its parts are "2.1", "2.2"... (a
    message whose own root is message/rfc822 is part "1", so its embedded root has
    section "1"). Use
    ``find_part`` to resolve a specifier, and ``iter_parts`` for the IMAP numbers of
    single-part message bodies ("1", "2.1").

    ``message`` is set for message/rfc822 and message/global parts whose body could
    be parsed as a message (identity transfer encoding, depth limit not reached);
    otherwise the IMAP layer must describe the part as a basic body.
    """

    section: str
    start: int
    body_start: int
    end: int
    content_type: str = "text/plain"
    params: dict[str, str] = field(default_factory=dict)
    disposition: str | None = None
    disposition_params: dict[str, str] = field(default_factory=dict)
    # The parameters as written (``headers.raw_params``), which BODYSTRUCTURE
    # sends (RFC 3501 §7.4.2); ``params`` above are decoded for our own pages.
    # None: same as the decoded ones (kept only when they differ).
    raw_params: dict[str, str] | None = None
    raw_disposition_params: dict[str, str] | None = None
    filename: str | None = None
    content_id: str | None = None
    description: str | None = None
    encoding: str = "7bit"
    language: str | None = None
    location: str | None = None
    md5: str | None = None
    lines: int = 0
    children: tuple[Part, ...] = ()
    message: MessageInfo | None = None

    @property
    def size(self) -> int:
        """Body size in octets, as in BODYSTRUCTURE."""
        return self.end - self.body_start

    @property
    def maintype(self) -> str:
        return self.content_type.partition("/")[0]

    @property
    def subtype(self) -> str:
        return self.content_type.partition("/")[2]

    @property
    def is_multipart(self) -> bool:
        return bool(self.children)

    @property
    def charset(self) -> str | None:
        return self.params.get("charset")

    def walk(self) -> Iterator[Part]:
        """This part and every part below it, embedded messages included, in order."""
        yield self
        for child in self.children:
            yield from child.walk()
        if self.message is not None:
            yield from self.message.root.walk()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "section": self.section,
            "start": self.start,
            "body_start": self.body_start,
            "end": self.end,
            "content_type": self.content_type,
            "params": dict(self.params),
            "encoding": self.encoding,
            "lines": self.lines,
        }
        optional = {
            "disposition": self.disposition,
            "disposition_params": dict(self.disposition_params) or None,
            "raw_params": self.raw_params,
            "raw_disposition_params": self.raw_disposition_params,
            "filename": self.filename,
            "content_id": self.content_id,
            "description": self.description,
            "language": self.language,
            "location": self.location,
            "md5": self.md5,
        }
        d.update({k: v for k, v in optional.items() if v is not None})
        if self.children:
            d["children"] = [c.to_dict() for c in self.children]
        if self.message is not None:
            d["message"] = self.message.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Part:
        message = d.get("message")
        return cls(
            section=str(d["section"]),
            start=int(d["start"]),
            body_start=int(d["body_start"]),
            end=int(d["end"]),
            content_type=str(d.get("content_type", "text/plain")),
            params=dict(d.get("params") or {}),
            disposition=d.get("disposition"),
            disposition_params=dict(d.get("disposition_params") or {}),
            raw_params=d.get("raw_params"),
            raw_disposition_params=d.get("raw_disposition_params"),
            filename=d.get("filename"),
            content_id=d.get("content_id"),
            description=d.get("description"),
            encoding=str(d.get("encoding", "7bit")),
            language=d.get("language"),
            location=d.get("location"),
            md5=d.get("md5"),
            lines=int(d.get("lines", 0)),
            children=tuple(cls.from_dict(c) for c in d.get("children") or ()),
            message=MessageInfo.from_dict(message) if message else None,
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Part:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """A message embedded in a message/rfc822 part: its ENVELOPE and part map, which
    BODYSTRUCTURE nests (RFC 3501 §7.4.2)."""

    envelope: Envelope
    root: Part

    def to_dict(self) -> dict[str, Any]:
        return {"envelope": self.envelope.to_dict(), "root": self.root.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MessageInfo:
        return cls(envelope=Envelope.from_dict(d["envelope"]), root=Part.from_dict(d["root"]))


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    section: str  # IMAP part number, e.g. "2" or "1.2"; "1" for a single-part message
    filename: str | None
    content_type: str
    size: int  # decoded size, estimated from the encoded size for base64
    inline: bool
    content_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "inline": self.inline,
            "content_id": self.content_id,
        }


@dataclass(slots=True)
class ParsedMessage:
    root: Part
    envelope: Envelope
    subject: str = ""
    from_: list[Address] = field(default_factory=list)
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    date: datetime | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    preview: str = ""
    search_text: str = ""
    # Every top-level header field as "name: value" lines (names lower-case,
    # values unfolded and decoded: RFC 2047 words, charsets), for SEARCH HEADER
    # and TEXT (RFC 3501 §6.4.4); at most SEARCH_TEXT_BYTES.
    header_text: str = ""
    has_attachments: bool = False
    attachments: list[AttachmentInfo] = field(default_factory=list)
    thread_key: str = ""
    defects: list[str] = field(default_factory=list)

    def structure_json(self) -> str:
        """The part map as compact JSON, as the store keeps it."""
        return self.root.to_json()


# --- Raw access -------------------------------------------------------------------


def header_bytes(raw: bytes, part: Part) -> bytes:
    """Exact header of ``part`` with its blank line: IMAP ``BODY[1.2.MIME]``, or
    ``BODY[HEADER]`` for a message root (for ``BODY[2.HEADER]`` pass
    ``part.message.root``)."""
    return raw[part.start : part.body_start]


def body_bytes(raw: bytes, part: Part) -> bytes:
    """Exact body of ``part``, still transfer-encoded: IMAP ``BODY[1.2]``, or
    ``BODY[TEXT]`` for a message root."""
    return raw[part.body_start : part.end]


def decode_part_body(raw: bytes, part: Part) -> bytes:
    """Body of ``part`` with its Content-Transfer-Encoding undone (RFC 2045 §6)."""
    return transfer_decode(raw[part.body_start : part.end], part.encoding)


def part_text(raw: bytes, part: Part) -> str:
    """Body of ``part`` as text, decoded with its charset and the fallbacks of
    ``academail.mime.text.decode_text``."""
    return decode_text(decode_part_body(raw, part), part.charset)


def find_part(root: Part, section: str) -> Part | None:
    """Resolve an IMAP part specifier (RFC 3501 §6.4.5) against a part map.

    "" is the message itself. A single-part message has only part "1", which is
    its root; the parts of a message/rfc822 part "2" are "2.1", "2.2"..., or "2.1"
    alone for its body when the embedded message is single-part.
    """
    if section == "":
        return root
    numbers: list[int] = []
    for piece in section.split("."):
        if not piece.isdigit() or len(piece) > 9 or int(piece) < 1:
            return None
        numbers.append(int(piece))
    current = root
    at_message_root = True
    for i, number in enumerate(numbers):
        if current.children:
            if number > len(current.children):
                return None
            current = current.children[number - 1]
        elif not (at_message_root and number == 1):
            return None
        at_message_root = False
        if i < len(numbers) - 1 and current.message is not None:
            current = current.message.root
            at_message_root = True
    return current


def iter_parts(root: Part) -> Iterator[tuple[str, Part]]:
    """Every part with its IMAP part number, embedded messages included. A
    multipart is yielded under its own prefix ("" for the message's root), a
    single-part message body under "1" (or "2.1" inside message/rfc822 part "2")."""
    return _iter_parts(root, at_message_root=True)


def _iter_parts(part: Part, *, at_message_root: bool) -> Iterator[tuple[str, Part]]:
    if part.children:
        yield part.section, part
        for child in part.children:
            yield from _iter_parts(child, at_message_root=False)
        return
    section = part.section
    if at_message_root:
        section = f"{section}.1" if section else "1"
    yield section, part
    if part.message is not None:
        yield from _iter_parts(part.message.root, at_message_root=True)


# --- Parsing ----------------------------------------------------------------------


class _Context:
    __slots__ = ("raw", "defects", "parts", "depth_defect")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.defects: list[str] = []
        self.parts = 0
        self.depth_defect = False

    def defect(self, section: str, text: str) -> None:
        if len(self.defects) < 1000:
            self.defects.append(f"{section or 'message'}: {text}")


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse a whole message. Never raises; see ``ParsedMessage.defects``."""
    if not isinstance(raw, bytes):
        raw = bytes(raw)
    try:
        return _parse_message(raw)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not lose a message
        root = Part(
            section="", start=0, body_start=0, end=len(raw), lines=_count_lines(raw, 0, len(raw))
        )
        return ParsedMessage(
            root=root,
            envelope=Envelope(),
            thread_key=_thread_key([], None, None, "", raw),
            defects=[f"internal error: {type(exc).__name__}: {exc}"],
        )


def _parse_message(raw: bytes) -> ParsedMessage:
    ctx = _Context(raw)
    root, block = _parse_entity(ctx, 0, len(raw), "", 0, "text/plain", message_root=True)
    raw_lists = _raw_addresses(block)
    envelope = _envelope(block, raw_lists)
    subject_raw = block.get("subject")
    subject = collapse_whitespace(decode_words(subject_raw)) if subject_raw else ""
    msg = ParsedMessage(root=root, envelope=envelope, subject=subject, defects=ctx.defects)
    msg.from_ = _decoded(raw_lists["from"])
    msg.to = _decoded(raw_lists["to"])
    msg.cc = _decoded(raw_lists["cc"])
    msg.bcc = _decoded(raw_lists["bcc"])
    msg.reply_to = _decoded(raw_lists["reply-to"])
    msg.date = _parse_date(block.get("date"))
    if block.get("date") is not None and msg.date is None:
        ctx.defect("", "unparseable Date")
    own_ids = message_ids(block.get("message-id"))
    msg.message_id = own_ids[0] if own_ids else None
    reply_ids = message_ids(block.get("in-reply-to"))
    msg.in_reply_to = reply_ids[0] if reply_ids else None
    msg.references = message_ids(block.get("references"))[:500]
    msg.thread_key = _thread_key(msg.references, msg.in_reply_to, msg.message_id, subject, raw)
    msg.attachments = _attachments(ctx, root)
    msg.has_attachments = any(
        not (a.inline and a.content_id and a.content_type.startswith("image/"))
        for a in msg.attachments
    )
    msg.preview = _preview(raw, root)
    msg.search_text = _search_text(raw, root, msg.attachments)
    msg.header_text = _header_text(block)
    return msg


def _header_text(block: HeaderBlock) -> str:
    lines: list[str] = []
    size = 0
    for name, value in block.fields():
        line = f"{name}: {collapse_whitespace(decode_words(value))}"
        size += len(line) + 1
        if size > SEARCH_TEXT_BYTES:
            break
        lines.append(line)
    return "\n".join(lines)


def _parse_entity(
    ctx: _Context,
    start: int,
    end: int,
    section: str,
    depth: int,
    default_type: str,
    *,
    message_root: bool,
) -> tuple[Part, HeaderBlock]:
    raw = ctx.raw
    ctx.parts += 1
    block = split_header(raw, start, end, allow_unixfrom=message_root and start == 0)
    for text in block.defects:
        ctx.defect(section, text)
    content_type_value = block.get("content-type")
    content_type, params, defects = parse_content_type(content_type_value, default_type)
    for text in defects:
        ctx.defect(section, text)
    charset = params.get("charset")
    if charset and content_type.startswith("text/") and codec_for(charset) is None:
        ctx.defect(section, f"unknown charset {charset[:40]!r}, read as UTF-8 or windows-1252")
    encoding = (block.get("content-transfer-encoding") or "7bit").lower().split(";")[0].strip()
    encoding = encoding.strip("\"'") or "7bit"
    disposition: str | None = None
    disposition_params: dict[str, str] = {}
    raw_disposition: dict[str, str] = {}
    disposition_value = block.get("content-disposition")
    if disposition_value is not None:
        disposition, disposition_params, defects = parse_params(disposition_value)
        disposition = disposition or None
        raw_disposition = raw_params(disposition_value)
        for text in defects:
            ctx.defect(section, f"Content-Disposition {text}")
    filename = disposition_params.get("filename") or params.get("name")
    body_start = block.body_start
    children: tuple[Part, ...] = ()
    message: MessageInfo | None = None

    limited = depth >= MAX_DEPTH or ctx.parts >= MAX_PARTS
    if content_type.startswith("multipart/"):
        if limited:
            content_type = _over_limit(ctx, section, depth)
        else:
            children = _parse_multipart(ctx, body_start, end, section, depth, content_type, params)
            if not children:
                # A multipart with no body part cannot be described in BODYSTRUCTURE;
                # read it as text, as for an invalid Content-Type (RFC 2045 §5.2).
                content_type = "text/plain"
    elif content_type in _MESSAGE_TYPES:
        if encoding not in _IDENTITY_ENCODINGS:
            # RFC 2046 §5.2.1 forbids encoding message/rfc822: offsets into the
            # encoded body would not be offsets of the embedded message.
            ctx.defect(section, f"{content_type} with {encoding} encoding kept opaque")
        elif limited:
            content_type = _over_limit(ctx, section, depth)
        else:
            # The embedded message is numbered under this part's IMAP number, which
            # for a single-part message root is "1" (RFC 3501 §6.4.5).
            inner_section = (f"{section}.1" if section else "1") if message_root else section
            inner, inner_block = _parse_entity(
                ctx, body_start, end, inner_section, depth + 1, "text/plain", message_root=True
            )
            message = MessageInfo(envelope=_envelope(inner_block), root=inner)

    part = Part(
        section=section,
        start=start,
        body_start=body_start,
        end=end,
        content_type=content_type,
        params=params,
        disposition=disposition,
        disposition_params=disposition_params,
        raw_params=_unless_same(raw_params(content_type_value), params),
        raw_disposition_params=_unless_same(raw_disposition, disposition_params),
        filename=_sanitize_filename(filename),
        content_id=block.get("content-id") or None,
        description=block.get("content-description") or None,
        encoding=encoding,
        language=block.get("content-language") or None,
        location=block.get("content-location") or None,
        md5=block.get("content-md5") or None,
        lines=_count_lines(raw, body_start, end),
        children=children,
        message=message,
    )
    return part, block


def _unless_same(raw: dict[str, str], decoded: dict[str, str]) -> dict[str, str] | None:
    return None if raw == decoded else raw


def _over_limit(ctx: _Context, section: str, depth: int) -> str:
    if depth >= MAX_DEPTH:
        if not ctx.depth_defect:
            ctx.defect(section, f"nesting deeper than {MAX_DEPTH} levels, kept opaque")
            ctx.depth_defect = True
    else:
        ctx.defect(section, f"more than {MAX_PARTS} parts, rest kept opaque")
    # Described as an opaque leaf so no reader expects a structure underneath.
    return "application/octet-stream"


def _parse_multipart(
    ctx: _Context,
    body_start: int,
    end: int,
    section: str,
    depth: int,
    content_type: str,
    params: dict[str, str],
) -> tuple[Part, ...]:
    boundary = params.get("boundary", "")
    if not boundary:
        ctx.defect(section, f"{content_type} without boundary")
        return ()
    try:
        delimiter = b"--" + boundary.encode("ascii")
    except UnicodeEncodeError:
        delimiter = b"--" + boundary.encode("utf-8")
    limit = max(1, MAX_PARTS - ctx.parts)
    spans, closed, truncated = _split_multipart(ctx.raw, body_start, end, delimiter, limit)
    if not spans:
        ctx.defect(section, "no boundary delimiter found")
        return ()
    if truncated:
        ctx.defect(section, f"more than {MAX_PARTS} parts, rest ignored")
    elif not closed:
        ctx.defect(section, "missing close delimiter")
    # RFC 2046 §5.1.5: in a digest, a part without Content-Type is a message.
    child_default = "message/rfc822" if content_type == "multipart/digest" else "text/plain"
    children: list[Part] = []
    for index, (child_start, child_end) in enumerate(spans, 1):
        if ctx.parts >= MAX_PARTS:
            ctx.defect(section, f"more than {MAX_PARTS} parts, rest ignored")
            break
        child_section = f"{section}.{index}" if section else str(index)
        child, _ = _parse_entity(
            ctx,
            child_start,
            child_end,
            child_section,
            depth + 1,
            child_default,
            message_root=False,
        )
        children.append(child)
    return tuple(children)


def _split_multipart(
    raw: bytes, body_start: int, end: int, delimiter: bytes, limit: int
) -> tuple[list[tuple[int, int]], bool, bool]:
    """Spans of the body parts between delimiter lines (RFC 2046 §5.1.1), whether
    the close delimiter was seen, and whether ``limit`` parts were reached. Text
    before the first delimiter (the preamble) and after the close delimiter (the
    epilogue) belongs to no part.

    One regular expression finds "LF --boundary" followed by "--", padding and a
    line end, so candidates that are not delimiters (inside a line, or a longer
    boundary of a nested multipart) are skipped without a Python-level loop.
    """
    pattern = _delimiter_pattern(delimiter)
    spans: list[tuple[int, int]] = []
    current: int | None = None
    # The first delimiter may open the body: its line end was the blank line's.
    if raw.startswith(delimiter, body_start, end):
        tail = _DELIMITER_TAIL.match(raw, body_start + len(delimiter), end)
        if tail is not None:
            if tail.group(1):
                return spans, True, False
            current = tail.end()
    pos = body_start if current is None else current - 1
    while True:
        m = pattern.search(raw, max(pos, body_start), end)
        if m is None:
            break
        # The line end before "--boundary" is part of the delimiter.
        i = m.start()
        part_end = i - 1 if i > body_start and raw[i - 1] == 0x0D else i
        if current is not None:
            # "--b CRLF --b": the second delimiter reuses the first one's line end.
            spans.append((current, max(part_end, current)))
            if len(spans) >= limit:
                return spans, False, True
        if m.group(1):
            return spans, True, False
        current = m.end()
        pos = current - 1
    if current is not None:
        spans.append((current, end))
    return spans, False, False


@lru_cache(maxsize=1024)
def _delimiter_pattern(delimiter: bytes) -> re.Pattern[bytes]:
    return re.compile(b"\n" + re.escape(delimiter) + rb"(--)?[ \t]*(?:\r?\n|\Z)")


def _count_lines(raw: bytes, start: int, end: int) -> int:
    if end <= start:
        return 0
    lines = raw.count(b"\n", start, end)
    if raw[end - 1] != 0x0A:
        lines += 1
    return lines


# --- Header fields ----------------------------------------------------------------


def _to_address(a: RawAddress, *, decode: bool) -> Address:
    name = collapse_whitespace(decode_words(a.name)) if decode else a.name
    return Address(name=name, mailbox=a.mailbox, host=a.host, route=a.route, group=a.group)


_ADDRESS_FIELDS = ("from", "sender", "reply-to", "to", "cc", "bcc")


def _raw_addresses(block: HeaderBlock) -> dict[str, list[RawAddress]]:
    return {name: parse_address_list(block.get(name)) for name in _ADDRESS_FIELDS}


def _decoded(addresses: list[RawAddress]) -> list[Address]:
    return [_to_address(a, decode=True) for a in addresses if a.group is None]


def _envelope(block: HeaderBlock, raw_lists: dict[str, list[RawAddress]] | None = None) -> Envelope:
    lists = {
        name: [_to_address(a, decode=False) for a in addresses]
        for name, addresses in (raw_lists or _raw_addresses(block)).items()
    }
    return Envelope(
        date=block.get("date"),
        subject=block.get("subject"),
        from_=lists["from"],
        # RFC 3501 §7.4.2: absent or empty Sender and Reply-To take From's value.
        sender=lists["sender"] or list(lists["from"]),
        reply_to=lists["reply-to"] or list(lists["from"]),
        to=lists["to"],
        cc=lists["cc"],
        bcc=lists["bcc"],
        in_reply_to=block.get("in-reply-to"),
        message_id=block.get("message-id"),
    )


def _parse_date(value: str | None) -> datetime | None:
    """RFC 5322 §3.3 date, as an aware datetime ("-0000", unknown zone: UTC)."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def normalize_subject(subject: str) -> str:
    """Subject without reply and forward prefixes, French and English ("Re:",
    "RE :", "Fwd:", "TR:", "Réf. :"...), lower-cased, white space collapsed."""
    text = collapse_whitespace(subject).replace("Réf.", "Réf").replace("réf.", "réf")
    while True:
        stripped = _REPLY_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return text.strip().casefold()


def _thread_key(
    references: list[str], in_reply_to: str | None, message_id: str | None, subject: str, raw: bytes
) -> str:
    """The conversation root's Message-ID when known, else the normalised subject,
    hashed so the key has a fixed length for an index."""
    root_id = references[0] if references else in_reply_to or message_id
    if root_id:
        return "m:" + hashlib.sha256(root_id.encode("utf-8", "replace")).hexdigest()[:32]
    normalized = normalize_subject(subject)
    if normalized:
        return "s:" + hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:32]
    # Neither identifiers nor subject: a conversation of its own.
    return "u:" + hashlib.sha256(raw).hexdigest()[:32]


_BIDI_AND_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _sanitize_filename(name: str | None) -> str | None:
    """Last path component, without controls or bidirectional overrides (which
    disguise "gpj.exe" as "exe.jpg"), at most 255 characters."""
    if not name:
        return None
    name = re.split(r"[/\\]", name)[-1]
    name = _BIDI_AND_CONTROL.sub("", name).strip()
    if name in ("", ".", ".."):
        return None
    return name[:255]


# --- Text, preview, attachments ---------------------------------------------------


def _decode_prefix(raw: bytes, part: Part, budget: int) -> str:
    end = min(part.end, part.body_start + budget)
    data = transfer_decode(raw[part.body_start : end], part.encoding)
    return clean_text(decode_text(data, part.charset, final=end == part.end))


def is_attachment(part: Part) -> bool:
    """Whether a leaf part is an attachment rather than a body: marked as
    one, named, an embedded message, or anything but text."""
    if part.children:
        return False
    if part.disposition == "attachment" or part.filename:
        return True
    if part.content_type in _MESSAGE_TYPES:
        return True
    return not part.content_type.startswith("text/")


def _attachments(ctx: _Context, root: Part) -> list[AttachmentInfo]:
    found: list[AttachmentInfo] = []

    def visit(part: Part, section: str, parent_type: str) -> None:
        if part.children:
            for child in part.children:
                visit(child, child.section, part.content_type)
            return
        if not is_attachment(part):
            return
        inline = part.disposition == "inline" or (
            part.disposition is None
            and part.content_id is not None
            and parent_type == "multipart/related"
        )
        found.append(
            AttachmentInfo(
                section=section,
                filename=part.filename,
                content_type=part.content_type,
                size=_decoded_size(ctx.raw, part),
                inline=inline,
                content_id=part.content_id,
            )
        )

    # A single-part message is IMAP part "1" (RFC 3501 §6.4.5). Attachments inside
    # a forwarded message stay with it: the message/rfc822 part is the attachment.
    visit(root, "1", "")
    return found


def _decoded_size(raw: bytes, part: Part) -> int:
    size = part.end - part.body_start
    if part.encoding == "base64":
        line_ends = raw.count(b"\n", part.body_start, part.end)
        line_ends += raw.count(b"\r", part.body_start, part.end)
        return max(0, size - line_ends) * 3 // 4
    return size


def _body_candidates(part: Part) -> Iterator[Part]:
    """Text parts a reader sees as the message body, in order; does not enter
    attachments or forwarded messages. In multipart/alternative, plain text comes
    first, then the richer versions."""
    if part.children:
        children: list[Part] = list(part.children)
        if part.content_type == "multipart/alternative":
            children.sort(key=lambda c: c.content_type != "text/plain")
        for child in children:
            yield from _body_candidates(child)
    elif part.content_type in ("text/plain", "text/html") and part.disposition != "attachment":
        if not part.filename:
            yield part


def _preview(raw: bytes, root: Part) -> str:
    html_part: Part | None = None
    for part in _body_candidates(root):
        if part.content_type == "text/plain":
            text = collapse_whitespace(_decode_prefix(raw, part, 16 * PREVIEW_CHARS))
            if text:
                return text[:PREVIEW_CHARS].rstrip()
        elif html_part is None:
            html_part = part
    if html_part is not None:
        text = html_to_text(_decode_prefix(raw, html_part, _HTML_PREVIEW_RAW_BUDGET))
        return collapse_whitespace(text)[:PREVIEW_CHARS].rstrip()
    return ""


def _search_text(raw: bytes, root: Part, attachments: list[AttachmentInfo]) -> str:
    pieces = [a.filename for a in attachments if a.filename]
    size = sum(len(p) for p in pieces)

    def visit(part: Part) -> None:
        nonlocal size
        if size >= SEARCH_TEXT_BYTES:
            return
        if part.children:
            children = part.children
            if part.content_type == "multipart/alternative":
                # One version of the same text is enough; prefer plain text.
                plain = [c for c in children if c.content_type == "text/plain"]
                children = (plain[0] if plain else children[-1],)
            for child in children:
                visit(child)
        elif part.message is not None:
            subject = part.message.envelope.subject
            if subject:
                pieces.append(collapse_whitespace(decode_words(subject)))
            visit(part.message.root)
        elif part.maintype == "text":
            text = _decode_prefix(raw, part, _TEXT_RAW_BUDGET)
            if part.content_type == "text/html":
                text = html_to_text(text)
            text = collapse_whitespace(text)
            if text:
                pieces.append(text)
                size += len(text)

    visit(root)
    joined = "\n".join(pieces)
    encoded = joined.encode("utf-8")
    if len(encoded) > SEARCH_TEXT_BYTES:
        joined = encoded[:SEARCH_TEXT_BYTES].decode("utf-8", "ignore")
    return joined
