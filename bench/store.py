"""The store with one big mailbox: fill one INBOX with N distinct ~2 KB French
messages through ``prepare_content`` + ``do_store`` (batches per
``transaction.atomic()``), then time the reads a webmail and IMAP do.

    .venv/bin/python bench/store.py [--messages 15000] [--batch 500] [--runs 20]
    .venv/bin/python bench/store.py --messages 100000      # ~10 min of filling on 2 cores
    .venv/bin/python bench/store.py --database-url postgres://postgres@127.0.0.1:5432

Prints (median of --runs, in ms): the newest 50 with their subjects
(``page_messages``), a page deep in the mailbox (``before_uid`` = N/2),
full-text searches (``search_messages``: a common word, two words, a rare word,
the two words typed without accents), and reading the mailbox counters.

Goals (BENCHMARKS.md and the brief): a page <= 20 ms, a search <= 200 ms,
whatever the size of the mailbox.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import _common as c

RARE_WORD = "ornithorynque"  # one message in RARE_EVERY
RARE_EVERY = 10_007


def small_message(rng: random.Random, index: int, owner: str, start: datetime, *, threaded: bool = False) -> bytes:
    """Message ``index`` of a bench mailbox. ``threaded``: 40 % of messages
    answer one of the 200 before them ("Re: " + the thread's subject,
    In-Reply-To, References up to the thread's root), so THREAD and SORT
    (bench/imap_sort.py) see conversations, not 100,000 lone messages."""
    extra = [RARE_WORD] if index % RARE_EVERY == 5 else []
    if not threaded:
        return c.make_message(
            rng,
            to=[owner],
            size=rng.randint(1500, 2500),
            subject_text=f"{c.subject(rng)} (n° {index})",
            extra_words=extra,
            when=start + timedelta(minutes=index),
        )
    chain = thread_chain(index)
    root = chain[0] if chain else index
    subject_text = f"{c.subject(random.Random(root))} (n° {root})"
    headers = []
    if chain:
        subject_text = f"Re: {subject_text}"
        ids = [thread_message_id(i) for i in chain[-20:]]  # as clients trim References
        headers = [f"In-Reply-To: {ids[-1]}", "References: " + "\r\n ".join(ids)]
    return c.make_message(
        rng,
        to=[owner],
        size=rng.randint(1500, 2500),
        subject_text=subject_text,
        extra_words=extra,
        when=start + timedelta(minutes=index),
        message_id=thread_message_id(index),
        extra_headers=headers,
    )


def thread_message_id(index: int) -> str:
    return f"<{index}.banc@exemple-ecole.fr>"


def thread_chain(index: int) -> list[int]:
    """The ancestors of message ``index``, root first (empty for a new thread);
    decided by the index alone, so any batch computes any message's thread."""
    chain: list[int] = []
    while True:
        rng = random.Random(index * 7919 + 17)
        if index < 10 or rng.random() >= 0.4:
            break
        index -= rng.randint(1, 200)
        chain.append(index)
    return chain[::-1]


def _prepare_batch(job: tuple[int, int, str]) -> tuple[list[object], int, float, float]:
    """In a worker process: generate one batch and run ``prepare_content`` on it
    (blob written and fsynced, message parsed). Returns the PreparedContents,
    their bytes and the seconds spent generating and preparing."""
    from academail.store.messages import prepare_content

    first, last, owner = job
    rng = random.Random(first)
    start = datetime(2020, 9, 1, 8, tzinfo=UTC)
    t0 = time.perf_counter()
    raws = [small_message(rng, i, owner, start) for i in range(first, last)]
    t1 = time.perf_counter()
    prepared = [prepare_content(raw) for raw in raws]
    return prepared, sum(map(len, raws)), t1 - t0, time.perf_counter() - t1


def fill(mailbox_id: int, account_id: int, owner: str, count: int, batch: int, workers: int) -> dict[str, float]:
    """Worker processes generate and prepare batches (the second core); this
    process stores them, one ``transaction.atomic()`` per batch."""
    from django.db import connections, transaction

    from academail.store.messages import Placement, do_store

    placement = [Placement(account_id, mailbox_id)]
    spent = {"generate": 0.0, "prepare": 0.0, "store": 0.0, "bytes": 0}
    jobs = [(first, min(count, first + batch), owner) for first in range(0, count, batch)]
    connections.close_all()  # no connection crosses the fork
    began = time.perf_counter()
    last_report = began
    done = 0
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for prepared, size, generating, preparing in pool.imap(_prepare_batch, jobs):
            t0 = time.perf_counter()
            with transaction.atomic():
                for item in prepared:
                    do_store(item, placement, internaldate=item.parsed.date)
            t1 = time.perf_counter()
            spent["store"] += t1 - t0
            spent["generate"] += generating
            spent["prepare"] += preparing
            spent["bytes"] += size
            done += len(prepared)
            if t1 - last_report > 15 or done == count:
                last_report = t1
                print(f"fill     {done}/{count} in {t1 - began:.0f} s ({done / (t1 - began):.0f} msg/s)", flush=True)
    spent["total"] = time.perf_counter() - began
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=15_000)
    parser.add_argument("--batch", type=int, default=500, help="do_store calls per transaction")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes generating messages and running prepare_content (blob fsync + parse)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]: a fresh database, dropped at the end")
    parser.add_argument("--keep", action="store_true", help="keep the temporary ACADEMAIL_HOME")
    args = parser.parse_args()

    c.banner(f"bench/store.py: one mailbox of {args.messages} messages")
    with c.django_home(args.database_url, keep=args.keep) as (home, took):
        print(f"setup    home {home}; {c.db_label()}; migrate {took:.1f} s")
        from academail.store.messages import page_messages, search_messages
        from academail.store.models import Mailbox, Message

        account = c.bench_account()
        inbox = Mailbox.objects.get(account=account, special_use="inbox")
        spent = fill(inbox.pk, account.pk, account.address, args.messages, args.batch, args.workers)
        n = args.messages
        print(f"fill     {n} messages ({c.human_bytes(spent['bytes'])}) in {spent['total']:.1f} s: "
              f"{n / spent['total']:.0f} msg/s overall. In {args.workers} worker processes: generating "
              f"{spent['generate']:.1f} s, prepare_content {spent['prepare']:.1f} s "
              f"({n / spent['prepare']:.0f} msg/s per process). Here: do_store in batches of {args.batch} "
              f"{spent['store']:.1f} s = {n / spent['store']:.0f} msg/s")
        print(f"disk     DB {c.human_bytes(c.db_size_bytes())}, blobs {c.human_bytes(c.dir_usage(home / 'blobs')[2])}")

        inbox.refresh_from_db()
        assert inbox.messages == n == Message.objects.filter(mailbox=inbox).count()
        deep = inbox.uidnext // 2

        def newest() -> None:
            page = page_messages(inbox, limit=50)
            assert len(page) == 50
            for message in page:
                _ = message.content.subject

        def deep_page() -> None:
            page = page_messages(inbox, before_uid=deep, limit=50)
            assert len(page) == 50
            for message in page:
                _ = message.content.subject

        def counters() -> None:
            Mailbox.objects.values_list("messages", "unseen").get(pk=inbox.pk)

        measures = [
            ("newest 50, with subjects (page_messages)", newest, 20),
            (f"page of 50 below uid {deep} (before_uid)", deep_page, 20),
            ("mailbox counters (messages, unseen)", counters, 20),
        ]
        found: dict[str, int] = {}
        for query in ("conseil", "réunion élèves", "reunion eleves", RARE_WORD):
            found[query] = len(search_messages(account.pk, query))
            measures.append((f'search_messages("{query}") -> {found[query]} of 50', _search(account.pk, query), 200))
        rare_expected = sum(1 for i in range(n) if i % RARE_EVERY == 5)
        print(f"check    rare word in {rare_expected} messages, found {found[RARE_WORD]}; "
              f"accents ignored: {found['réunion élèves'] == found['reunion eleves']}")
        from django.db import connection, connections

        phases = ["as filled"]
        if connection.vendor == "postgresql":
            # Right after a bulk fill the planner's statistics are stale (autovacuum
            # has not analysed yet): measure as filled, then after ANALYZE.
            phases.append("after ANALYZE")
        for phase in phases:
            if phase == "after ANALYZE":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            print(f"reads    {phase}: median of {args.runs} runs (min-max), ms; goal")
            for label, fn, goal in measures:
                median, low, high = c.median_ms(fn, args.runs)
                flag = "" if median <= goal else "  <-- over the goal"
                print(f"  {median:8.2f} ({low:.2f}-{high:.2f})  <= {goal} ms  {label}{flag}")

        connections.close_all()
    return 0


def _search(account_id: int, query: str) -> Callable[[], object]:
    from academail.store.messages import search_messages

    return lambda: search_messages(account_id, query)


if __name__ == "__main__":
    sys.exit(main())
