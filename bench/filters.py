"""Filters (Sieve): what a 50-rule script per person costs at delivery, and
"Appliquer aux messages existants" over a 100,000-message INBOX.

    .venv/bin/python bench/filters.py [--messages 1000] [--inbox 100000]
    .venv/bin/python bench/filters.py --database-url postgres://postgres@127.0.0.1:5432

(a) Delivery through the door (``academail.delivery.route.deliver``, in this
process, one message and one durable commit at a time: the filters' share is
the largest it can be, no SMTP or group commit to hide it) of 10-100 KB
messages to 50 accounts, alternately without filters and with a 50-rule script
per account written by the filter page's own code (``rules.to_sieve``: sender,
recipient, subject and body conditions, folders, "marquer comme lu"), 6 rounds
each; prints messages/s and CPU ms per message (medians) and the slowdowns.
Goal (issue 7): < 20 %. On a loaded machine the wall clock is noise; the CPU
time of this process (where the door runs) is the steadier figure.

(b) The job over INBOXes of --inbox ~2 KB messages (filled with
``prepare_content`` + ``do_store`` like bench/store.py; two accounts share the
contents): the same 50 rules, about 20 % of the messages matching one
(moved, some marked read), run by ``jobs.runner.run_pending`` as the worker
does; once with header rules only, once with 3 body rules added (each message
the rules do not catch then has its text read). Prints seconds and messages/s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import time
from datetime import UTC, datetime

import _common as c

import store as store_bench

# 3 of the 15 subject templates of _common: about 20 % of the messages.
MATCHING = [("Exercice incendie", "Sécurité", False), ("Inscriptions au brevet", "Examens/Brevet", True),
            ("Voyage en Espagne", "Voyages", False)]


def rules(*, body_rules: int = 3) -> list[object]:
    """50 rules as a person writes them on the filter page; only MATCHING match
    the bench's messages."""
    from academail.filters.rules import Condition, Rule

    out: list[Rule] = []
    for i in range(47 - body_rules):
        kind = i % 4
        if kind == 0:
            conditions = (Condition("from", f"secretariat{i}@lycee-{i}.fr"),)
        elif kind == 1:
            conditions = (Condition("subject", f"projet {i} zzq"), Condition("subject", f"dossier {i} zzq"))
        elif kind == 2:
            conditions = (Condition("to", f"liste-{i}@ac-demo.fr"),)
        else:
            conditions = (Condition("from", f"Famille{i} Inconnue"),)
        out.append(Rule(conditions, False, f"Classement/Dossier {i}", i % 5 == 0, "", True, True))
    for words, folder, read in MATCHING:
        out.append(Rule((Condition("subject", words),), False, folder, read, "", True, True))
    for i in range(body_rules):
        out.append(Rule((Condition("body", f"ornithorynque{i}"),), False, f"Rares/{i}", False, "", True, True))
    return out


def save_scripts(account_ids: list[int], *, body_rules: int = 3) -> int:
    from academail.filters.rules import Settings
    from academail.filters.services import check_and_save_settings

    chosen = tuple(rules(body_rules=body_rules))
    for account_id in account_ids:
        check_and_save_settings(account_id, Settings(chosen))
    return len(chosen)


def set_active(account_ids: list[int], active: bool) -> None:
    from academail.filters.models import SieveScript

    SieveScript.objects.filter(account_id__in=account_ids).update(active=active)


# --- (a) delivery ----------------------------------------------------------------------


def delivery_round(addresses: list[str], count: int, seed: int) -> tuple[float, float]:
    """(messages/s, CPU ms per message of this process: the door runs here, so
    CPU time shows the filters' cost even when other jobs load the machine)."""
    from academail.delivery.route import deliver

    rng = random.Random(seed)
    items = []
    for _ in range(count):
        size = rng.randint(10 * 1024, 100 * 1024)
        attachment = int(size * rng.uniform(0.4, 0.8)) * 3 // 4 if rng.random() < 0.3 else 0
        to = rng.choice(addresses)
        items.append((c.make_message(rng, to=[to], size=size, attachment=attachment), to))
    started, cpu = time.perf_counter(), time.process_time()
    for raw, to in items:
        (outcome,) = deliver(raw, [to], envelope_from="expediteur@exemple-ecole.fr")
        assert outcome.delivered, outcome  # type: ignore[union-attr]
    return count / (time.perf_counter() - started), (time.process_time() - cpu) * 1000 / count


def bench_delivery(args: argparse.Namespace) -> None:
    from academail.accounts.models import Account
    from academail.store.models import Mailbox, Message

    addresses = c.create_accounts_checked(50, start=1000)
    ids = list(Account.objects.filter(address__in=addresses).values_list("pk", flat=True))
    rule_count = save_scripts(ids)
    delivery_round(addresses, 50, seed=99)  # warm-up: caches, compiled scripts, connections
    plain: list[tuple[float, float]] = []
    filtered: list[tuple[float, float]] = []
    for round_ in range(args.rounds):
        set_active(ids, False)
        plain.append(delivery_round(addresses, args.messages, seed=2 * round_))
        set_active(ids, True)
        filtered.append(delivery_round(addresses, args.messages, seed=2 * round_ + 1))
        print(f"(a)      round {round_ + 1}: without filters {plain[-1][0]:.0f} msg/s, {plain[-1][1]:.1f} ms CPU/msg; "
              f"with {filtered[-1][0]:.0f} msg/s, {filtered[-1][1]:.1f} ms CPU/msg", flush=True)
    a, b = statistics.median(r[0] for r in plain), statistics.median(r[0] for r in filtered)
    ca, cb = statistics.median(r[1] for r in plain), statistics.median(r[1] for r in filtered)
    filed = Message.objects.filter(mailbox__account_id__in=ids).exclude(mailbox__special_use="inbox").count()
    folders = Mailbox.objects.filter(account_id__in=ids, special_use__isnull=True).count()
    print(f"(a)      delivery through the door, {args.messages} messages of 10-100 KB per round, 50 accounts, "
          f"{rule_count}-rule script each")
    print(f"(a)      wall clock (median of {args.rounds}): without filters {a:.0f} msg/s; with {b:.0f} msg/s; "
          f"slowdown {(a - b) / a * 100:.1f} % (goal < 20 %)")
    print(f"(a)      CPU of the delivering process (median): without {ca:.1f} ms/msg ({1000 / ca:.0f} msg/s of CPU), "
          f"with {cb:.1f} ms/msg ({1000 / cb:.0f} msg/s); slowdown {(cb - ca) / cb * 100:.1f} %; "
          f"{filed} messages filed into {folders} folders by the rules")


