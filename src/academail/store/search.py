"""The full-text index: one document per Content, searched per mailbox or per account.

Accents and case are folded the same way at indexing and at query time
("reunion" finds "Réunion"): SQLite's FTS5 ``unicode61 remove_diacritics 2``
tokenizer does it there; on PostgreSQL we fold in Python and use the ``simple``
configuration. Every term of the query must match (AND), as a word prefix.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import connection

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 16


def fold(text: str) -> str:
    """Lower-case and strip diacritics ("Élève" -> "eleve"; "œ" -> "oe")."""
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


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
