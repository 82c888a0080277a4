"""The full-text index: one document per Content, searched per mailbox or per account,
and the folded text IMAP SEARCH compares substrings with (``SearchText``).

Accents and case are folded the same way at indexing and at query time
("reunion" finds "Réunion"): the text is folded in Python (``fold``) before it
reaches either engine (SQLite FTS5 ``unicode61``, PostgreSQL ``simple``), so the
index and the exact substring check agree on every character ("œuvre" is
"oeuvre" in both). Every term of a webmail query must match (AND), as a word prefix.

The index holds one document per Content, shared by every account that has the
message (a circular to 40,000 staff is indexed once). A search costs one
person's mailbox, not the académie's (issue 21 §6): when the searched scope
(the account, or one mailbox) holds at most PROBE_LIMIT messages, the query
starts from those messages and tests each one's own document, read by its key
(``match_sql``'s probe form); the shared index is only asked for larger scopes.
The results are the same either way (docs/design.md, "Search partitioned by
account").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from academail.mime.parse import ParsedMessage

_WORD = re.compile(r"\w+", re.UNICODE)
# unicode61's token characters (L*, N*), which is what both engines split on once
# the text is folded: no underscore, unlike ``\w``.
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TERMS = 16
# Up to this many messages in the searched scope, each of the scope's documents
# is tested (cost: the scope); above, the shared index answers first and the
# scope filters (cost: the académie's matches). bench/search_partition.py
# measures both: about 4-15 µs a document tested, where the shared index pays for
# every matching document of every account.
PROBE_LIMIT = 20_000
# The content id columns ``match_sql`` may test (fixed names, never input):
# a mailbox's messages, a list's archived posts.
COLUMNS = frozenset({"m.content_id", "lists_post.content_id"})


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


# The address and subject fields SEARCH has a column for (RFC 3501 §6.4.4 keys).
FIELD_COLUMNS = {
    "subject": "subject", "from": "from_field", "to": "to_field", "cc": "cc_field", "bcc": "bcc_field",
}


def index_words(text: str) -> str:
    """``text`` folded and split into the words unicode61 would see, for
    PostgreSQL: its own parser keeps "jean.dupont@ac-lyon.fr" as one e-mail
    token, where SQLite (and a query's terms) see five words."""
    return _distinct_words(fold(text))


# PostgreSQL's document from ``index_words``: the words are already split and
# folded, so they become the lexemes as they are (``array_to_tsvector``)
# instead of going through ``to_tsvector``'s parser again, which cost 6.3-7.5 ms
# of the database's CPU for a 42 KB message (bench/README.md) and gives the
# same lexemes (tests/store/test_index_rows.py); no positions, which no search
# of ours uses (no phrase or ranking).
def _pg_document(words: str) -> str:
    return f"array_to_tsvector(string_to_array({words}, ' '))"


PG_DOCUMENT_SQL = _pg_document("%s")


def _distinct_words(folded: str) -> str:
    """The words of ``folded`` once each, in order of appearance, without those
    over 2,047 bytes (``to_tsvector`` ignores them; ``array_to_tsvector`` refuses them)."""
    words = dict.fromkeys(_TOKEN.findall(folded))
    return " ".join(w for w in words if len(w) < 512 or len(w.encode()) < 2048)


def search_columns(header_text: str, body_text: str) -> dict[str, str]:
    """The ``SearchFields`` and ``SearchText`` columns of a message, folded: its header fields as
    parsed ("name: value" lines, ``mime.ParsedMessage.header_text``) and its body
    text. A field present twice keeps both values, one per line."""
    folded_headers = fold(header_text)
    columns = dict.fromkeys(FIELD_COLUMNS.values(), "")
    for line in folded_headers.split("\n"):
        name, _, value = line.partition(": ")
        column = FIELD_COLUMNS.get(name)
        if column is not None:
            columns[column] = f"{columns[column]}\n{value}" if columns[column] else value
    columns["headers"] = "\n" + folded_headers if folded_headers else ""
    columns["body"] = fold(body_text)
    return columns


# The Message-ID fields SEARCH HEADER has a narrow table for (``SearchIds``).
ID_COLUMNS = {"message-id": "message_id", "in-reply-to": "in_reply_to", "references": "references"}
_PLAIN_ID = re.compile(r"<[^<>\s]*>")


def id_columns(header_text: str) -> dict[str, str | None]:
    """The ``SearchIds`` columns of a message from its header fields as parsed
    (``mime.ParsedMessage.header_text``), or from ``SearchText.headers``
    (already folded: folding twice changes nothing). A field present twice
    keeps both values, one per line, as ``search_columns`` does."""
    columns: dict[str, str | None] = dict.fromkeys(ID_COLUMNS.values(), "")
    for line in fold(header_text).split("\n"):
        name, _, value = line.partition(": ")
        column = ID_COLUMNS.get(name)
        if column is not None:
            columns[column] = f"{columns[column]}\n{value}" if columns[column] else value
    value = columns["message_id"] or ""
    columns["message_id_key"] = value if not value or _PLAIN_ID.fullmatch(value) else None
    return columns


def do_index_ids(content_id: int, header_text: str) -> None:
    """The ``SearchIds`` row of a new Content. Precondition: in its creating transaction."""
    _insert_ids([(content_id, id_columns(header_text))])


def _insert_ids(entries: Sequence[tuple[int, dict[str, str | None]]]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            'INSERT INTO store_searchids (content_id, message_id, message_id_key, in_reply_to, "references")'
            " VALUES (%s, %s, %s, %s, %s)",
            [(pk, c["message_id"], c["message_id_key"], c["in_reply_to"], c["references"]) for pk, c in entries],
        )


_PG_INDEX_COLUMNS = (
    "sha256, doc, subject, from_field, to_field, cc_field, bcc_field, headers, body,"
    " message_id, message_id_key, in_reply_to, refs"
)


def pg_index_with(source: str, entries: Sequence[tuple[str, IndexRows]]) -> tuple[str, list[Any]]:
    """PostgreSQL: the index rows of new Contents (sha256, rows) as WITH items
    that insert them, to append to a statement whose WITH item ``source``
    returns ``(id, sha256)`` of the Contents it inserted: the content row and
    its four index rows in one statement, one round trip instead of five
    (``store.messages``). Only the contents ``source`` returns get rows: one
    another transaction inserted meanwhile (``ON CONFLICT DO NOTHING``) was
    indexed by it. The same rows ``do_index_many`` inserts."""
    fields = list(FIELD_COLUMNS.values())
    marks = "(" + ", ".join(["%s"] * 13) + ")"
    params: list[Any] = []
    for sha, rows in entries:
        ids = rows.ids
        params += [sha, rows.document, *(rows.columns[name] for name in fields), rows.columns["headers"],
                   rows.columns["body"], ids["message_id"], ids["message_id_key"], ids["in_reply_to"],
                   ids["references"]]
    sql = (
        f", index_rows ({_PG_INDEX_COLUMNS}) AS (VALUES {', '.join([marks] * len(entries))})"  # noqa: S608
        f", indexed AS (SELECT c.id, r.* FROM {source} c JOIN index_rows r ON r.sha256 = c.sha256)"
        f", index_doc AS (INSERT INTO store_search (content_id, doc) SELECT id, {_pg_document('doc')} FROM indexed)"
        f", index_fields AS (INSERT INTO store_searchfields (content_id, {', '.join(fields)})"
        f" SELECT id, {', '.join(fields)} FROM indexed)"
        ", index_text AS (INSERT INTO store_searchtext (content_id, headers, body) SELECT id, headers, body FROM indexed)"
        ', index_ids AS (INSERT INTO store_searchids (content_id, message_id, message_id_key, in_reply_to, "references")'
        " SELECT id, message_id, message_id_key, in_reply_to, refs FROM indexed)"
    )
    return sql, params


def do_index_words(content_id: int, text: str) -> None:
    """The full-text index entry of a Content. Precondition: in a transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("INSERT INTO store_search(rowid, text) VALUES (%s, %s)", [content_id, fold(text)])
        else:
            cursor.execute(
                f"INSERT INTO store_search(content_id, doc) VALUES (%s, {PG_DOCUMENT_SQL})",  # noqa: S608 (constant)
                [content_id, index_words(text)],
            )


@dataclass(frozen=True)
class IndexRows:
    """What a new Content's index rows hold, computed before the transaction
    (``index_rows``): the full-text document as the database takes it and the
    folded ``SearchFields``/``SearchText`` and ``SearchIds`` columns."""

    document: str
    columns: dict[str, str]
    ids: dict[str, str | None]


def index_rows(parsed: ParsedMessage) -> IndexRows:
    """The index rows of a message, with no database work: ``prepare_content``
    computes them in the thread that writes the blob, so the folding (about a
    millisecond for a 25 KB message) stays out of the storing transaction,
    the platform's one writer on SQLite. The body is folded once for both the
    document and ``SearchText`` (fold works character by character, so the
    folded parts joined by a newline are the folded whole)."""
    columns = search_columns(parsed.header_text, "")
    columns["body"] = fold(parsed.search_text)
    people = " ".join(f"{a.name} {a.addr}" for a in (*parsed.from_, *parsed.to, *parsed.cc))
    folded = f"{fold(parsed.subject)}\n{fold(people)}\n{columns['body']}"
    document = folded if connection.vendor == "sqlite" else _distinct_words(folded)
    return IndexRows(document, columns, id_columns(columns["headers"]))


def do_index_rows(content_id: int, rows: IndexRows) -> None:
    """Insert a new Content's index rows (``index_rows``). Precondition:
    inside its creating transaction."""
    do_index_many([(content_id, rows)])


def do_index_many(entries: Sequence[tuple[int, IndexRows]]) -> None:
    """``do_index_rows`` for several new Contents: one ``executemany`` per
    table (an import batch's 200 contents in four statements). Precondition:
    inside their creating transaction."""
    if not entries:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.executemany("INSERT INTO store_search(rowid, text) VALUES (%s, %s)",
                               [(pk, rows.document) for pk, rows in entries])
        else:
            cursor.executemany(f"INSERT INTO store_search(content_id, doc) VALUES (%s, {PG_DOCUMENT_SQL})",  # noqa: S608
                               [(pk, rows.document) for pk, rows in entries])
    _insert_columns([(pk, rows.columns) for pk, rows in entries])
    _insert_ids([(pk, rows.ids) for pk, rows in entries])


def do_index(content_id: int, text: str, *, header_text: str, body_text: str) -> None:
    """Index ``text`` for a new Content, and keep its folded header fields and
    body for SEARCH (``SearchFields``, ``SearchText``). Precondition: inside its
    creating transaction."""
    do_index_words(content_id, text)
    _insert_columns([(content_id, search_columns(header_text, body_text))])
    do_index_ids(content_id, header_text)


def _insert_columns(entries: Sequence[tuple[int, dict[str, str]]]) -> None:
    fields = list(FIELD_COLUMNS.values())
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO store_searchfields (content_id, {', '.join(fields)})"  # noqa: S608 (fixed names)
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [(pk, *(columns[name] for name in fields)) for pk, columns in entries],
        )
        cursor.executemany(
            "INSERT INTO store_searchtext (content_id, headers, body) VALUES (%s, %s, %s)",
            [(pk, columns["headers"], columns["body"]) for pk, columns in entries],
        )


def do_index_message(content_id: int, parsed: ParsedMessage, rows: IndexRows | None = None) -> None:
    """Index a new Content from its parse: the full-text index gets the subject,
    the people, then the body text (what a webmail search finds a message by);
    ``SearchText`` gets every header field and the body. ``rows``: the same,
    computed beforehand (``index_rows``). Precondition: inside the Content's
    creating transaction."""
    do_index_rows(content_id, rows if rows is not None else index_rows(parsed))


def do_index_contents(entries: Sequence[tuple[int, ParsedMessage, IndexRows | None]]) -> None:
    """``do_index_message`` for several new Contents at once (``do_index_many``).
    Precondition: inside their creating transaction."""
    do_index_many([(pk, rows if rows is not None else index_rows(parsed)) for pk, parsed, rows in entries])


def index_text(parsed: ParsedMessage) -> str:
    """What the full-text index holds of a message: subject, people, body text."""
    people = " ".join(f"{a.name} {a.addr}" for a in (*parsed.from_, *parsed.to, *parsed.cc))
    return f"{parsed.subject}\n{people}\n{parsed.search_text}"


def do_unindex(content_ids: list[int]) -> None:
    """Drop the index entries of deleted contents. Precondition: in a transaction."""
    if not content_ids:
        return
    key = "rowid" if connection.vendor == "sqlite" else "content_id"
    with connection.cursor() as cursor:
        marks = ",".join(["%s"] * len(content_ids))
        cursor.execute(f"DELETE FROM store_search WHERE {key} IN ({marks})", content_ids)  # noqa: S608
        cursor.execute(f"DELETE FROM store_searchtext WHERE content_id IN ({marks})", content_ids)  # noqa: S608
        cursor.execute(f"DELETE FROM store_searchfields WHERE content_id IN ({marks})", content_ids)  # noqa: S608
        cursor.execute(f"DELETE FROM store_searchids WHERE content_id IN ({marks})", content_ids)  # noqa: S608


def match_sql(query: str, *, scope_messages: int | None = None,
              column: str = "m.content_id") -> tuple[str, list[str]] | None:
    """A SQL condition on ``m.content_id`` (``m`` = store_message) that keeps the
    messages matching ``query``; None when the query has no searchable word.

    ``scope_messages``: how many messages the rest of the query keeps (the
    account's or the mailbox's count). Up to PROBE_LIMIT, the condition tests
    each of those messages' own document (the probe form), so the cost follows
    the person's mailbox; the caller must then drive the query from the scope's
    rows (``probes(...)`` says which form was chosen). ``column``: the
    content id column to test instead (a list archive's ``content_id``: a
    post is a Content of the store, indexed like any message)."""
    if column not in COLUMNS:
        raise ValueError(f"not a content id column: {column!r}")
    words = terms(query)
    if not words:
        return None
    if probes(scope_messages):
        return _probe_sql(words, column)
    if connection.vendor == "sqlite":
        expression = " ".join(f'"{w}"*' for w in words)
        return f"{column} IN (SELECT rowid FROM store_search WHERE store_search MATCH %s)", [expression]  # noqa: S608 (COLUMNS)
    expression = " & ".join(f"{w}:*" for w in words)
    return (
        f"{column} IN (SELECT content_id FROM store_search WHERE doc @@ to_tsquery('simple', %s))",  # noqa: S608 (COLUMNS)
        [expression],
    )


def probes(scope_messages: int | None) -> bool:
    """Whether a search over ``scope_messages`` messages tests their documents
    one by one rather than asking the shared index."""
    return scope_messages is not None and scope_messages <= PROBE_LIMIT


def _probe_sql(words: list[str], column: str = "m.content_id") -> tuple[str, list[str]]:
    """The probe form of ``match_sql``: the message's own document, read by its
    key, tested against the query. PostgreSQL evaluates the same tsquery on the
    stored tsvector (a scalar subquery is evaluated per row, never turned into
    a scan of the index). SQLite's FTS5 would expand a prefix term over the
    whole index at each probe, so the stored folded text is tested by
    ``words_match``, which follows FTS5's rule (``_phrase_pattern``)."""
    if connection.vendor == "sqlite":
        register_functions()
        return (
            f"academail_words_match((SELECT s.text FROM store_search s WHERE s.rowid = {column}), %s)",  # noqa: S608 (COLUMNS)
            ["\n".join(words)],
        )
    expression = " & ".join(f"{w}:*" for w in words)
    return (
        f"(SELECT s.doc FROM store_search s WHERE s.content_id = {column}) @@ to_tsquery('simple', %s)",  # noqa: S608 (COLUMNS)
        [expression],
    )


def _phrase_pattern(word: str) -> re.Pattern[str] | None:
    """FTS5's reading of the query term ``"word"*``: the term's tokens (what
    unicode61 sees: "jean_paul" is two) in a row, the last one as a prefix; None
    for a term with no token, which FTS5 leaves out of the AND."""
    tokens = _TOKEN.findall(word)
    if not tokens:
        return None
    # The first token must start a token: the look-behind comes after it, so
    # the pattern starts with a literal, which ``re`` finds with a fast scan
    # (a leading look-behind is tried at every position: 20 times slower).
    first = re.escape(tokens[0])
    rest = "".join(r"[\W_]+" + re.escape(t) for t in tokens[1:])
    return re.compile(rf"{first}(?<![^\W_]{first}){rest}")


@functools.lru_cache(maxsize=64)
def _query_patterns(query: str) -> tuple[re.Pattern[str], ...]:
    patterns = (_phrase_pattern(w) for w in query.split("\n"))
    return tuple(p for p in patterns if p is not None)


def words_match(text: str | None, query: str) -> bool:
    """SQLite's ``academail_words_match``: whether the indexed (folded) ``text``
    holds every term of ``query`` (``match_sql``'s words, one a line) as FTS5's
    MATCH would find it; no term with a token matches nothing, as in FTS5."""
    patterns = _query_patterns(query)
    if text is None or not patterns:
        return False
    return all(p.search(text) for p in patterns)


def register_functions() -> None:
    """Make ``academail_words_match`` callable on this thread's SQLite connection."""
    connection.ensure_connection()
    connection.connection.create_function("academail_words_match", 2, words_match, deterministic=True)


MIN_CANDIDATE_TERM = 3


def candidates_sql(value: str, *, scope_messages: int | None = None) -> tuple[str, list[str]] | None:
    """A SQL condition on ``m.content_id`` keeping every message whose indexed
    text may contain ``value`` as a substring; None when the index cannot help,
    or when the scope (``scope_messages``, the mailbox's count) is small enough
    that the substring rule costs less than asking the shared index
    (``probes``): the caller then checks the scope's own text.

    A substring's first word may end a longer word of the text ("onseil" in
    "conseil"), which no word index finds, so it is left out unless the value
    starts with a separator; its last word may start one (a prefix term); the
    words between are whole words. Terms shorter than MIN_CANDIDATE_TERM would
    match most of the index and are left out too: with no term left, the caller
    scans the folded text of the mailbox (bounded by its size)."""
    if probes(scope_messages):
        return None
    folded = fold(value)
    words: list[str] = []
    for m in _TOKEN.finditer(folded):
        if m.start() == 0 or len(m.group()) < MIN_CANDIDATE_TERM:
            continue
        prefix = m.end() == len(folded)
        words.append(m.group() + ("*" if prefix else ""))
        if len(words) >= MAX_TERMS:
            break
    if not words:
        return None
    if connection.vendor == "sqlite":
        expression = " ".join(f'"{w.rstrip("*")}"' + ("*" if w.endswith("*") else "") for w in words)
        return "m.content_id IN (SELECT rowid FROM store_search WHERE store_search MATCH %s)", [expression]
    expression = " & ".join(f"{w.rstrip('*')}" + (":*" if w.endswith("*") else "") for w in words)
    return (
        "m.content_id IN (SELECT content_id FROM store_search WHERE doc @@ to_tsquery('simple', %s))",
        [expression],
    )