# --- (b) apply to existing --------------------------------------------------------------


def _prepare(job: tuple[int, int, str]) -> list[object]:
    from academail.store.messages import prepare_content

    first, last, owner = job
    rng = random.Random(first)
    start = datetime(2020, 9, 1, 8, tzinfo=UTC)
    return [prepare_content(store_bench.small_message(rng, i, owner, start)) for i in range(first, last)]


def fill(boxes: list[tuple[int, int]], owner: str, count: int, distinct: int) -> float:
    """``count`` messages in each box: ``distinct`` contents prepared (blob
    fsynced, parsed) by two worker processes, each stored count/distinct times
    with ``do_store`` (as a circular is: one content, many messages); one
    transaction per 500. The job reads rows, so repeated contents cost it the
    same as distinct ones, and filling stays minutes, not 100,000 fsyncs."""
    from django.db import connections, transaction

    from academail.store.messages import Placement, do_store

    placements = [Placement(account_id, box_id) for account_id, box_id in boxes]
    distinct = min(distinct, count)
    jobs = [(first, min(distinct, first + 500), owner) for first in range(0, distinct, 500)]
    connections.close_all()
    began = last = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        contents = [item for batch in pool.imap(_prepare, jobs) for item in batch]
    print(f"fill     {len(contents)} distinct contents prepared in {time.perf_counter() - began:.0f} s", flush=True)
    done = 0
    while done < count:
        with transaction.atomic():
            chunk = [contents[(done + i) % distinct] for i in range(min(500, count - done))]
            for item in chunk:
                do_store(item, placements, internaldate=item.parsed.date)  # type: ignore[attr-defined]
        done += len(chunk)
        now = time.perf_counter()
        if now - last > 30 or done == count:
            last = now
            print(f"fill     {done}/{count} in {now - began:.0f} s", flush=True)
    return time.perf_counter() - began


def apply_once(account_id: int, label: str, profile: str | None) -> None:
    from academail.filters.apply import check_and_queue
    from academail.jobs.models import Job
    from academail.jobs.runner import run_pending
    from academail.store.models import Mailbox

    job = check_and_queue(account_id)
    started = time.perf_counter()
    if profile:
        import cProfile

        cProfile.runctx("run_pending()", globals(), {"run_pending": run_pending}, profile)
    else:
        run_pending()
    took = time.perf_counter() - started
    job = Job.objects.get(pk=job.pk)
    left = Mailbox.objects.get(account_id=account_id, special_use="inbox").messages
    print(f"(b)      {label}: {job.done} messages in {took:.1f} s ({job.done / took:.0f} msg/s): "
          f"{job.result}; {left} left in the INBOX ({(job.done - left) / max(job.done, 1) * 100:.0f} % moved)",
          flush=True)


def bench_apply(args: argparse.Namespace) -> None:
    from academail.accounts.models import Account
    from academail.store.models import Mailbox

    addresses = c.create_accounts_checked(2, start=5000)
    accounts = list(Account.objects.filter(address__in=addresses).order_by("pk"))
    boxes = [(a.pk, Mailbox.objects.get(account=a, special_use="inbox").pk) for a in accounts]
    took = fill(boxes, accounts[0].address, args.inbox, args.distinct)
    print(f"setup    {args.inbox} messages in each of 2 INBOXes in {took:.0f} s")
    save_scripts([accounts[0].pk], body_rules=0)
    save_scripts([accounts[1].pk], body_rules=3)
    apply_once(accounts[0].pk, "50 header rules", args.profile)
    apply_once(accounts[1].pk, "47 header rules + 3 body rules", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200, help="(a) messages per round")
    parser.add_argument("--rounds", type=int, default=6, help="(a) rounds of each kind, alternating")
    parser.add_argument("--inbox", type=int, default=100_000, help="(b) messages in the INBOX")
    parser.add_argument("--distinct", type=int, default=5000, help="(b) distinct contents among them")
    parser.add_argument("--only", choices=["delivery", "apply"], help="run one part")
    parser.add_argument("--profile", metavar="FILE", help="(b) cProfile the header-rule job into FILE")
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]: a fresh database, dropped at the end")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    c.banner("bench/filters.py: Sieve at delivery, and applied to existing mail")
    with c.django_home(args.database_url, keep=args.keep) as (home, took):
        print(f"setup    home {home}; {c.db_label()}; migrate {took:.1f} s")
        if args.only != "apply":
            bench_delivery(args)
        if args.only != "delivery":
            bench_apply(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
