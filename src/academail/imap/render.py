"""FETCH data from the store's part map and blob (RFC 3501 §6.4.5, §7.4.2):
ENVELOPE and BODYSTRUCTURE from the dictionaries stored at delivery, body
sections as byte ranges of ``prefix + blob`` (part offsets are blob-relative),
never by re-parsing or re-serialising a message."""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from typing import Any

from academail.imap.parsing.fetch import FetchItem, Section
from academail.imap.responses import imap_date_time, nstring, quoted, string
from academail.lru import LRU
from academail.mime.parse import Part, find_part
from academail.mime.text import transfer_decode
from academail.store.imap import FetchRow, Flag

BlobReader = Callable[[str, int, int], bytes]


def flag_names(flags: int, keywords: str) -> list[str]:
    names = [name for bit, name in Flag.NAMES.items() if flags & bit]
    names.extend(keywords.split())
    return names


def flags_item(flags: int, keywords: str, recent: bool = False) -> bytes:
    names = flag_names(flags, keywords)
    if recent:
        names.append("\\Recent")  # RFC 3501 §2.3.2: session state, never stored
    return b"FLAGS (" + " ".join(names).encode("utf-8", "replace") + b")"


# --- rendered pieces, per content --------------------------------------------------


# Bytes rendered once per content, keyed by its SHA-256 (the same bytes always
# give the same ENVELOPE, BODYSTRUCTURE and header), least recently used out
# first (``academail.lru``, one weight an entry). Rendering an ENVELOPE (and
# decoding the stored JSON it comes from) was most of an initial sync's cost;
# a second device, or a client that syncs again, now gets the bytes as they
# were. Shared by the store threads: the LRU has its lock.
#
# About 0.3-1 KB an entry: ~20 MB for ENVELOPEs and BODYSTRUCTUREs of 50,000
# messages, ~10 MB of top-level headers for the newest messages of many boxes.
ENVELOPES: LRU[str, bytes] = LRU(50_000)
STRUCTURES: LRU[str, bytes] = LRU(50_000)  # key: "S" (BODYSTRUCTURE) or "B" (BODY) + sha256
HEADERS: LRU[str, bytes] = LRU(10_000)  # the blob's top-level header (the prefix is per message)


@dataclass
class Pinned:
    """What the caches held for one chunk of rows, taken once so that an
    eviction meanwhile cannot leave a row without its data; and the contents
    whose stored JSON must be read because something was missing."""

    envelopes: dict[str, bytes] = field(default_factory=dict)
    structures: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, bytes] = field(default_factory=dict)
    need_envelope: set[str] = field(default_factory=set)
    need_root: set[str] = field(default_factory=set)


def _root_header_item(item: FetchItem) -> bool:
    if item.name == "RFC822.HEADER":
        return True
    section = item.section
    return section is not None and not section.part and section.text in ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT")


def _needs_root(item: FetchItem) -> bool:
    """Whether ``item`` needs the part map beyond the cached pieces."""
    if item.name == "RFC822.TEXT":
        return True
    section = item.section
    if section is None:
        return False
    return bool(section.part) or section.text == "TEXT" or section.text == "MIME"


def pin(rows: Iterable[FetchRow], items: Iterable[FetchItem]) -> Pinned:
    items = list(items)
    names = {i.name for i in items}
    want_envelope = "ENVELOPE" in names
    kinds = [k for k, n in (("S", "BODYSTRUCTURE"), ("B", "BODY")) if n in names]
    want_header = any(_root_header_item(i) for i in items)
    always_root = any(_needs_root(i) for i in items)
    pinned = Pinned()
    for row in rows:
        sha = row.sha256
        if want_envelope and sha not in pinned.envelopes:
            value = ENVELOPES.get(sha)
            if value is None:
                pinned.need_envelope.add(sha)
            else:
                pinned.envelopes[sha] = value
        if always_root:
            pinned.need_root.add(sha)
        for kind in kinds:
            value = STRUCTURES.get(kind + sha)
            if value is None:
                pinned.need_root.add(sha)
            else:
                pinned.structures[kind + sha] = value
        if want_header and sha not in pinned.headers:
            value = HEADERS.get(sha)
            if value is None:
                pinned.need_root.add(sha)
            else:
                pinned.headers[sha] = value
    return pinned


