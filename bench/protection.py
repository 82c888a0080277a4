"""Spam protection costs, filter off vs on in the same run.

    .venv/bin/python bench/protection.py [--runs 200] [--messages 200] [--pairs 6]

1. Per message: ``protection.spam.screen`` (rules, tokens, the académie's
   and the recipient's classifier counts, the phishing warnings) plus
   ``verdicts`` for one recipient who trained their own classifier, on
   ``--runs`` distinct 50 KB French messages (half plain text, half HTML
   newsletters with 80 links), after training on 400 messages. Goal: < 5 ms
   per 50 KB message. Then the whole in-process delivery of those messages
   with the filter off and on (CPU median of each). Then the serving
   process's share of a delivery when a delivery worker made the analysis,
   filter off, on with the classifier judged in the worker, and on with it
   judged in the serving process (as before issue 13's move): the share
   that bounds the MX's rate on 2 cores.
   With ``--rspamd``: the same screening through a real rspamd beside the
   built-in engine (wall time, our CPU, rspamd's CPU per message).
2. The display-name check ("Julie Martin" <outside address>) against
   ``--accounts`` staff names: one query on the (last_name, first_name) index.
3. Inbound throughput of the real MX (``bench/deliver.py --filter-ab``):
   two servers, ACADEMAIL_SPAM_FILTER=0 and =1, on copies of one home whose
   classifiers learned ``--train`` messages first (600: the académie's and
   each recipient's own; 0 leaves them untrained, which skips the token
   counts and understates the filter), then ``--pairs`` (6) pairs of
   ``--messages`` (200) message bursts, one to each server in turn. The
   figure is the median of the pairs' on/off ratios. Goal: at most 10 %
   lower with the filter on.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c


def newsletter(rng: random.Random, *, to: str, size: int, links: int = 80) -> bytes:
    """An outside newsletter of about ``size`` bytes: text and HTML
    alternatives, ``links`` links to a handful of hosts (a ministry site, a
    town hall, a shortener, the sender's own)."""
    from email.message import EmailMessage
    from email.policy import SMTP

    name, _ = c.person(rng)
    lines = c.french_lines(rng, size // 2)
    every = max(1, len(lines) // links)
    hosts = ["www.education.gouv.fr", "eduscol.education.fr", "mairie-exemple.fr", "bit.ly", "lettre-info.example.org"]
    paragraphs = []
    for index, line in enumerate(lines):
        if index % every == 0:
            host = rng.choice(hosts)
            paragraphs.append(f'<p>{line} <a href="https://{host}/article/{index}?utm_source=lettre">'
                              f"Lire la suite sur {host}</a></p>")
        else:
            paragraphs.append(f"<p>{line}</p>")
    message = EmailMessage(policy=SMTP)
    message["From"] = f"{name} <lettre@lettre-info.example.org>"
    message["To"] = to
    message["Subject"] = c.subject(rng)
    message.set_content("\n".join(lines))
    message.add_alternative("<html><body>" + "\n".join(paragraphs) + "</body></html>", subtype="html")
    return message.as_bytes()


PREFIX = (b"Received: from mta.exemple-ecole.fr (mta.exemple-ecole.fr [192.0.2.25])\r\n\tby mx.ac-demo.fr\r\n"
          b"Authentication-Results: localhost;\r\n\tspf=pass smtp.mailfrom=a@exemple-ecole.fr;\r\n"
          b"\tdkim=none;\r\n\tdmarc=none header.from=exemple-ecole.fr\r\n")


def distinct_messages(rng: random.Random, address: str, count: int) -> list[bytes]:
    """Distinct 50 KB messages (each screened once, as at the MX): half plain
    text, half HTML newsletters with 80 links."""
    return [
        newsletter(rng, to=address, size=50_000) if index % 2 else c.make_message(rng, to=[address], size=50_000)
        for index in range(count)
    ]


def per_message(runs: int) -> None:
    """Needs the bench home with Django set up (``main``)."""
    from django.db import transaction

    from academail.delivery.route import deliver
    from academail.mime.parse import parse_message
    from academail.protection import classifier
    from academail.protection.spam import message_tokens, screen, verdicts

    (address,) = c.create_accounts_checked(1)
    from academail.accounts.models import Account

    account_id = Account.objects.get(address=address).pk
    rng = random.Random(7)
    started = time.perf_counter()
    with transaction.atomic():
        for index in range(400):
            raw = c.make_message(rng, to=[address], size=rng.randint(2_000, 20_000))
            tokens = message_tokens(parse_message(raw))
            spam = index % 2 == 0
            classifier.do_count([0, account_id], tokens, spam=int(spam), ham=int(not spam))
    print(f"setup    trained on 400 messages (académie and the recipient's own) in "
          f"{time.perf_counter() - started:.1f} s")
    samples = distinct_messages(rng, address, runs)
    parsed = [parse_message(raw) for raw in samples]
    cpu: dict[str, list[float]] = {"text": [], "html": []}
    for index, (raw, message) in enumerate(zip(samples, parsed, strict=True)):
        c0 = time.thread_time()
        # Rules, the académie's and the recipient's classifier (one query), phishing warnings.
        verdicts(screen(message, PREFIX, raw=raw, recipients=[(address, account_id)]), [account_id])
        cpu["html" if index % 2 else "text"].append((time.thread_time() - c0) * 1000)
    every = sorted(cpu["text"] + cpu["html"])
    # CPU time of this thread (SQLite runs in it) says what the work costs
    # when other jobs share the 2 cores.
    print(f"result   screen + verdict, 50 KB messages, {runs} distinct: CPU median {c.percentile(every, 50):.2f} ms, "
          f"p95 {c.percentile(every, 95):.2f} ms (plain text {c.percentile(sorted(cpu['text']), 50):.2f} ms, "
          f"HTML with 80 links {c.percentile(sorted(cpu['html']), 50):.2f} ms; goal < 5 ms); "
          f"load {os.getloadavg()[0]:.1f}; {c.db_label()}")
    # The whole delivery of the same messages (blob, parse, store, index)
    # with the filter off and on, alternated, each message delivered once.
    whole: dict[bool, list[float]] = {False: [], True: []}
    for index, raw in enumerate(samples):
        on = index % 2 == (index // 2) % 2  # text and HTML messages both ways
        c0 = time.thread_time()
        deliver(raw.replace(b"Subject: ", b"Subject: (%d) " % index, 1), [address], prefix=PREFIX, screen=on)
        whole[on].append((time.thread_time() - c0) * 1000)
    off_ms, on_ms = c.percentile(sorted(whole[False]), 50), c.percentile(sorted(whole[True]), 50)
    print(f"result   whole delivery of a 50 KB message (one recipient): CPU median filter off {off_ms:.2f} ms, "
          f"filter on {on_ms:.2f} ms ({on_ms - off_ms:+.2f} ms)")
    serving_share(rng, address, account_id, runs)


def serving_share(rng: random.Random, address: str, account_id: int, runs: int) -> None:
    """The MX serving process's CPU per delivery when a delivery worker
    process made the analysis (as ``serve`` on 2 cores does): filter off;
    filter on with the classifier judged in the worker (``accounts`` given);
    filter on with the serving process reading the counts itself (as before
    issue 13's move). Each message delivered once, the three ways taking
    turns; the worker's own CPU is not counted (it runs on the other core)."""
    import asyncio

    from django.db import transaction

    from academail.delivery.door import Recipient
    from academail.delivery.route import do_route, prepare_route
    from academail.delivery.workers import Workers
    from academail.protection.gathered import Gathered, gathering
    from academail.protection.spam import do_write_gathered

    ways = ("off", "on, judged in the worker", "on, judged here")
    samples = distinct_messages(rng, address, runs * len(ways))
    local = [Recipient(address, account_id)]
    cpu: dict[str, list[float]] = {way: [] for way in ways}
    pool = Workers(1)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(pool.start())
        for index, raw in enumerate(samples):
            way = ways[index % len(ways)]
            raw = raw.replace(b"Subject: ", b"Subject: (s%d) " % index, 1)
            screen = way != "off"
            accounts = [account_id] if way == ways[1] else None
            analysis = loop.run_until_complete(pool.analyse(raw, PREFIX, screen=screen, accounts=accounts))
            c0 = time.thread_time()
            route = prepare_route(raw, local, [], mail_from="x@exemple-ecole.fr", trace=PREFIX, sign=False,
                                  screen=screen, analysis=analysis)
            notes = Gathered()
            with transaction.atomic():
                with gathering(notes):
                    do_route(route, savepoint=False)
                if notes:
                    do_write_gathered(notes)
            cpu[way].append((time.thread_time() - c0) * 1000)
    finally:
        pool.close()
        loop.close()
    medians = {way: c.percentile(sorted(cpu[way]), 50) for way in ways}
    print(f"result   serving process's CPU per delivery with a worker's analysis, {runs} messages each way, median: "
          + ", ".join(f"{way} {ms:.2f} ms" for way, ms in medians.items())
          + f" (on minus off: {medians[ways[1]] - medians[ways[0]]:+.2f} ms in the worker, "
          f"{medians[ways[2]] - medians[ways[0]]:+.2f} ms here); load {os.getloadavg()[0]:.1f}")


def staff_lookup(accounts: int, runs: int = 500) -> None:
    """The display-name check against ``accounts`` staff names (Account
    rows only, with the bench's few first and last names: many homonyms,
    the worst case for the lookup)."""
    from django.contrib.auth.hashers import make_password

    from academail.accounts.models import Account
    from academail.accounts.naming import name_key
    from academail.accounts.services import staff_named
    from academail.protection.phishing import name_splits

    rng = random.Random(11)
    unusable = make_password(None)
    rows = [
        Account(identifier=f"p{i}", address=f"p{i}@{c.DOMAIN}", first_name=rng.choice(c.FIRST_NAMES),
                last_name=f"{rng.choice(c.LAST_NAMES)}{'' if i % 4 else i}", status="active", quota_bytes=1,
                password=unusable)
        for i in range(accounts)
    ]
    for row in rows:  # bulk_create skips save(), which keeps the key
        row.name_key = name_key(row.first_name, row.last_name)
    Account.objects.bulk_create(rows, batch_size=2000)
    names = [f"{rng.choice(c.FIRST_NAMES)} {rng.choice(c.LAST_NAMES)}" if i % 2 else f"Inconnu Personne{i}"
             for i in range(runs)]
    cpu: list[float] = []
    hits = 0
    for name in names:
        c0 = time.thread_time()
        hits += staff_named(name_splits(name)) is not None
        cpu.append((time.thread_time() - c0) * 1000)
    cpu.sort()
    print(f"result   staff-name lookup among {accounts:,} accounts ({hits} of {runs} names found): "
          f"CPU median {c.percentile(cpu, 50):.2f} ms, p95 {c.percentile(cpu, 95):.2f} ms; {c.db_label()}")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (rspamd's workers)."""
    total = c.process_cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid:
            total += c.process_cpu_seconds(int(stat.parent.name))
    return total


def rspamd_cost(runs: int) -> None:
    """The same screening through a real rspamd (Debian's, started here with
    tests/rspamd_server.py) beside the built-in engine, on the same
    messages: wall time per message, our CPU, and rspamd's CPU."""
    sys.path.insert(0, str(c.REPO))
    from django.conf import settings
    from tests.rspamd_server import running_rspamd

    from academail.accounts.models import Account
    from academail.mime.parse import parse_message
    from academail.protection.spam import screen

    account = Account.objects.order_by("pk").first()
    assert account is not None
    rng = random.Random(13)
    samples = [(raw, parse_message(raw)) for raw in distinct_messages(rng, account.address, runs + 5)]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="academail-rspamd-") as home, running_rspamd(Path(home)) as server:
        print(f"setup    rspamd listening after {time.perf_counter() - started:.0f} s")
        figures: dict[str, tuple[list[float], list[float]]] = {"built-in": ([], []), "rspamd": ([], [])}
        rspamd_cpu = 0.0
        for engine in ("built-in", "rspamd"):
            settings.RSPAMD_URL = server.url if engine == "rspamd" else ""
            for raw, message in samples[:5]:  # warm-up (rspamd's first scans load its maps)
                screen(message, PREFIX, raw=raw, recipients=[(account.address, account.pk)])
            before = tree_cpu(server.pid)
            wall, cpu = figures[engine]
            for raw, message in samples[5:]:
                t0, c0 = time.perf_counter(), time.thread_time()
                screening = screen(message, PREFIX, raw=raw, recipients=[(account.address, account.pk)])
                wall.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.thread_time() - c0) * 1000)
                assert (screening.outside is not None) == (engine == "rspamd"), "rspamd did not answer"
            if engine == "rspamd":
                rspamd_cpu = (tree_cpu(server.pid) - before) * 1000 / runs
        settings.RSPAMD_URL = ""
    for engine, (wall, cpu) in figures.items():
        wall.sort()
        cpu.sort()
        extra = f", rspamd's own CPU {rspamd_cpu:.1f} ms" if engine == "rspamd" else ""
        print(f"result   screening through {engine:8}, 50 KB messages, {runs} distinct: wall median "
              f"{c.percentile(wall, 50):.1f} ms, p95 {c.percentile(wall, 95):.1f} ms; our CPU median "
              f"{c.percentile(cpu, 50):.2f} ms{extra}; load {os.getloadavg()[0]:.1f}")


def throughput(messages: int, workers: str = "", train: int = 0, pairs: int = 6) -> None:
    """MX inbound, filter off vs on: ``bench/deliver.py --filter-ab``, two
    servers on copies of one trained home, ``pairs`` pairs of bursts of
    ``messages`` sent to each in turn, so the machine's minute-to-minute
    drift (10-20 % of the rate here) cancels within a pair; the figure is
    the median of the pairs' on/off ratios, with each side's CPU per
    message (serving process, workers). ``workers``:
    ACADEMAIL_DELIVERY_WORKERS of the servers (default: their own);
    ``train``: messages the classifiers learn first, so the filter reads
    token counts as in an académie in use."""
    env = dict(os.environ, **({"ACADEMAIL_DELIVERY_WORKERS": workers} if workers else {}))
    out = subprocess.run(
        [sys.executable, str(c.BENCH_DIR / "deliver.py"), "--filter-ab", str(pairs), "--messages", str(messages),
         "--min-kb", "10", "--max-kb", "60", *(["--train", str(train)] if train else [])],
        env=env, capture_output=True, text=True, check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith(("pair", "result", "verify"))]
    print("\n".join(lines))
    if out.returncode or not any(line.startswith("result") for line in lines):
        print(out.stdout[-2000:], out.stderr[-2000:])
        raise SystemExit("deliver.py --filter-ab failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--messages", type=int, default=200, help="messages per MX burst (each pair: one burst each way)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--throughput-only", action="store_true", help="only the MX inbound runs")
    parser.add_argument("--workers", default="", help="ACADEMAIL_DELIVERY_WORKERS for the MX runs (default: its own)")
    parser.add_argument("--pairs", type=int, default=6, help="pairs of MX bursts, filter off and on (default 6)")
    parser.add_argument("--train", type=int, default=600,
                        help="messages the classifiers learn before each MX run (0: untrained, as before)")
    parser.add_argument("--accounts", type=int, default=60_000, help="staff names for the display-name lookup")
    parser.add_argument("--rspamd", action="store_true", help="also screen through a real rspamd (starts it: 1-2 min)")
    args = parser.parse_args()
    print(f"machine  {c.machine_label()}")
    if args.throughput_only:
        throughput(args.messages, args.workers, args.train, args.pairs)
        return
    with c.django_home():
        per_message(args.runs)
        if args.rspamd:
            rspamd_cost(min(args.runs, 100))
        staff_lookup(args.accounts)
    if not args.skip_throughput:
        throughput(args.messages, args.workers, args.train, args.pairs)


if __name__ == "__main__":
    main()
