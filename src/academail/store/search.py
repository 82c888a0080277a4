"""The full-text index: one document per Content, searched per mailbox or per account.

Accents and case are folded the same way at indexing and at query time
("reunion" finds "Réunion"): SQLite's FTS5 ``unicode61 remove_diacritics 2``
tokenizer does it there; on PostgreSQL we fold in Python and use the ``simple``
configuration. Every term of the query must match (AND), as a word prefix.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from django.db import connection

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 16


def _fold_any(text: str) -> str:
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@functools.cache
def _cp1252_table() -> tuple[bytes, re.Pattern[bytes]]:
    """``fold`` as a byte table over Windows-1252 (Latin-1 plus ’ – — … € œ...),
    the repertoire of nearly all French mail; the pattern finds the characters
    whose folded form is not one such byte (ß, ™, ½...), left to ``_fold_any``."""
    table = bytearray(range(256))
    special = []
    for byte in range(256):
        try:
            char = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            continue  # never produced by encoding
        folded = _fold_any(char)
        try:
            encoded = folded.encode("cp1252")
        except UnicodeEncodeError:
            encoded = b""
        if len(encoded) == 1:
            table[byte] = encoded[0]
        else:
            special.append(re.escape(bytes([byte])))
    return bytes(table), re.compile(b"[" + b"".join(special) + b"]")


def fold(text: str) -> str:
    """Lower-case and strip diacritics ("Élève" -> "eleve"; "œ" -> "oe").

    Filters fold every message's text ("le message contient"), so the usual
    case runs in C: ASCII, or Windows-1252 text through a byte table (fold is
    character by character there); anything else takes the general path."""
    if text.isascii():
        return text.casefold()
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    text = text.replace("…", "...")  # its NFKD, frequent in French mail
    try:
        raw = text.encode("cp1252")
    except UnicodeEncodeError:
        return _fold_any(text)
    table, special = _cp1252_table()
    if special.search(raw):
        return _fold_any(text)
    return raw.translate(table).decode("cp1252")


def terms(query: str) -> list[str]:
    return _WORD.findall(fold(query))[:MAX_TERMS]


def do_index(content_id: int, text: str) -> None:
    """Index ``text`` for a new Content. Precondition: inside its creating transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("INSERT INTO store_search(rowid, text) VALUES (%s, %s)", [content_id, text])
        else:
            cursor.execute(
                "INSERT INTO store_search(content_id, doc) VALUES (%s, to_tsvector('simple', %s))",
                [content_id, fold(text)],
            )


def do_unindex(content_ids: list[int]) -> None:
    """Drop the index entries of deleted contents. Precondition: in a transaction."""
    if not content_ids:
        return
    key = "rowid" if connection.vendor == "sqlite" else "content_id"
    with connection.cursor() as cursor:
        marks = ",".join(["%s"] * len(content_ids))
        cursor.execute(f"DELETE FROM store_search WHERE {key} IN ({marks})", content_ids)  # noqa: S608


def match_sql(query: str) -> tuple[str, list[str]] | None:
    """A SQL condition on ``m.content_id`` (``m`` = store_message) that keeps the
    messages matching ``query``; None when the query has no searchable word."""
    words = terms(query)
    if not words:
        return None
    if connection.vendor == "sqlite":
        expression = " ".join(f'"{w}"*' for w in words)
        return "m.content_id IN (SELECT rowid FROM store_search WHERE store_search MATCH %s)", [expression]
    expression = " & ".join(f"{w}:*" for w in words)
    return (
        "m.content_id IN (SELECT content_id FROM store_search WHERE doc @@ to_tsquery('simple', %s))",
        [expression],
    )