# --- ENVELOPE ----------------------------------------------------------------------


def _address(a: dict[str, Any]) -> bytes:
    group = a.get("group")
    if group == "start":  # RFC 3501 §7.4.2: group start has NIL host, name in mailbox
        return b"(NIL NIL " + nstring(a.get("mailbox") or "") + b" NIL)"
    if group == "end":
        return b"(NIL NIL NIL NIL)"
    return b"(" + b" ".join(
        [nstring(a.get("name") or None), nstring(a.get("route") or None),
         nstring(a.get("mailbox") or ""), nstring(a.get("host") or None)]
    ) + b")"


def _addresses(items: list[dict[str, Any]] | None) -> bytes:
    if not items:
        return b"NIL"
    return b"(" + b"".join(_address(a) for a in items) + b")"


def envelope(d: dict[str, Any] | None) -> bytes:
    d = d or {}
    return b"(" + b" ".join(
        [
            nstring(d.get("date")), nstring(d.get("subject")),
            _addresses(d.get("from")), _addresses(d.get("sender")), _addresses(d.get("reply_to")),
            _addresses(d.get("to")), _addresses(d.get("cc")), _addresses(d.get("bcc")),
            nstring(d.get("in_reply_to")), nstring(d.get("message_id")),
        ]
    ) + b")"


# --- BODYSTRUCTURE -----------------------------------------------------------------


def _params(params: dict[str, str]) -> bytes:
    if not params:
        return b"NIL"
    return b"(" + b" ".join(string(k) + b" " + string(v) for k, v in params.items()) + b")"


def _disposition(part: Part) -> bytes:
    if not part.disposition:
        return b"NIL"
    params = part.disposition_params if part.raw_disposition_params is None else part.raw_disposition_params
    return b"(" + string(part.disposition) + b" " + _params(params) + b")"


def _language(part: Part) -> bytes:
    if not part.language:
        return b"NIL"
    tags = [t.strip() for t in part.language.split(",") if t.strip()]
    if len(tags) == 1:
        return string(tags[0])
    return b"(" + b" ".join(string(t) for t in tags) + b")" if tags else b"NIL"


def _type_params(part: Part) -> bytes:
    # RFC 3501 §7.4.2: the parameters as in the header (RFC 2231 and RFC 2047
    # forms undecoded); older parses kept only the decoded ones.
    return _params(part.params if part.raw_params is None else part.raw_params)


def bodystructure(part: Part, *, extensible: bool = True) -> bytes:
    """BODYSTRUCTURE (``extensible``) or BODY of ``part`` (RFC 3501 §7.4.2)."""
    if part.children:
        out = b"".join(bodystructure(c, extensible=extensible) for c in part.children)
        out += b" " + string(part.subtype.upper())
        if extensible:
            out += b" " + b" ".join(
                [_type_params(part), _disposition(part), _language(part), nstring(part.location)]
            )
        return b"(" + out + b")"
    fields = [
        string(part.maintype.upper()), string(part.subtype.upper()), _type_params(part),
        nstring(part.content_id), nstring(part.description), string(part.encoding.upper()),
        str(part.size).encode(),
    ]
    if part.message is not None:
        # body-type-msg: envelope, body and line count of the embedded message.
        fields += [
            envelope(part.message.envelope.to_dict()),
            bodystructure(part.message.root, extensible=extensible),
            str(part.lines).encode(),
        ]
    elif part.maintype == "text":
        fields.append(str(part.lines).encode())
    if extensible:
        fields += [nstring(part.md5), _disposition(part), _language(part), nstring(part.location)]
    return b"(" + b" ".join(fields) + b")"


# --- body sections -----------------------------------------------------------------

_FIELD_START = re.compile(rb"(?m)^(?=[^ \t\r\n])")


def header_fields(header: bytes, names: Iterable[str], *, exclude: bool) -> bytes:
    """The fields of ``header`` named (or, with ``exclude``, not named) in
    ``names``, as written, then the blank line (RFC 3501 §6.4.5 HEADER.FIELDS)."""
    wanted = {n.lower().encode("ascii") for n in names}
    body = header.rstrip(b"\r\n")
    kept: list[bytes] = []
    starts = [m.start() for m in _FIELD_START.finditer(body)] + [len(body)]
    for start, end in zip(starts, starts[1:], strict=False):
        chunk = body[start:end]
        name = chunk.split(b":", 1)[0].strip().lower()
        if (name in wanted) != exclude:
            if not chunk.endswith(b"\n"):
                chunk += b"\r\n"
            kept.append(chunk)
    return b"".join(kept) + b"\r\n"


