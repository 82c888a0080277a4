"""The webmail with one big INBOX: fill it with N distinct ~2 KB French messages
(varied senders, "Re:"/"TR :" subjects, one in five a reply in a thread)
through ``prepare_content`` + ``do_store`` like bench/store.py, then time whole
views through Django's test client (URL routing, middleware, session, the
store queries and the template):

- the folder list sorted by date, sender, subject and size, first page and a
  page in the middle of the order (keyset pagination);
- the conversation view, first page and a page further down;
- opening a message (distinct unread ones: the \\Seen write is included);
- a search over the account.

    .venv/bin/python bench/webmail.py [--messages 100000] [--runs 40]
    .venv/bin/python bench/webmail.py --database-url postgres://postgres@127.0.0.1:5432

Prints p50 and p95 in ms per view. Goals (issue 5): list page p95 < 100 ms,
opening a message < 150 ms, a search < 300 ms.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import _common as c

PREFIXES = ["", "", "", "Re: ", "RE : ", "TR : ", "Fwd: ", "[CA] "]


def _message(rng: random.Random, index: int, owner: str, start: datetime) -> bytes:
    raw = c.make_message(
        rng,
        to=[owner],
        size=rng.randint(1200, 6000),
        subject_text=f"{rng.choice(PREFIXES)}{c.subject(rng)} (n° {index})",
        when=start + timedelta(minutes=index),
    )
    if index % 5 == 4:
        # A reply in one of 2,000 threads: References points at the thread root.
        root = f"<fil-{rng.randrange(2000)}@exemple-ecole.fr>"
        head, _, body = raw.partition(b"\r\n\r\n")
        raw = head + f"\r\nIn-Reply-To: {root}\r\nReferences: {root}".encode() + b"\r\n\r\n" + body
    return raw


def _prepare_batch(job: tuple[int, int, str]) -> tuple[list[object], float]:
    from academail.store.messages import prepare_content

    first, last, owner = job
    rng = random.Random(first)
    start = datetime(2020, 9, 1, 8, tzinfo=UTC)
    t0 = time.perf_counter()
    prepared = [prepare_content(_message(rng, i, owner, start)) for i in range(first, last)]
    return prepared, time.perf_counter() - t0


def fill(mailbox_id: int, account_id: int, owner: str, count: int, batch: int, workers: int) -> float:
    from django.db import connections, transaction

    from academail.store.messages import Placement, do_store

    placement = [Placement(account_id, mailbox_id)]
    jobs = [(first, min(count, first + batch), owner) for first in range(0, count, batch)]
    connections.close_all()  # no connection crosses the fork
    began = last_report = time.perf_counter()
    done = 0
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for prepared, _spent in pool.imap(_prepare_batch, jobs):
            with transaction.atomic():
                for item in prepared:
                    do_store(item, placement, internaldate=item.parsed.date)  # type: ignore[attr-defined]
            done += len(prepared)
            now = time.perf_counter()
            if now - last_report > 30 or done == count:
                last_report = now
                print(f"fill     {done}/{count} in {now - began:.0f} s ({done / (now - began):.0f} msg/s)", flush=True)
    return time.perf_counter() - began


def timed(fn: Callable[[int], object], runs: int) -> tuple[float, float, float, float, float]:
    """(p50, p95, max) of wall time, then (p50, p95) of this process's CPU time,
    in ms, of ``runs`` calls ``fn(i)`` after one warm-up. On a shared machine
    the wall time includes waiting for a core; the CPU time does not (on SQLite
    it covers the queries too, which run in this process)."""
    fn(-1)
    times, cpu = [], []
    for i in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return (c.percentile(times, 50), c.percentile(times, 95), max(times),
            c.percentile(cpu, 50), c.percentile(cpu, 95))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]: a fresh database, dropped at the end")
    parser.add_argument("--keep", action="store_true", help="keep the temporary ACADEMAIL_HOME")
    args = parser.parse_args()

    c.banner(f"bench/webmail.py: one INBOX of {args.messages} messages, whole views through Django's test client")
    with c.django_home(args.database_url, keep=args.keep) as (home, took):
        print(f"setup    home {home}; {c.db_label()}; migrate {took:.1f} s")
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection, connections
        from django.test import Client

        from academail.store import webmail as store
        from academail.store.models import Mailbox, Message

        # The test client's host name; not setup_test_environment(), whose template
        # instrumentation (context copies for assertions) would double the figures.
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        call_command("collectstatic", interactive=False, verbosity=0)  # the pages name hashed static files
        account = c.bench_account()
        inbox = Mailbox.objects.get(account=account, special_use="inbox")
        seconds = fill(inbox.pk, account.pk, account.address, args.messages, args.batch, args.workers)
        n = args.messages
        print(f"fill     {n} messages in {seconds:.0f} s ({n / seconds:.0f} msg/s); DB {c.human_bytes(c.db_size_bytes())}")
        inbox.refresh_from_db()
        assert inbox.messages == n

        client = Client()
        client.force_login(account)
        base = f"/courrier/dossier/{inbox.pk}/"

        def get(url: str, expect: str = "") -> Callable[[int], object]:
            def run(_: int) -> object:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                if expect:
                    assert expect in response.content.decode(), (url, expect)
                return response

            return run

        def middle(sort: str, descending: bool) -> str:
            """The keyset URL of the page that starts in the middle of the order."""
            column = store.SORTS[sort]
            order = [f"-{column}", "-uid"] if descending else [column, "uid"]
            row = Message.objects.filter(mailbox=inbox).order_by(*order).values_list(column, "uid")[n // 2]
            key = "" if column == "uid" else str(row[0])
            from urllib.parse import urlencode

            return base + "?" + urlencode(
                {"tri": sort, "sens": "desc" if descending else "asc", "apres": row[1], "cle": key}
            )

        views: list[tuple[str, Callable[[int], object], int]] = []
        for sort, descending in (("date", True), ("expediteur", False), ("objet", False), ("taille", True)):
            direction = "desc" if descending else "asc"
            views.append((f"list by {sort} {direction}, first page", get(f"{base}?tri={sort}&sens={direction}", 'name="uid"'), 100))
            views.append((f"list by {sort} {direction}, page at {n // 2}", get(middle(sort, descending), 'name="uid"'), 100))

        client.get(base + "?vue=conversations")
        threads = store.conversation_page(account.pk, inbox.pk)
        deep_threads = threads
        for _ in range(20):
            if deep_threads.older is None:
                break
            deep_threads = store.conversation_page(account.pk, inbox.pk, before_uid=deep_threads.older)
        views.append(("conversations, first page", get(base), 100))
        views.append((f"conversations, 21st page (uids below {deep_threads.older})",
                      get(f"{base}?avant={deep_threads.older}"), 100))
        client.get(base + "?vue=messages")

        rng = random.Random(7)
        uids = rng.sample(range(1, n + 1), args.runs + 1)

        def open_message(i: int) -> object:
            response = client.get(f"/courrier/message/{inbox.pk}/{uids[i]}/")
            assert response.status_code == 200
            return response

        views.append(("open an unread message (page, \\Seen set)", open_message, 150))
        for query in ("conseil", "réunion élèves", "inspection académique"):
            views.append((f'search "{query}"', get(f"/courrier/recherche/?q={query}"), 300))

        phases = ["as filled"]
        if connection.vendor == "postgresql":
            phases.append("after ANALYZE")
        for phase in phases:
            if phase == "after ANALYZE":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
                rng = random.Random(8)
                uids[:] = rng.sample(range(1, n + 1), args.runs + 1)
            load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"views    {phase}: {args.runs} runs each, ms: wall p50 / p95 (max) | CPU p50 / p95;"
                  f" goal for p95; load average {load}")
            for label, fn, goal in views:
                p50, p95, worst, cpu50, cpu95 = timed(fn, args.runs)
                flag = "" if p95 <= goal else "  <-- wall over the goal"
                print(f"  {p50:7.1f} / {p95:7.1f} ({worst:7.1f}) | {cpu50:6.1f} / {cpu95:6.1f}  < {goal} ms  {label}{flag}",
                      flush=True)
        connections.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
