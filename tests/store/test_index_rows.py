"""The search index rows computed before the transaction (``index_rows``,
in ``prepare_content``'s thread) are exactly what indexing at store time
made: the body folded once gives the same document and columns, over the
whole corpus of real, ugly messages (bad charsets, 8-bit headers...)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from academail.mime.parse import parse_message
from academail.store import messages as ms
from academail.store import search
from academail.store.models import Mailbox
from tests.conftest import build_message


def document_at_store_time(parsed) -> str:
    """What ``do_index_words`` put in the index from ``index_text``."""
    text = search.index_text(parsed)
    return search.fold(text) if connection.vendor == "sqlite" else search.index_words(text)

CORPUS = sorted((Path(__file__).parent.parent / "data" / "messages").glob("*.eml"))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_rows_made_early_are_the_rows_made_in_the_transaction(path):
    parsed = parse_message(path.read_bytes())
    rows = search.index_rows(parsed)
    assert rows.document == document_at_store_time(parsed)
    assert rows.columns == search.search_columns(parsed.header_text, parsed.search_text)
    assert rows.ids == search.id_columns(parsed.header_text)


def test_a_french_message_folds_as_before():
    raw = ("From: Élodie Œuvray <e.oeuvray@ac-demo.fr>\r\nTo: Zoë <zoe@ac-demo.fr>\r\n"
           "Subject: Réunion …\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nÀ bientôt, l'équipe — ß\r\n").encode()
    parsed = parse_message(raw)
    rows = search.index_rows(parsed)
    assert rows.document == document_at_store_time(parsed)
    assert "elodie oeuvray" in rows.document and "reunion" in rows.document and "a bientot" in rows.document


@pytest.mark.django_db
def test_postgresql_lexemes_are_those_its_parser_would_make():
    """PostgreSQL stores the words as lexemes as they are (``array_to_tsvector``,
    no parser); its parser (what ``to_tsquery`` runs on a query's words) must
    find the same lexemes in each document of the corpus, or a search would miss."""
    if connection.vendor != "postgresql":
        pytest.skip("the tsvector is PostgreSQL's; SQLite's FTS5 takes the folded text")
    documents = [search.index_rows(parse_message(path.read_bytes())).document for path in CORPUS]
    # Words too long to be lexemes (over 2,047 bytes) are left out by both.
    documents.append(search.index_words("x" * 2048 + " " + "中" * 700 + " court " + "y" * 2047))
    with connection.cursor() as cursor:
        for document in documents:
            cursor.execute(
                f"SELECT tsvector_to_array(to_tsvector('simple', %s)), tsvector_to_array({search.PG_DOCUMENT_SQL})",
                [document, document],
            )
            parsed, stored = cursor.fetchone()
            assert sorted(stored) == sorted(parsed)
            assert len(stored) == len(document.split())


@pytest.mark.django_db
def test_postgresql_compresses_the_search_text_with_lz4(make_account):
    """The folded body SEARCH compares with is a delivery's largest row: on
    PostgreSQL it is compressed with LZ4 (migration 0021), cheaper in the
    storing transaction than the default pglz, and read back unchanged."""
    if connection.vendor != "postgresql":
        pytest.skip("TOAST compression is PostgreSQL's; SQLite stores the text as it is")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        if not cursor.fetchone()[0]:
            pytest.skip("this PostgreSQL server was built without LZ4: the migration keeps pglz")
    account = make_account()
    body = " ".join(f"réunion{i % 300} conseil de classe" for i in range(3000))  # ~80 KB, compressible
    raw = build_message(body=body)
    inbox = Mailbox.objects.get(account=account, special_use="inbox")
    message = ms.do_append(account.pk, inbox.pk, raw)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_column_compression(body), body FROM store_searchtext WHERE content_id = %s",
                       [message.content_id])
        method, stored = cursor.fetchone()
    assert method == "lz4"
    assert stored == search.search_columns("", parse_message(raw).search_text)["body"]
