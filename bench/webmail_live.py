"""The webmail interactions at the scale of an académie: the directory behind
address autocompletion with 60,000 accounts (index build time and memory, lookup
p50/p95), the suggestions with recent recipients, the live-state JSON query,
and what idle event streams cost (memory per open stream, fan-out of one event).

Prints figures, asserts no timing. Accounts are inserted in bulk (Account rows
only, valid NUMEN hashes; one of them provisioned with folders), as the
directory reads nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import tracemalloc

import _common as c


def insert_accounts(count: int) -> None:
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from academail.accounts.models import Account
    from academail.accounts.secrets import encrypt_numen, numen_hash

    rng = random.Random(7)
    unusable = make_password(None)
    rows = []
    for i in range(10, 10 + count):
        first, last = rng.choice(c.FIRST_NAMES), rng.choice(c.LAST_NAMES)
        f, la = c.ascii_fold(first).lower(), c.ascii_fold(last).lower()
        value = c.numen(i)
        rows.append(Account(identifier=f"{f[0]}{la}{i}", address=f"{f}.{la}{i}@{c.DOMAIN}", first_name=first,
                            last_name=last, numen_ciphertext=encrypt_numen(value), numen_hash=numen_hash(value),
                            status="active" if i % 50 else "disabled", quota_bytes=settings.DEFAULT_QUOTA,
                            password=unusable))
    with transaction.atomic():
        Account.objects.bulk_create(rows, batch_size=2000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=60_000)
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument("--streams", type=int, default=5_000)
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]: a fresh database, dropped at the end")
    args = parser.parse_args()

    c.banner(f"bench/webmail_live.py: directory of {args.accounts} accounts, {args.streams} idle streams")
    with c.django_home(args.database_url) as (_home, took):
        print(f"setup    {c.db_label()}; migrate {took:.1f} s")
        from academail.accounts import directory
        from academail.store.mailboxes import special_mailbox
        from academail.store.messages import do_append
        from academail.webmail import directory as suggestions
        from academail.webmail import live

        started = time.perf_counter()
        insert_accounts(args.accounts)
        print(f"accounts {args.accounts} inserted in {time.perf_counter() - started:.1f} s (not part of the figures)")
        me = c.bench_account()
        sent = special_mailbox(me.pk, "sent")
        rng = random.Random(3)
        for i in range(200):
            to = f"{c.ascii_fold(rng.choice(c.FIRST_NAMES)).lower()}.contact{i}@exemple.org"
            raw = f"From: {me.address}\r\nTo: {to}\r\nSubject: envoi {i}\r\n\r\nBonjour\r\n".encode()
            do_append(me.pk, sent.pk, raw)

        started = time.perf_counter()
        directory.forget_index()
        directory.search_directory("zz")
        build = time.perf_counter() - started
        tracemalloc.start()
        directory.forget_index()
        directory.search_directory("zz")
        current, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"index    built in {build * 1000:.0f} ms; {c.human_bytes(current)} held "
              f"({len(directory._index.keys)} keys)")

        queries = []
        for _ in range(args.lookups):
            name = c.ascii_fold(rng.choice(c.FIRST_NAMES + c.LAST_NAMES)).lower()
            queries.append(name[: rng.randint(2, min(6, len(name)))])
        for label, fn in (("directory", directory.search_directory),
                          ("suggest", lambda q: suggestions.access_suggestions(me.pk, q))):
            times, found = [], 0
            for q in queries:
                t = time.perf_counter()
                found += len(fn(q))
                times.append((time.perf_counter() - t) * 1000)
            print(f"{label:10}{len(queries)} prefixes of 2–6 letters: p50 {c.percentile(times, 50):.2f} ms, "
                  f"p95 {c.percentile(times, 95):.2f} ms, {found / len(queries):.1f} results on average")

        median, low, high = c.median_ms(lambda: live.access_live_state(me.pk), 50)
        print(f"state    access_live_state (one query): median {median:.2f} ms (min {low:.2f}, max {high:.2f})")

        async def streams() -> None:
            from academail.store.events import MailEvent, bus

            tracemalloc.start()
            before, _ = tracemalloc.get_traced_memory()
            gens = [live.stream(1000 + i) for i in range(args.streams)]
            for gen in gens:
                await gen.__anext__()  # subscribed, "hello" sent, now waiting
            waiting = [asyncio.ensure_future(gen.__anext__()) for gen in gens]
            await asyncio.sleep(0.1)
            after, _ = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"streams  {args.streams} idle streams: {c.human_bytes((after - before) / args.streams)} each, "
                  "no thread, no database connection")
            t = time.perf_counter()
            bus.publish([MailEvent(1000 + args.streams // 2, 1, "exists", 2)])
            while not any(w.done() for w in waiting):
                await asyncio.sleep(0)
            print(f"fan-out  one event to its account's stream among {args.streams}: "
                  f"{(time.perf_counter() - t) * 1000:.2f} ms")
            for w in waiting:
                w.cancel()
            await asyncio.gather(*waiting, return_exceptions=True)
            for gen in gens:
                await gen.aclose()

        asyncio.run(streams())
    return 0


if __name__ == "__main__":
    sys.exit(main())
