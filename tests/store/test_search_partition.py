"""A search costs the person's mailbox (issue 21 §6): small scopes test their
own documents (``store.search.probes``), and that test finds exactly what the
shared full-text index finds."""

from __future__ import annotations

import json
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
        pytest.skip("the plan text checked here is SQLite's; PostgreSQL's is checked by the test below")
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


def _plan_nodes(node: dict, parent: str = "") -> list[tuple[str, dict]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan, with the SubPlan/InitPlan
    name or relationship it hangs from."""
    here = node.get("Subplan Name") or node.get("Parent Relationship") or parent
    found = [(here, node)]
    for child in node.get("Plans", []):
        found.extend(_plan_nodes(child, here))
    return found


def _search_plan(account_id: int, query: str) -> list[tuple[str, dict]]:
    """The plan PostgreSQL makes of the very statement ``search_messages`` runs
    (captured, then explained with its parameters bound)."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        ms.search_messages(account_id, query)
    [statement] = [q["sql"] for q in captured.captured_queries if "to_tsquery" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}")  # noqa: S608 (a statement the store just ran)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return _plan_nodes(plan[0]["Plan"])


def _partitioned(nodes: list[tuple[str, dict]]) -> bool:
    """The per-account path: the tsquery is a filter on the fenced scope's rows
    (``WITH scope AS MATERIALIZED``), and the index table is only entered in
    that per-row SubPlan, by one message's content id on its key, never
    searched by the tsquery through its GIN index (``store_search_doc``)."""
    fence = [n for _, n in nodes if n["Node Type"] == "CTE Scan" and n.get("CTE Name") == "scope"]
    reads = [(under, n) for under, n in nodes if n.get("Relation Name") == "store_search"]
    return (
        len(fence) == 1 and "SubPlan" in fence[0].get("Filter", "") and "@@" in fence[0]["Filter"] and bool(reads)
        and all(under.startswith("SubPlan") and n["Node Type"] == "Index Scan"
                and n.get("Index Name") != "store_search_doc" and "content_id" in n.get("Index Cond", "")
                for under, n in reads)
    )


@pytest.mark.django_db
def test_postgresql_searches_the_persons_rows_behind_the_fence(make_account, monkeypatch):
    """PostgreSQL's counterpart of the SQLite plan test above, on the plan of the
    statement the store runs: a small account's quick search reads its own
    messages (the fence) and tests each one's document by its key; forced onto
    the shared index, the same search joins the index table and tests the
    tsquery there instead (the predicate can tell the two paths apart)."""
    if connection.vendor != "postgresql":
        pytest.skip("the plan checked here is PostgreSQL's; SQLite's is checked by the test above")
    account, other = make_account(), make_account("Paul", "Durand")
    for n in range(3):
        deliver(build_message(subject=f"Conseil de classe {n}"), account)
        deliver(build_message(subject=f"Conseil d'administration {n}"), other)
    with connection.cursor() as cursor:
        # A few rows fit in one page, which PostgreSQL reads whole whatever the
        # query; with sequential scans priced out it shows the index each path
        # takes at an académie's size (bench/search_partition.py).
        cursor.execute("SET LOCAL enable_seqscan = off")
    probe = _search_plan(account.pk, "conseil")
    assert _partitioned(probe), probe
    monkeypatch.setattr(search, "PROBE_LIMIT", -1)
    shared = _search_plan(account.pk, "conseil")
    assert not _partitioned(shared), shared
    # The shared form: the index table is joined and the tsquery tested there
    # (by its GIN index once the table is large), with no fence.
    assert any(
        n.get("Relation Name") == "store_search" and not under.startswith("SubPlan")
        and "@@" in n.get("Filter", "") + n.get("Index Cond", "") + n.get("Recheck Cond", "")
        for under, n in shared
    ), shared
