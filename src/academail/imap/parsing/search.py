"""SEARCH keys (RFC 3501 §6.4.4, RFC 7162 §3.1.5 MODSEQ) as a small tree.

Sequence-number sets stay as written; the session resolves them against its
view before the store runs the search in SQL."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from academail.imap.parsing.lexer import MAX_DEPTH, Lexer, SequenceSet

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

SYSTEM_FLAG_KEYS = {
    "ANSWERED": ("\\Answered", True), "UNANSWERED": ("\\Answered", False),
    "DELETED": ("\\Deleted", True), "UNDELETED": ("\\Deleted", False),
    "DRAFT": ("\\Draft", True), "UNDRAFT": ("\\Draft", False),
    "FLAGGED": ("\\Flagged", True), "UNFLAGGED": ("\\Flagged", False),
    "SEEN": ("\\Seen", True), "UNSEEN": ("\\Seen", False),
}
TEXT_KEYS = ("BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO")
DATE_KEYS = {
    "BEFORE": ("internal", "before"), "ON": ("internal", "on"), "SINCE": ("internal", "since"),
    "SENTBEFORE": ("sent", "before"), "SENTON": ("sent", "on"), "SENTSINCE": ("sent", "since"),
}


@dataclass(frozen=True)
class Const:
    """ALL (true)."""

    value: bool


@dataclass(frozen=True)
class FlagKey:
    flag: str  # "\\Seen" or a keyword
    present: bool


@dataclass(frozen=True)
class TextKey:
    field: str  # one of TEXT_KEYS, lower-case
    value: str


@dataclass(frozen=True)
class HeaderKey:
    field: str
    value: str


@dataclass(frozen=True)
class DateKey:
    field: str  # "internal" | "sent"
    op: str  # "before" | "on" | "since"
    date: dt.date


@dataclass(frozen=True)
class SizeKey:
    larger: bool
    size: int


@dataclass(frozen=True)
class SetKey:
    uid: bool
    set: SequenceSet


@dataclass(frozen=True)
class ModseqKey:
    modseq: int


@dataclass(frozen=True)
class Not:
    key: SearchKey


@dataclass(frozen=True)
class Or:
    left: SearchKey
    right: SearchKey


@dataclass(frozen=True)
class And:
    keys: tuple[SearchKey, ...]


SearchKey = Const | FlagKey | TextKey | HeaderKey | DateKey | SizeKey | SetKey | ModseqKey | Not | Or | And


def parse_date(lx: Lexer) -> dt.date:
    quoted = lx.maybe(b'"')
    text = lx._match(_DATE, "date (dd-Mon-yyyy)").decode("ascii")
    if quoted:
        lx.expect(b'"')
    day, month, year = text.split("-")
    try:
        return dt.date(int(year), MONTHS.index(month.upper()) + 1, int(day))
    except ValueError:
        raise lx.error("invalid date") from None


def _text(lx: Lexer, charset: str) -> str:
    # Values arrive in the announced charset; only UTF-8 and US-ASCII are accepted.
    return lx.astring().decode("utf-8", "replace")


def parse_key(lx: Lexer, charset: str = "UTF-8") -> SearchKey:
    lx.depth += 1
    if lx.depth > 2 * MAX_DEPTH:
        raise lx.error("search program too deeply nested")
    try:
        return _parse_key(lx, charset)
    finally:
        lx.depth -= 1


def _parse_key(lx: Lexer, charset: str) -> SearchKey:
    head = lx.peek()
    if head == b"(":
        keys = lx.paren_list(lambda: parse_key(lx, charset), allow_empty=False)
        return keys[0] if len(keys) == 1 else And(tuple(keys))
    if head.isdigit() or head in (b"*", b"$"):
        return SetKey(False, lx.sequence_set())
    word = lx.keyword()
    if word == "ALL":
        return Const(True)
    # RFC 3501 §6.4.4: RECENT has \Recent, OLD has not, NEW is RECENT UNSEEN.
    if word in ("RECENT", "OLD"):
        return FlagKey("\\Recent", word == "RECENT")
    if word == "NEW":
        return And((FlagKey("\\Recent", True), FlagKey("\\Seen", False)))
    if word in SYSTEM_FLAG_KEYS:
        flag, present = SYSTEM_FLAG_KEYS[word]
        return FlagKey(flag, present)
    if word in ("KEYWORD", "UNKEYWORD"):
        lx.sp()
        return FlagKey(lx.atom(), word == "KEYWORD")
    if word in TEXT_KEYS:
        lx.sp()
        return TextKey(word.lower(), _text(lx, charset))
    if word == "HEADER":
        lx.sp()
        name = lx.astring().decode("ascii", "replace")
        lx.sp()
        return HeaderKey(name.lower(), _text(lx, charset))
    if word in DATE_KEYS:
        lx.sp()
        field, op = DATE_KEYS[word]
        return DateKey(field, op, parse_date(lx))
    if word in ("LARGER", "SMALLER"):
        lx.sp()
        return SizeKey(word == "LARGER", lx.number())
    if word == "UID":
        lx.sp()
        return SetKey(True, lx.sequence_set())
    if word == "NOT":
        lx.sp()
        return Not(parse_key(lx, charset))
    if word == "OR":
        lx.sp()
        left = parse_key(lx, charset)
        lx.sp()
        return Or(left, parse_key(lx, charset))
    if word == "MODSEQ":
        # RFC 7162 §3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer
        lx.sp()
        if lx.peek() == b'"':
            lx.quoted()
            lx.sp()
            lx.keyword()
            lx.sp()
        return ModseqKey(lx.number(bits=64))
    raise lx.error(f"unknown search key {word[:40]}")


def parse_keys(lx: Lexer, charset: str = "UTF-8") -> SearchKey:
    """One or more keys separated by spaces, to the end of the command (AND)."""
    keys = [parse_key(lx, charset)]
    while not lx.at_end():
        lx.sp()
        keys.append(parse_key(lx, charset))
        if len(keys) > 1000:
            raise lx.error("too many search keys")
    return keys[0] if len(keys) == 1 else And(tuple(keys))


_DATE = re.compile(rb"\d{1,2}-[A-Za-z]{3}-\d{4}")
