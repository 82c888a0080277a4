"""The web process's CPU per webmail view under the académie load test's
requests (issue 21 §7), with two code versions side by side: the same
PostgreSQL database, accounts and inboxes, one ``serve --only web`` per
version (``--source DIR``: a checkout whose ``src/`` is put first on the
server's PYTHONPATH), and load_academie.py's web clients (sign-in through
the real form, then the inbox page in a loop over kept-alive HTTP/1.1
connections), the versions alternated round after round so that each pair
of figures shares the same minutes of a shared machine.

For each round and version it prints views/s, p50/p95/p99, the web
process's CPU per view (the figure to compare: the wall clock follows the
other jobs on the machine), PostgreSQL's and the generator's, and the load.
``--profile OUT.pstats`` runs the first version's server under
bench/_profile_threads.py (every thread, CPU time) and writes its stats.

    .venv/bin/python bench/web_views.py --source /work/wt/base --source .
    .venv/bin/python bench/web_views.py --profile /tmp/web.pstats --rounds 1
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import subprocess
import sys
from pathlib import Path

import _common as c
import load_academie as load


def fill_inboxes(people: list[tuple[str, str]], each: int) -> None:
    """``each`` messages (2-6 KB, French) in every signed-in person's INBOX,
    through the store as a delivery would put them."""
    from django.db import transaction

    from academail.accounts.models import Account
    from academail.store.messages import Placement, do_store, prepare_content
    from academail.store.models import Mailbox

    rng = random.Random(11)
    for _, address in people:
        account = Account.objects.get(address=address)
        inbox = Mailbox.objects.get(account=account, special_use="inbox")
        with transaction.atomic():
            for _ in range(each):
                prepared = prepare_content(c.make_message(rng, to=[address], size=rng.randint(2000, 6000)))
                do_store(prepared, [Placement(account.pk, inbox.pk)], internaldate=prepared.parsed.date)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", action="append", help="a checkout to serve (repeat: one web process each); "
                        "default: this one")
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--signed-in", type=int, default=50)
    parser.add_argument("--messages-each", type=int, default=10, help="messages in each signed-in INBOX")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", help="OUT.pstats: the first --source's server under bench/_profile_threads.py")
    parser.add_argument("--py-spy", help="OUT.txt: py-spy's samples (collapsed stacks) of the first --source's "
                        "server during its first round, the threads holding the GIL only")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    sources = [Path(s).resolve() for s in args.source or [str(c.REPO)]]
    c.banner(f"bench/web_views.py: {len(sources)} version(s), {args.clients} clients, {args.seconds:.0f} s a round, "
             f"{args.rounds} round(s)")
    with c.bench_home(args.database_url) as home:
        took = c.migrate()
        c.setup_django()
        c.create_accounts_bulk(args.accounts)
        people = load.set_passwords(args.signed_in)
        fill_inboxes(people, args.messages_each)
        from django.db import connections

        connections.close_all()
        print(f"setup    {c.db_label()}; {c.machine_label()}; migrate {took:.1f} s; {args.accounts:,} accounts, "
              f"{args.signed_in} signed in with {args.messages_each} messages each; load {os.getloadavg()[0]:.1f}")
        print(f"note     {load.PG_SERVER_NOTE}")
        with contextlib.ExitStack() as stack:
            servers = []
            for n, source in enumerate(sources):
                env = {"PYTHONPATH": str(source / "src")}
                prefix = ([sys.executable, str(c.BENCH_DIR / "_profile_threads.py"), args.profile]
                          if args.profile and n == 0 else [])
                process, ports = stack.enter_context(load.serve("web", n, env=env, prefix=prefix))
                c.wait_port(ports["WEB_PORT"], process, 120)  # "ready" may come before uvicorn listens
                servers.append((source, process, ports["WEB_PORT"]))
            for round_ in range(1, args.rounds + 1):
                for source, process, port in servers:
                    spy = None
                    if args.py_spy and round_ == 1 and process is servers[0][1]:
                        spy = subprocess.Popen([str(c.VENV_BIN / "py-spy"), "record", "-p", str(process.pid),  # noqa: S603
                                                "-o", args.py_spy, "-f", "raw", "-r", "200", "--gil",
                                                "-d", str(int(args.seconds + 15))], stdout=subprocess.DEVNULL)
                    before: dict[str, float] = {}
                    latencies, errors = load.web_views([port], people, args.clients, args.seconds,
                                                       signed_in=lambda b=before, p=process: b.update(
                                                           load.cpu_now([("web", p)])))
                    after = load.cpu_now([("web", process)])
                    if spy:
                        spy.wait()
                    print(f"round {round_} {source.name:>12}: {len(latencies) / args.seconds:5.1f} views/s, "
                          f"p50/p95/p99 {load.pcts(latencies)}; errors {dict(errors) or 0}", flush=True)
                    print(f"         {load.cpu_line(before, after, len(latencies), 'view', args.seconds)}", flush=True)
                    if errors:
                        print((home / f"serve-web-{servers.index((source, process, port))}.log").read_text()[-3000:])
            for source, process, _ in servers:
                print(f"process  {source.name}: {load.memory(process.pid)}")
        print(f"(home {home})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
