"""FETCH data from the store's part map and blob (RFC 3501 §6.4.5, §7.4.2):
ENVELOPE and BODYSTRUCTURE from the dictionaries stored at delivery, body
sections as byte ranges of ``prefix + blob`` (part offsets are blob-relative),
never by re-parsing or re-serialising a message."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from academail.imap.parsing.fetch import FetchItem, Section
from academail.imap.responses import imap_date_time, nstring, quoted, string
from academail.mime.parse import Part, find_part
from academail.store.imap import FetchRow, Flag

BlobReader = Callable[[str, int, int], bytes]


def flag_names(flags: int, keywords: str) -> list[str]:
    names = [name for bit, name in Flag.NAMES.items() if flags & bit]
    names.extend(keywords.split())
    return names


def flags_item(flags: int, keywords: str) -> bytes:
    return b"FLAGS (" + " ".join(flag_names(flags, keywords)).encode("utf-8", "replace") + b")"


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
    return b"(" + string(part.disposition) + b" " + _params(part.disposition_params) + b")"


def _language(part: Part) -> bytes:
    if not part.language:
        return b"NIL"
    tags = [t.strip() for t in part.language.split(",") if t.strip()]
    if len(tags) == 1:
        return string(tags[0])
    return b"(" + b" ".join(string(t) for t in tags) + b")" if tags else b"NIL"


def bodystructure(part: Part, *, extensible: bool = True) -> bytes:
    """BODYSTRUCTURE (``extensible``) or BODY of ``part`` (RFC 3501 §7.4.2)."""
    if part.children:
        out = b"".join(bodystructure(c, extensible=extensible) for c in part.children)
        out += b" " + string(part.subtype.upper())
        if extensible:
            out += b" " + b" ".join(
                [_params(part.params), _disposition(part), _language(part), nstring(part.location)]
            )
        return b"(" + out + b")"
    fields = [
        string(part.maintype.upper()), string(part.subtype.upper()), _params(part.params),
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


def section_bytes(message: MessageBytes, root: Part, section: Section) -> bytes | None:
    """The bytes of ``section``; None when the part does not exist (the
    response then carries NIL... or an empty string, see RFC 3501 §6.4.5)."""
    spec = ".".join(str(n) for n in section.part)
    text = section.text
    if not spec:
        if text is None:
            return message.whole()
        header = message.row.prefix + message.blob(root.start, root.body_start)
        if text == "HEADER":
            return header
        if text == "TEXT":
            return message.blob(root.body_start, root.end)
        return header_fields(header, section.fields, exclude=text == "HEADER.FIELDS.NOT")
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
    return b"{%d}\r\n" % len(data) + data


def fetch_items(
    row: FetchRow, items: Iterable[FetchItem], read: BlobReader, *, with_modseq: bool
) -> list[bytes]:
    """The data items of one FETCH response (without the UID item, which the
    caller puts first)."""
    out: list[bytes] = []
    root: Part | None = None
    message = MessageBytes(row, read)
    for item in items:
        name = item.name
        if name == "UID":
            continue
        if name == "FLAGS":
            out.append(flags_item(row.flags, row.keywords))
        elif name == "INTERNALDATE":
            out.append(b"INTERNALDATE " + imap_date_time(row.internaldate))
        elif name == "RFC822.SIZE":
            out.append(b"RFC822.SIZE %d" % row.size)
        elif name == "MODSEQ":
            continue  # added once below
        elif name == "ENVELOPE":
            out.append(b"ENVELOPE " + envelope(row.envelope))
        elif name in ("BODYSTRUCTURE", "BODY"):
            root = root or _root(row)
            out.append(name.encode() + b" " + bodystructure(root, extensible=name == "BODYSTRUCTURE"))
        elif name == "RFC822":
            out.append(b"RFC822 " + literal(message.whole()))
        elif name == "RFC822.HEADER":
            root = root or _root(row)
            out.append(b"RFC822.HEADER " + literal(section_bytes(message, root, Section(text="HEADER")) or b""))
        elif name == "RFC822.TEXT":
            root = root or _root(row)
            out.append(b"RFC822.TEXT " + literal(section_bytes(message, root, Section(text="TEXT")) or b""))
        elif item.section is not None:
            root = root or _root(row)
            data = section_bytes(message, root, item.section)
            # A part that does not exist reads as empty (Dovecot, Cyrus do the same).
            out.append(item.response_name().encode("ascii") + b" " + literal(_partial(data or b"", item.partial)))
    if with_modseq:
        out.append(b"MODSEQ (%d)" % row.modseq)
    return out


def _root(row: FetchRow) -> Part:
    if not row.root:
        return Part(section="", start=0, body_start=0, end=row.size - len(row.prefix))
    return Part.from_dict(row.root)


__all__ = ["bodystructure", "envelope", "fetch_items", "flags_item", "header_fields", "quoted", "section_bytes"]