class MessageBytes:
    """``prefix + blob`` of one message, read by ranges."""

    def __init__(self, row: FetchRow, read: BlobReader) -> None:
        self.row = row
        self.read = read
        self.offset = len(row.prefix)

    def blob(self, start: int, end: int) -> bytes:
        return self.read(self.row.sha256, start, end)

    def whole(self) -> bytes:
        return self.row.prefix + self.blob(0, self.row.size - self.offset)


def _root_header(message: MessageBytes, root: Part | None, pinned: Pinned | None) -> bytes:
    """The blob's top-level header, from the cache or read and cached."""
    sha = message.row.sha256
    if pinned is not None:
        cached = pinned.headers.get(sha)
        if cached is not None:
            return cached
    assert root is not None
    header = message.blob(root.start, root.body_start)
    HEADERS.put(sha, header)
    if pinned is not None:
        pinned.headers[sha] = header
    return header


def section_bytes(
    message: MessageBytes, root: Part | None, section: Section, pinned: Pinned | None = None
) -> bytes | None:
    """The bytes of ``section``; None when the part does not exist (the
    response then carries NIL... or an empty string, see RFC 3501 §6.4.5).
    ``root`` may be None only for the whole message and the top-level header
    when ``pinned`` holds that header."""
    spec = ".".join(str(n) for n in section.part)
    text = section.text
    if not spec:
        if text is None:
            return message.whole()
        if text != "TEXT":
            header = message.row.prefix + _root_header(message, root, pinned)
            if text == "HEADER":
                return header
            return header_fields(header, section.fields, exclude=text == "HEADER.FIELDS.NOT")
        assert root is not None
        header = message.row.prefix + message.blob(root.start, root.body_start)
        if text == "HEADER":
            return header
        if text == "TEXT":
            return message.blob(root.body_start, root.end)
        return header_fields(header, section.fields, exclude=text == "HEADER.FIELDS.NOT")
    assert root is not None
    part = find_part(root, spec)
    if part is None:
        return None
    if text is None:
        # A message/rfc822 part's body is the whole embedded message; a multipart's
        # body is everything between its header and its end (RFC 3501 §6.4.5).
        return message.blob(part.body_start, part.end)
    if text == "MIME":
        if part is root:  # "1.MIME" of a single-part message: its header
            return message.row.prefix + message.blob(part.start, part.body_start)
        return message.blob(part.start, part.body_start)
    if part.message is None:
        return None  # HEADER/TEXT only apply to message/rfc822 parts
    inner = part.message.root
    if text == "TEXT":
        return message.blob(inner.body_start, inner.end)
    header = message.blob(inner.start, inner.body_start)
    if text == "HEADER":
        return header
    return header_fields(header, section.fields, exclude=text == "HEADER.FIELDS.NOT")


def _partial(data: bytes, partial: tuple[int, int] | None) -> bytes:
    if partial is None:
        return data
    origin, length = partial
    return data[origin : origin + length]


def literal(data: bytes) -> bytes:
    """An ordinary literal. RFC 3501 §9: its CHAR8 excludes NUL, so a NUL in the
    stored message goes out as 0x80, byte for byte in length (Dovecot does the
    same); BINARY (``literal8``) gives the real bytes."""
    return b"{%d}\r\n" % len(data) + data.replace(b"\0", b"\x80")


def literal8(data: bytes) -> bytes:
    """RFC 3516 §4.2: data holding NUL goes as a literal8 ("~{n}"), which only a
    client that asked for BINARY receives; other data as an ordinary literal."""
    if b"\0" in data:
        return b"~{%d}\r\n" % len(data) + data
    return literal(data)


class UnknownTransferEncoding(ValueError):
    """BINARY of a part whose Content-Transfer-Encoding we cannot undo (RFC 3516
    §4.3: NO [UNKNOWN-CTE])."""


KNOWN_ENCODINGS = frozenset({"7bit", "8bit", "binary", "base64", "quoted-printable"})


