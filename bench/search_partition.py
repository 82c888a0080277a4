"""Search partitioned by account (issue 21 §6): a search in one person's
mailbox of 1,000 messages while the shared full-text index holds millions of
other accounts' documents, through the probe form small scopes now take and
through the shared index (the form every search took before), same run.

The person's messages are delivered through the store (``do_store``, as
bench/store.py fills); the other accounts' documents are generated in bulk SQL
(contents, messages and index rows straight into the tables: a recursive CTE
on SQLite, generate_series on PostgreSQL copying a pool of 100,000 drawn
documents, the GIN index rebuilt after), with
words drawn from the French bench vocabulary so that "conseil" or "réunion"
are in a large share of them, as in an académie's mail. Times are the store
call ``search_messages`` (the server side of a webmail search; median of
--runs after a warm-up), in wall clock and in CPU time (this process's, plus
on PostgreSQL its server process's, read from /proc at 10 ms ticks).

    .venv/bin/python bench/search_partition.py --others 2000000
    .venv/bin/python bench/search_partition.py --others 2000000 --database-url postgres://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import _common as c

from store import fill

QUERIES = ["conseil", "réunion élèves", "inspection académique", "ornithorynque", "zzzintrouvable"]
CHUNK = 250_000
POOL = 100_000


def vocabulary() -> list[str]:
    """Distinct folded words, the school's first so the skewed draw makes them
    common ("conseil" in about a third of the documents)."""
    from academail.store.search import fold

    # VOCABULARY repeats the grammatical words 3 times, the verbs twice and the
    # school's words once: fewest repeats first puts the school's words first.
    ordered = sorted(dict.fromkeys(c.VOCABULARY), key=c.VOCABULARY.count)
    words: list[str] = []
    for word in [*ordered, *(w.lower() for w in c.LAST_NAMES), *c.FIRST_NAMES]:
        folded = fold(word).replace("-", " ")
        for part in folded.split():
            if part not in words:
                words.append(part)
    return words


def bulk_others(mailbox_id: int, count: int, words_per_doc: int) -> float:
    """``count`` contents, messages (in ``mailbox_id``) and index documents in
    bulk SQL; returns seconds."""
    from django.db import connection, transaction

    words = vocabulary()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM store_content")
        base = int(cursor.fetchone()[0])
        cursor.execute("SELECT COALESCE(MAX(uid), 0) FROM store_message WHERE mailbox_id = %s", [mailbox_id])
        uid_base = int(cursor.fetchone()[0])
        sqlite = connection.vendor == "sqlite"
        if sqlite:
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS bench_words (i INTEGER PRIMARY KEY, w TEXT)")
            cursor.executemany("INSERT INTO bench_words VALUES (%s, %s)", list(enumerate(words)))
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS bench_slots (k INTEGER PRIMARY KEY)")
            cursor.executemany("INSERT INTO bench_slots VALUES (%s)", [(k,) for k in range(words_per_doc)])
        else:
            cursor.execute("DROP INDEX IF EXISTS store_search_doc")
            cursor.execute("SET maintenance_work_mem = '512MB'")
            # A throw-away database: no foreign-key triggers per bulk row (a
            # deferred check per row made the fill twice as long).
            cursor.execute("SET session_replication_role = replica")
            # POOL documents drawn once, then copied (document n is pool entry
            # n mod POOL): building a tsvector of 60 drawn words costs ~0.5 ms,
            # two hours at 10,000,000 on this machine; the index holds the same
            # words in the same proportions either way.
            cursor.execute("CREATE TEMP TABLE bench_pool (i integer PRIMARY KEY, doc tsvector)")
            cursor.execute(
                "INSERT INTO bench_pool SELECT n, to_tsvector('simple', (SELECT string_agg("
                f"(%s::text[])[1 + floor(random() * random() * {len(words)})::int], ' ')"
                f" FROM generate_series(1, {words_per_doc} + n * 0))) FROM generate_series(0, {POOL - 1}) AS n",
                [words],
            )
        n_words = len(words)
        for first in range(1, count + 1, CHUNK):
            last = min(count, first + CHUNK - 1)
            with transaction.atomic():
                if sqlite:
                    series = (
                        f"WITH RECURSIVE g(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM g WHERE n < {last})"
                    )
                    # A skewed draw: index = r1 mod (1 + r2 mod V) favours the first words.
                    draw = f"abs(random()) % (1 + abs(random()) % {n_words})"
                    text = (
                        "(SELECT group_concat(w, ' ') FROM (SELECT b.w FROM bench_words b JOIN"
                        f" (SELECT {draw} AS i FROM bench_slots"
                        " WHERE g.n = g.n) d ON d.i = b.i))"
                    )
                else:
                    series = f"WITH g AS (SELECT generate_series({first}, {last}) AS n)"
                cursor.execute(
                    f"{series} INSERT INTO store_content (id, sha256, size, refcount, subject, from_name, from_addr,"
                    " to_text, cc_text, message_id, in_reply_to, \"references\", preview, has_attachments,"
                    " thread_key, structure, parse_defects, created_at)"
                    f" SELECT {base} + n, 'bench' || n, 2000, 1, 'Message ' || n, '', 'x@ac-demo.fr', '', '',"
                    " '', '', '', '', false, '', '{}', '[]', CURRENT_TIMESTAMP FROM g",
                )
                cursor.execute(
                    f"{series} INSERT INTO store_message (mailbox_id, uid, modseq, content_id, prefix, size,"
                    " internaldate, saved_at, flags, keywords, sender_sort, subject_sort)"
                    f" SELECT %s, {uid_base} + n, 1, {base} + n, %s, 2000, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,"
                    " 0, '', '', '' FROM g",
                    [mailbox_id, b""],
                )
                if sqlite:
                    cursor.execute(f"{series} INSERT INTO store_search (rowid, text) SELECT {base} + n, {text} FROM g")
                else:
                    cursor.execute(
                        f"{series} INSERT INTO store_search (content_id, doc)"
                        f" SELECT {base} + n, p.doc FROM g JOIN bench_pool p ON p.i = n % {POOL}",
                    )
            took = time.perf_counter() - started
            print(f"bulk     {last:,}/{count:,} documents in {took:.0f} s", flush=True)
        if sqlite:
            cursor.execute("INSERT INTO store_search(store_search) VALUES ('optimize')")
        else:
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute(
                "CREATE INDEX store_search_doc ON store_search USING GIN (doc) WITH (fastupdate = off)"
            )
        cursor.execute(
            "UPDATE store_mailbox SET messages = messages + %s, uidnext = uidnext + %s WHERE id = %s",
            [count, count, mailbox_id],
        )
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def backend_pid() -> int | None:
    """The PostgreSQL server process serving this connection (its CPU is the
    query's), or None on SQLite (the query runs in this process)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, int]:
    """(median wall ms, median CPU ms, results) of ``runs`` calls after a
    warm-up; CPU is this process's plus, on PostgreSQL, its server process's."""
    found = fn()
    server = backend_pid()
    walls, cpus = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        s0 = c.process_cpu_seconds(server) if server else 0.0
        fn()
        s1 = c.process_cpu_seconds(server) if server else 0.0
        cpus.append((time.process_time() - c0 + s1 - s0) * 1000)
        walls.append((time.perf_counter() - w0) * 1000)
    return statistics.median(walls), statistics.median(cpus), len(found)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--others", type=int, default=2_000_000, help="other accounts' documents, in bulk SQL")
    parser.add_argument("--mine", type=int, default=1_000, help="the person's messages, through the store")
    parser.add_argument("--words", type=int, default=60, help="words per generated document")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]: a fresh database, dropped at the end")
    args = parser.parse_args()

    c.banner(f"bench/search_partition.py: {args.mine:,} messages of one person, {args.others:,} of others")
    with c.django_home(args.database_url) as (_home, took):
        print(f"setup    {c.db_label()}; {c.machine_label()}; migrate {took:.1f} s")
        from academail.accounts.services import check_create_account
        from academail.store import search
        from academail.store.messages import search_messages
        from academail.store.models import Mailbox

        person = c.bench_account()
        others = check_create_account(first_name="Paul", last_name="Durand", numen=c.numen(2), status="active")
        inbox = Mailbox.objects.get(account=person, special_use="inbox")
        fill(inbox.pk, person.pk, person.address, args.mine, 500, 2)
        other_inbox = Mailbox.objects.get(account=others, special_use="inbox")
        spent = bulk_others(other_inbox.pk, args.others, args.words)
        print(f"bulk     {args.others:,} documents of other accounts in {spent:.0f} s; "
              f"database {c.human_bytes(c.db_size_bytes())}")
        print(f"load     {os.getloadavg()[0]:.1f} (1 min average, 2 cores shared)")
        print()
        print(f"{'query':26} {'hits':>5} {'partitioned (probe)':>22} {'shared index (before)':>24}")
        print(f"{'':26} {'':>5} {'wall ms':>10} {'CPU ms':>10} {'wall ms':>11} {'CPU ms':>11}")
        limit = search.PROBE_LIMIT
        for query in QUERIES:
            def run(q: str = query) -> list[object]:
                return search_messages(person.pk, q, limit=50)

            search.PROBE_LIMIT = limit
            probe_wall, probe_cpu, hits = timed(run, args.runs)
            search.PROBE_LIMIT = -1
            index_wall, index_cpu, hits_index = timed(run, args.runs)
            search.PROBE_LIMIT = limit
            assert hits == hits_index, (query, hits, hits_index)
            print(f"{query:26} {hits:5} {probe_wall:10.1f} {probe_cpu:10.1f} {index_wall:11.1f} {index_cpu:11.1f}")
        print()
        print("goal: < 50 ms server time for a 1,000-message mailbox beside 10 million other documents")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
