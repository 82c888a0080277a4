"""Tokens of the IMAP grammar (RFC 3501 §9, RFC 9051 §9): atoms, quoted strings,
literals (``{n}`` and LITERAL+ ``{n+}``, RFC 7888), numbers, sequence sets and
parenthesised lists, read from one command's bytes with literals inline."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from academail.imap.parsing.errors import ParseError

T = TypeVar("T")

MAX_NUMBER32 = 2**32 - 1
MAX_NUMBER64 = 2**63 - 1
# Bounds on nesting and list length keep a hostile command from costing more
# than its length (RFC 3501 leaves them to the implementation).
MAX_DEPTH = 64
MAX_LIST_ITEMS = 10_000

# atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
_ATOM = re.compile(rb"[^(){ %*\"\\\]\x00-\x1f\x7f-\xff]+")
_ASTRING = re.compile(rb"[^(){ %*\"\\\x00-\x1f\x7f-\xff]+")  # ASTRING-CHAR adds "]"
_TAG = re.compile(rb"[^(){ %*\"\\+\x00-\x1f\x7f-\xff]+")
_LIST_MAILBOX = re.compile(rb"[^(){ \"\\\x00-\x1f\x7f-\xff]+")  # list-char: atom + wildcards + "]"
_LITERAL = re.compile(rb"~?\{(\d{1,20})(\+?)\}\r\n")
_NUMBER = re.compile(rb"\d+")
_SEQ_SET = re.compile(rb"[0-9*:,$]+")


@dataclass(frozen=True)
class SequenceSet:
    """A sequence set (RFC 3501 §9 sequence-set). Each range is (low, high) as
    written, with 0 standing for "*"; "*:1" is kept as written and means 1:*."""

    ranges: tuple[tuple[int, int], ...]

    def resolve(self, largest: int) -> list[tuple[int, int]]:
        """Ranges with "*" replaced by ``largest`` (the highest number in use),
        each ordered low to high (RFC 3501 §6.4.8: "*:4" is "4:*")."""
        out: list[tuple[int, int]] = []
        for lo, hi in self.ranges:
            a = largest if lo == 0 else lo
            b = largest if hi == 0 else hi
            out.append((min(a, b), max(a, b)))
        return out

    def __str__(self) -> str:
        def one(n: int) -> str:
            return "*" if n == 0 else str(n)

        return ",".join(one(lo) if lo == hi else f"{one(lo)}:{one(hi)}" for lo, hi in self.ranges)


class Lexer:
    def __init__(self, data: bytes, tag: str | None = None) -> None:
        self.data = data
        self.pos = 0
        self.tag = tag
        self.depth = 0

    # -- basics --------------------------------------------------------------
    def error(self, text: str) -> ParseError:
        return ParseError(text, tag=self.tag)

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def peek(self, n: int = 1) -> bytes:
        return self.data[self.pos : self.pos + n]

    def maybe(self, token: bytes) -> bool:
        if self.data[self.pos : self.pos + len(token)].upper() == token.upper():
            self.pos += len(token)
            return True
        return False

    def expect(self, token: bytes) -> None:
        if not self.maybe(token):
            raise self.error(f"expected {token.decode('ascii', 'replace')!r}")

    def sp(self) -> None:
        self.expect(b" ")

    def end(self) -> None:
        if not self.at_end():
            raise self.error("unexpected characters at end of command")

    def _match(self, pattern: re.Pattern[bytes], what: str) -> bytes:
        m = pattern.match(self.data, self.pos)
        if m is None:
            raise self.error(f"expected {what}")
        self.pos = m.end()
        return m.group(0)

    # -- tokens --------------------------------------------------------------
    def tag_token(self) -> str:
        return self._match(_TAG, "tag").decode("ascii")

    def atom(self) -> str:
        return self._match(_ATOM, "atom").decode("ascii")

    def keyword(self) -> str:
        """An atom, upper-cased (command names, fetch and search keys)."""
        return self.atom().upper()

    def number(self, *, nonzero: bool = False, bits: int = 32) -> int:
        digits = self._match(_NUMBER, "number")
        limit = MAX_NUMBER32 if bits == 32 else MAX_NUMBER64
        if len(digits) > 20 or int(digits) > limit:
            raise self.error("number out of range")
        value = int(digits)
        if nonzero and value == 0:
            raise self.error("number must not be zero")
        return value

    def quoted(self) -> bytes:
        self.expect(b'"')
        out = bytearray()
        data = self.data
        i = self.pos
        while True:
            if i >= len(data):
                raise self.error("unterminated quoted string")
            byte = data[i]
            if byte == 0x22:
                break
            if byte == 0x5C:
                i += 1
                if i >= len(data) or data[i] not in (0x22, 0x5C):
                    raise self.error("bad escape in quoted string")
                byte = data[i]
            elif byte in (0x0D, 0x0A, 0x00):
                raise self.error("CR, LF or NUL in quoted string")
            out.append(byte)
            i += 1
        self.pos = i + 1
        return bytes(out)

    def literal(self) -> bytes:
        m = _LITERAL.match(self.data, self.pos)
        if m is None:
            raise self.error("expected literal")
        size = int(m.group(1))
        start = m.end()
        if start + size > len(self.data):
            raise self.error("literal shorter than announced")
        self.pos = start + size
        return self.data[start : start + size]

    def at_literal(self) -> bool:
        """A literal starts here: "{" or "~{" (RFC 3516 literal8). A "~" not
        followed by "{" is an ordinary atom character (RFC 3501 §9 ATOM-CHAR)."""
        return self.peek() == b"{" or self.peek(2) == b"~{"

    def string(self) -> bytes:
        if self.peek() == b'"':
            return self.quoted()
        if self.at_literal():
            return self.literal()
        raise self.error("expected string")

    def astring(self) -> bytes:
        if self.peek() == b'"' or self.at_literal():
            return self.string()
        return self._match(_ASTRING, "astring")

    def nstring(self) -> bytes | None:
        if self.maybe(b"NIL"):
            return None
        return self.string()

    def list_mailbox(self) -> bytes:
        if self.peek() == b'"' or self.at_literal():
            return self.string()
        return self._match(_LIST_MAILBOX, "list-mailbox")

    def sequence_set(self) -> SequenceSet:
        text = self._match(_SEQ_SET, "sequence set")
        ranges: list[tuple[int, int]] = []
        for item in text.split(b","):
            pieces = item.split(b":")
            if len(pieces) > 2 or not all(pieces):
                raise self.error("bad sequence set")
            values: list[int] = []
            for piece in pieces:
                if piece == b"*":
                    values.append(0)
                elif piece.isdigit():
                    if len(piece) > 10 or not 1 <= int(piece) <= MAX_NUMBER32:
                        raise self.error("sequence number out of range (1 to 4294967295)")
                    values.append(int(piece))
                else:
                    raise self.error("bad sequence set")
            ranges.append((values[0], values[-1]))
            if len(ranges) > MAX_LIST_ITEMS:
                raise self.error("sequence set too long")
        return SequenceSet(tuple(ranges))

    def paren_list(self, item: Callable[[], T], *, allow_empty: bool = True) -> list[T]:
        self.expect(b"(")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("too deeply nested")
        items: list[T] = []
        if not self.maybe(b")"):
            while True:
                items.append(item())
                if len(items) > MAX_LIST_ITEMS:
                    raise self.error("list too long")
                if self.maybe(b")"):
                    break
                self.sp()
        elif not allow_empty:
            raise self.error("empty list")
        self.depth -= 1
        return items

    def flag(self) -> str:
        """flag (RFC 3501 §9): a system flag, a keyword, or "\\*" in PERMANENTFLAGS."""
        if self.maybe(b"\\"):
            if self.maybe(b"*"):
                return "\\*"
            return "\\" + self.atom()
        return self.atom()
