"""Removing attachments from a message while keeping everything else byte
for byte ("Espace utilisé": lighten old messages).

Each attachment part of at least ``min_size`` octets is cut out at the
offsets the parser recorded (``Part.start`` .. ``Part.end``: its header and
body, the line end before the next boundary belonging to the delimiter,
RFC 2046 §5.1.1) and replaced by a short ``text/plain`` part saying what was
there; the headers, the text and the other parts are unchanged. Parts are
replaced from the last to the first, so earlier offsets stay valid.

Only parts inside a multipart are removed: a message whose whole body is one
attachment keeps it (removing it would leave an empty message). An embedded
message (message/rfc822) counts as one attachment and goes whole.

Pure: no Django, no database; the caller gives the note's wording.
"""

from __future__ import annotations

import quopri
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from academail.mime.parse import Part, is_attachment, parse_message

MARK_HEADER = "X-Academail-Attachments-Removed"


@dataclass(frozen=True)
class Removed:
    filename: str
    content_type: str
    size: int  # encoded octets of the part's body, as BODYSTRUCTURE counts


def _leaves(part: Part) -> Iterator[Part]:
    """The leaf parts under a multipart, not descending into embedded messages."""
    for child in part.children:
        if child.children:
            yield from _leaves(child)
        else:
            yield child


def removable(raw: bytes, *, min_size: int) -> list[Part]:
    """The attachment parts ``strip_attachments`` would remove, in order."""
    root = parse_message(raw).root
    return [p for p in _leaves(root) if is_attachment(p) and p.size >= min_size]


def strip_attachments(
    raw: bytes, *, min_size: int, note: Callable[[Removed], str], mark: str
) -> tuple[bytes, list[Removed]]:
    """``raw`` without its attachments of ``min_size`` octets or more, each
    replaced by a text part with ``note(removed)``; the header ``mark`` is
    added first (``MARK_HEADER: mark``) so readers and later passes can tell.
    Returns (new bytes, what was removed); nothing removed: ``raw`` unchanged."""
    parts = removable(raw, min_size=min_size)
    if not parts:
        return raw, []
    eol = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
    removed: list[Removed] = []
    out = raw
    for part in reversed(parts):
        gone = Removed(part.filename or "", part.content_type, part.size)
        removed.append(gone)
        text = quopri.encodestring(note(gone).encode("utf-8")).replace(b"\r\n", b"\n").rstrip(b"\n")
        replacement = (
            b"Content-Type: text/plain; charset=utf-8" + eol
            + b"Content-Transfer-Encoding: quoted-printable" + eol
            + b"Content-Disposition: inline" + eol + eol
            + text.replace(b"\n", eol)
        )
        out = out[: part.start] + replacement + out[part.end :]
    stamp = f"{MARK_HEADER}: {mark}".encode("ascii", "replace") + eol
    return stamp + out, list(reversed(removed))


__all__ = ["MARK_HEADER", "Removed", "removable", "strip_attachments"]
