"""A search costs the person's mailbox (issue 21 §6): small scopes test their
own documents (``store.search.probes``), and that test finds exactly what the
shared full-text index finds."""

from __future__ import annotations

import sqlite3

import pytest
from django.db import connection

from academail.store import messages as ms
from academail.store import search
from academail.store.models import Mailbox
from tests.conftest import build_message
from tests.store.test_messages import deliver

TEXTS = [
    "Réunion du conseil de classe, jeudi 3eB",
    "jean_paul.dupont@ac-demo.fr a écrit : chef-d'œuvre",
    "Les élèves de l'école maternelle; Straße 12½",
    "CONSEILLER principal d'éducation — emploi du temps",
    "réunion-parents professeurs 2026/2027",
    "",
]
QUERIES = [
    "conseil", "reunion", "Réunion élèves", "jean_paul", "paul.dupont", "oeuvre", "chef d'œuvre",
    "strasse", "12", "emploi temps", "temps emploi", "reunion-parents", "parents-professeurs", "2026/2027",
    "cons", "x", "___", "élève école", "d'éducation",
]


def test_words_match_finds_what_fts5_finds():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE s USING fts5(text, tokenize='unicode61 remove_diacritics 2')")
    for i, text in enumerate(TEXTS, 1):
        db.execute("INSERT INTO s(rowid, text) VALUES (?, ?)", [i, search.fold(text)])
    for query in QUERIES:
        words = search.terms(query)
        if not words:
            continue
        expression = " ".join(f'"{w}"*' for w in words)
        by_index = {row[0] for row in db.execute("SELECT rowid FROM s WHERE s MATCH ?", [expression])}
        by_probe = {i for i, text in enumerate(TEXTS, 1) if search.words_match(search.fold(text), "\n".join(words))}
        assert by_probe == by_index, query


@pytest.mark.django_db
def test_a_small_mailbox_is_searched_from_its_own_rows(make_account, monkeypatch):
    account, other = make_account(), make_account("Paul", "Durand")
    for n in range(3):
        deliver(build_message(subject=f"Conseil de classe {n}"), account)
        deliver(build_message(subject=f"Conseil d'administration {n}"), other)
    assert search.probes(3) and not search.probes(search.PROBE_LIMIT + 1)
    condition = search.match_sql("conseil", scope_messages=3)
    assert condition is not None and "m.content_id" in condition[0] and " IN (" not in condition[0]
    found = [m.content.subject for m in ms.search_messages(account.pk, "conseil")]
    monkeypatch.setattr(search, "PROBE_LIMIT", -1)
    assert [m.content.subject for m in ms.search_messages(account.pk, "conseil")] == found
    assert found == ["Conseil de classe 2", "Conseil de classe 1", "Conseil de classe 0"]


@pytest.mark.django_db
def test_the_probe_reads_documents_by_key_not_the_index(make_account):
    if connection.vendor != "sqlite":
        pytest.skip("the plan text checked here is SQLite's; PostgreSQL's probe is a per-row SubPlan")
    account = make_account()
    deliver(build_message(subject="Conseil"), account)
    box = Mailbox.objects.get(account=account, name="INBOX")
    clause, params = search.match_sql("conseil", scope_messages=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN QUERY PLAN SELECT m.id FROM store_mailbox b CROSS JOIN store_message m ON b.id = m.mailbox_id"
            f" WHERE b.account_id = %s AND {clause} ORDER BY m.id DESC LIMIT 50",  # noqa: S608 (fixed text)
            [account.pk, *params],
        )
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
    # The FTS5 table is only entered by rowid (idxStr "=" with no MATCH, "M").
    assert "VIRTUAL TABLE INDEX 0:=" in plan and ":M" not in plan and "SCAN m" not in plan, plan
    assert box.messages == 1