def binary_bytes(message: MessageBytes, root: Part, section: Section) -> bytes:
    """RFC 3516 §4.2: the part's body with its transfer encoding undone; BINARY[]
    is the whole message; a part that does not exist reads as empty."""
    if not section.part:
        return message.whole()
    part = find_part(root, ".".join(str(n) for n in section.part))
    if part is None:
        return b""
    if part.encoding not in KNOWN_ENCODINGS:
        raise UnknownTransferEncoding(part.encoding)
    return transfer_decode(message.blob(part.body_start, part.end), part.encoding)


def fetch_items(
    row: FetchRow, items: Iterable[FetchItem], read: BlobReader, *, with_modseq: bool, pinned: Pinned | None = None,
    recent: Container[int] = (),
) -> list[bytes]:
    """The data items of one FETCH response (without the UID item, which the
    caller puts first). With ``pinned`` (see ``pin``), ENVELOPE, BODYSTRUCTURE
    and the top-level header come from the per-content caches when they were
    there, and are cached once rendered."""
    out: list[bytes] = []
    root: Part | None = None
    message = MessageBytes(row, read)
    sha = row.sha256
    for item in items:
        name = item.name
        if name == "UID":
            continue
        if name == "FLAGS":
            out.append(flags_item(row.flags, row.keywords, row.uid in recent))
        elif name == "INTERNALDATE":
            out.append(b"INTERNALDATE " + imap_date_time(row.internaldate))
        elif name == "RFC822.SIZE":
            out.append(b"RFC822.SIZE %d" % row.size)
        elif name == "MODSEQ":
            continue  # added once below
        elif name == "ENVELOPE":
            data = pinned.envelopes.get(sha) if pinned is not None else None
            if data is None:
                data = envelope(row.envelope)
                if pinned is not None and row.envelope is not None:
                    ENVELOPES.put(sha, data)
                    pinned.envelopes[sha] = data
            out.append(b"ENVELOPE " + data)
        elif name in ("BODYSTRUCTURE", "BODY"):
            key = ("S" if name == "BODYSTRUCTURE" else "B") + sha
            data = pinned.structures.get(key) if pinned is not None else None
            if data is None:
                root = root or _root(row)
                data = bodystructure(root, extensible=name == "BODYSTRUCTURE")
                if pinned is not None and row.root is not None:
                    STRUCTURES.put(key, data)
                    pinned.structures[key] = data
            out.append(name.encode() + b" " + data)
        elif name == "RFC822":
            out.append(b"RFC822 " + literal(message.whole()))
        elif name == "RFC822.HEADER":
            if pinned is None or sha not in pinned.headers:
                root = root or _root(row)
            out.append(b"RFC822.HEADER " + literal(section_bytes(message, root, Section(text="HEADER"), pinned) or b""))
        elif name == "RFC822.TEXT":
            root = root or _root(row)
            out.append(b"RFC822.TEXT " + literal(section_bytes(message, root, Section(text="TEXT")) or b""))
        elif name in ("BINARY[]", "BINARY.SIZE[]"):
            assert item.section is not None
            root = root or _root(row)
            data = binary_bytes(message, root, item.section)
            if name == "BINARY.SIZE[]":
                out.append(item.response_name().encode("ascii") + b" %d" % len(data))  # RFC 3516 §4.3
            else:
                out.append(item.response_name().encode("ascii") + b" " + literal8(_partial(data, item.partial)))
        elif item.section is not None:
            if not (_root_header_item(item) and pinned is not None and sha in pinned.headers) and not (
                not item.section.part and item.section.text is None
            ):
                root = root or _root(row)
            data = section_bytes(message, root, item.section, pinned)
            # A part that does not exist reads as empty (Dovecot, Cyrus do the same).
            out.append(item.response_name().encode("ascii") + b" " + literal(_partial(data or b"", item.partial)))
    if with_modseq:
        out.append(b"MODSEQ (%d)" % row.modseq)
    return out


def _root(row: FetchRow) -> Part:
    if not row.root:
        return Part(section="", start=0, body_start=0, end=row.size - len(row.prefix))
    return Part.from_dict(row.root)


__all__ = ["ENVELOPES", "HEADERS", "STRUCTURES", "Pinned", "UnknownTransferEncoding", "pin", "bodystructure", "envelope", "fetch_items", "flags_item", "header_fields", "quoted", "section_bytes"]
