"""Export and "Espace utilisé" on one big mailbox: fill an INBOX with
messages of about 25 KB (the issue's 100,000 messages ~ 2.5 GB; the default
here is sized for a shared 2-core machine), then

- time ``store.space.space_report`` (the "Espace utilisé" page's data);
- run the export job (.eml zip, then mbox) in a separate ``academail jobs
  run`` process, as the worker does, and print messages/s and that process's
  peak memory (its own ru_maxrss, from wait4).

    .venv/bin/python bench/export.py                       # 10,000 messages
    .venv/bin/python bench/export.py --messages 100000     # the issue's size (~2.5 GB of blobs)
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import _common as c

SIZE = 25_000


def _prepare_batch(job: tuple[int, int, str]) -> tuple[list[object], int]:
    from academail.store.messages import prepare_content

    first, last, owner = job
    rng = random.Random(first)
    start = datetime(2018, 9, 1, 8, tzinfo=UTC)
    raws = []
    for i in range(first, last):
        attach = rng.random() < 0.3
        raws.append(c.make_message(
            rng, to=[owner], size=SIZE if not attach else 4000, attachment=16_000 if attach else 0,
            subject_text=f"{c.subject(rng)} (n° {i})", when=start + timedelta(minutes=30 * i),
        ))
    return [prepare_content(raw) for raw in raws], sum(map(len, raws))


def fill(mailbox_id: int, account_id: int, owner: str, count: int, batch: int = 500) -> tuple[float, int]:
    from django.db import connections, transaction

    from academail.store.messages import Placement, do_store
    from academail.store.models import Message

    placement = [Placement(account_id, mailbox_id, flags=1)]
    jobs = [(first, min(count, first + batch), owner) for first in range(0, count, batch)]
    connections.close_all()
    began = time.perf_counter()
    total = 0
    with multiprocessing.get_context("fork").Pool(2) as pool:
        for prepared, size in pool.imap(_prepare_batch, jobs):
            with transaction.atomic():
                for item in prepared:
                    (stored,) = do_store(item, placement, internaldate=item.parsed.date)
                    if not isinstance(stored, Message):  # QuotaExceeded is returned, not raised
                        raise SystemExit(f"fill: message not stored: {stored!r}")
            total += size
    return time.perf_counter() - began, total


# Runs argv[2:] and writes its peak RSS in KiB to argv[1]. A child's
# ru_maxrss also counts the process it was forked from (at exec the kernel
# keeps the old memory's high-water mark), so the export must be started from
# a fresh small process, not from this bench grown by the fill's pool.
_PEAK_OF = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def _run_job(profile: str | None = None) -> tuple[float, int]:
    """``academail jobs run`` in a child process (under cProfile, stats to
    ``profile``, if given): seconds, and that process's own peak RSS in KiB
    (``_PEAK_OF``; the RUSAGE_CHILDREN read here before reported the fill's
    parsing pool, 214-268 MiB, where the export peaks near 110 MiB)."""
    t0 = time.perf_counter()
    command = [c.ACADEMAIL, "jobs", "run"]
    if profile:
        command = [sys.executable, "-m", "cProfile", "-o", profile, *command]
    with tempfile.NamedTemporaryFile("r") as peak:
        subprocess.run([sys.executable, "-c", _PEAK_OF, peak.name, *command], check=True, capture_output=True)
        return time.perf_counter() - t0, int(peak.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]")
    parser.add_argument("--profile", metavar="PREFIX", help="run each job under cProfile, stats to PREFIX-<format>")
    args = parser.parse_args()
    c.banner(f"bench/export.py: one INBOX of {args.messages} messages of ~{SIZE // 1000} KB")
    with c.django_home(args.database_url) as (home, _took):
        from academail.archive.export import ExportRequest, check_and_queue_export
        from academail.archive.models import Export
        from academail.store.models import Mailbox
        from academail.store.space import space_report

        account = c.bench_account(unlimited=True)  # 100,000 x 25 KB is over the 2 GiB default quota
        inbox = Mailbox.objects.get(account=account, special_use="inbox")
        took, size = fill(inbox.pk, account.pk, account.address, args.messages)
        print(f"fill     {args.messages} messages, {c.human_bytes(size)} in {took:.0f} s; {c.db_label()}")

        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            space_report(account.pk)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"space    'Espace utilisé' data: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms "
              f"(target < 300 ms at 100,000 messages)")

        for fmt in ("eml", "mbox"):
            check_and_queue_export(account.pk, ExportRequest(format=fmt))
            seconds, peak_kib = _run_job(f"{args.profile}-{fmt}" if args.profile else None)
            export = Export.objects.select_related("job").order_by("-pk").first()
            assert export is not None and export.job is not None, "the export was not queued"
            job = export.job
            if export.messages < args.messages:  # + the previous export's notice, hence >=
                raise SystemExit(f"export {fmt}: {export.messages} of {args.messages} messages; job {job.state}: "
                                 f"{job.result} {job.error}")
            assert job.started_at and job.finished_at
            work = (job.finished_at - job.started_at).total_seconds()
            print(f"export   {fmt:4}: {export.messages} messages, job {work:.1f} s = {export.messages / work:.0f} msg/s "
                  f"(process with start-up {seconds:.1f} s = {export.messages / seconds:.0f} msg/s) "
                  f"(target >= 2,000), file {c.human_bytes(export.size)}, worker process peak RSS "
                  f"{peak_kib / 1024:.0f} MiB (target < 150 MB; includes Python + Django start-up)")
        print(f"machine  {c.machine_label()}; home {home}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
