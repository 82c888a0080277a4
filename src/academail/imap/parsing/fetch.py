"""FETCH data items (RFC 3501 §6.4.5, RFC 7162 §3.1.4 MODSEQ): ``FLAGS``,
``BODY.PEEK[1.2.HEADER.FIELDS (A B)]<0.100>`` and the macros."""

from __future__ import annotations

import re
from dataclasses import dataclass

from academail.imap.parsing.lexer import Lexer

SIMPLE_ITEMS = frozenset(
    {"FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "BODY",
     "RFC822", "RFC822.HEADER", "RFC822.TEXT", "MODSEQ"}
)
# RFC 3501 §6.4.5 macros.
MACROS = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
TEXT_SPECIFIERS = ("HEADER.FIELDS.NOT", "HEADER.FIELDS", "HEADER", "TEXT", "MIME")
MAX_PART_DEPTH = 64


@dataclass(frozen=True)
class Section:
    """``1.2.HEADER.FIELDS (A B)`` -> part=(1, 2), text="HEADER.FIELDS", fields=("A", "B")."""

    part: tuple[int, ...] = ()
    text: str | None = None
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        pieces = [".".join(str(n) for n in self.part)] if self.part else []
        if self.text:
            pieces.append(self.text)
        spec = ".".join(pieces)
        if self.fields:
            spec += " (" + " ".join(self.fields) + ")"
        return spec


@dataclass(frozen=True)
class FetchItem:
    name: str  # one of SIMPLE_ITEMS, or "BODY[]", "BINARY[]", "BINARY.SIZE[]" with a section
    section: Section | None = None
    partial: tuple[int, int] | None = None  # (origin, length)
    peek: bool = False

    def response_name(self) -> str:
        """The name the response uses (RFC 3501 §7.4.2: BODY.PEEK answers as BODY,
        a partial shows its origin only; RFC 3516 §4.2 likewise for BINARY)."""
        if self.section is None:
            return self.name
        origin = f"<{self.partial[0]}>" if self.partial else ""
        return f"{self.name[:-2]}[{self.section}]{origin}"


def parse_section(lx: Lexer) -> Section:
    lx.expect(b"[")
    part: list[int] = []
    text: str | None = None
    fields: tuple[str, ...] = ()
    if not lx.maybe(b"]"):
        while lx.peek().isdigit():
            part.append(lx.number(nonzero=True))
            if len(part) > MAX_PART_DEPTH:
                raise lx.error("section too deep")
            if not lx.maybe(b"."):
                break
        else:
            pass
        if lx.peek() != b"]":
            for spec in TEXT_SPECIFIERS:
                if lx.maybe(spec.encode()):
                    text = spec
                    break
            else:
                raise lx.error("bad section text")
            if text == "MIME" and not part:
                raise lx.error("MIME needs a part number")  # RFC 3501 §6.4.5
            if text.startswith("HEADER.FIELDS"):
                lx.sp()
                names = lx.paren_list(lambda: lx.astring(), allow_empty=False)
                try:
                    fields = tuple(n.decode("ascii").upper() for n in names)
                except UnicodeDecodeError:
                    raise lx.error("header field names are ASCII") from None
        lx.expect(b"]")
    return Section(tuple(part), text, fields)


def _partial(lx: Lexer) -> tuple[int, int] | None:
    if not lx.maybe(b"<"):
        return None
    origin = lx.number()
    lx.expect(b".")
    length = lx.number(nonzero=True)
    lx.expect(b">")
    return (origin, length)


def parse_item(lx: Lexer) -> FetchItem:
    name = lx._match(_ITEM, "fetch item").decode("ascii").upper()
    if name in ("BODY", "BODY.PEEK") and lx.peek() == b"[":
        section = parse_section(lx)
        return FetchItem("BODY[]", section, _partial(lx), peek=name == "BODY.PEEK")
    if name in ("BINARY", "BINARY.PEEK", "BINARY.SIZE"):
        # RFC 3516 §4.1: section-binary is part numbers only.
        section = parse_section(lx)
        if section.text is not None:
            raise lx.error("BINARY takes part numbers only")
        if name == "BINARY.SIZE":
            return FetchItem("BINARY.SIZE[]", section, peek=True)  # sets no \Seen
        return FetchItem("BINARY[]", section, _partial(lx), peek=name == "BINARY.PEEK")
    if name not in SIMPLE_ITEMS:
        raise lx.error(f"unknown fetch item {name[:40]}")
    return FetchItem(name)


def parse_items(lx: Lexer) -> list[FetchItem]:
    if lx.peek() == b"(":
        return lx.paren_list(lambda: parse_item(lx), allow_empty=False)
    save = lx.pos
    word = lx.keyword()
    if word in MACROS:
        return [FetchItem(n) for n in MACROS[word]]
    lx.pos = save
    return [parse_item(lx)]


_ITEM = re.compile(rb"[A-Za-z0-9.]+")
