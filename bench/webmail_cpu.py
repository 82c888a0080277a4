"""The server's share of the four common webmail waits (issue 20): list, open,
quick search and next page, each as a whole page and as the fragment that
inplace.js fetches (``X-Academail-Fragment: 1``), through Django's test
client on one INBOX of N messages (bench/webmail.py's fill).

For each it prints this process's CPU time p50 / p95 (on SQLite the queries
run in this process, so they are included), the wall clock p50 beside the
load average (the machine is shared: the wall clock waits for a core, the CPU
time does not), the number of SQL statements and the response size.
``--profile NAME`` prints cProfile's top functions for that action, to find
where the time goes.

    .venv/bin/python bench/webmail_cpu.py [--messages 1000] [--runs 40]
    .venv/bin/python bench/webmail_cpu.py --profile "quick search"
"""

from __future__ import annotations

import argparse
import cProfile
import html
import io
import os
import pstats
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import _common as c

ACTIONS = ("list", "open", "quick search", "next page")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--profile", choices=ACTIONS, help="print cProfile's top functions for this action (page)")
    parser.add_argument("--dump", help="write each action's page (first run) to this folder, to diff two versions")
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]: a fresh database, dropped at the end")
    args = parser.parse_args()
    c.banner(f"bench/webmail_cpu.py: {args.messages} messages, the server's CPU per common webmail action")
    with c.django_home(args.database_url) as (home, took):
        print(f"setup    home {home}; {c.db_label()}; migrate {took:.1f} s")
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from academail.store.models import Mailbox
        from webmail import fill

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        call_command("collectstatic", interactive=False, verbosity=0)  # the pages name hashed static files
        account = c.bench_account()
        inbox = Mailbox.objects.get(account=account, special_use="inbox")
        seconds = fill(inbox.pk, account.pk, account.address, args.messages, 500, 2)
        print(f"fill     {args.messages} messages in {seconds:.0f} s")
        client = Client()
        client.force_login(account)
        inbox_url = f"/courrier/dossier/{inbox.pk}/"
        first = client.get(inbox_url).content.decode()
        next_url = html.unescape(re.search(r'href="([^"]+)" rel="next"', first)[1])
        uids = iter(range(args.messages, 0, -1))  # newest first, each opened once

        def action(name: str, fragment: bool) -> Callable[[int], int]:
            headers = {"X-Academail-Fragment": "1"} if fragment else {}
            url = {"list": inbox_url, "quick search": "/courrier/recherche/?q=conseil", "next page": next_url}.get(name)

            def run(i: int) -> int:
                # open: a distinct message each time (the \Seen write included, as a click does).
                target = url or f"/courrier/message/{inbox.pk}/{next(uids)}/"
                response = client.get(target, headers=headers)
                assert response.status_code == 200, (target, response.status_code)
                if args.dump and i == -1:
                    kind = "fragment" if fragment else "page"
                    Path(args.dump, f"{name.replace(' ', '-')}.{kind}.html").write_bytes(response.content)
                return len(response.content)

            return run

        statements = [0]

        def counting(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            statements[0] += 1
            return execute(sql, params, many, context)

        if args.profile:
            run = action(args.profile, False)
            run(-1)
            profile = cProfile.Profile()
            profile.enable()
            for i in range(args.runs):
                run(i)
            profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(45)
            print(out.getvalue())
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(30)
            print(out.getvalue())
            if os.environ.get("BENCH_CALLERS"):
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_callers(os.environ["BENCH_CALLERS"])
                print(out.getvalue())
            return 0

        print(f"actions  {args.runs} runs each after a warm-up; ms: CPU p50 / p95 | wall p50 (load average) | SQL | bytes")
        for name in ACTIONS:
            for fragment in (False, True):
                run = action(name, fragment)
                run(-1)
                cpu, wall = [], []
                size = 0
                with connection.execute_wrapper(counting):
                    statements[0] = 0
                    run(-2)
                    count = statements[0]
                for i in range(args.runs):
                    started, started_cpu = time.perf_counter(), time.process_time()
                    size = run(i)
                    cpu.append((time.process_time() - started_cpu) * 1000)
                    wall.append((time.perf_counter() - started) * 1000)
                load = os.getloadavg()[0]
                print(f"  {c.percentile(cpu, 50):6.1f} / {c.percentile(cpu, 95):6.1f} | {c.percentile(wall, 50):6.1f} ({load:4.1f})"
                      f" | {count:3d} | {size:7d}  {name}, {'fragment' if fragment else 'page'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
