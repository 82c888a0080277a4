"""Import of one mbox file: build an mbox of messages of about 25 KB (the
issue's target: 100,000 messages at >= 500 msg/s; the default here is sized
for a shared 2-core machine), queue the import into a new folder, run it in
a separate ``academail jobs run`` process as the worker does, and print
messages/s and that process's peak memory (ru_maxrss).

    .venv/bin/python bench/import_mbox.py                    # 2,000 messages
    .venv/bin/python bench/import_mbox.py --messages 100000  # the issue's size
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _common as c

SIZE = 25_000


def build_mbox(path: Path, owner: str, count: int) -> int:
    rng = random.Random(15)
    start = datetime(2018, 9, 1, 8, tzinfo=UTC)
    total = 0
    with path.open("wb") as handle:
        for i in range(count):
            when = start + timedelta(minutes=30 * i)
            raw = c.make_message(rng, to=[owner], size=SIZE, subject_text=f"{c.subject(rng)} (n° {i})", when=when)
            handle.write(f"From bench@example.org {time.asctime(when.timetuple())}\n".encode())
            handle.write(re.sub(rb"^(>*From )", rb">\1", raw, flags=re.MULTILINE) + (b"" if raw.endswith(b"\n") else b"\n") + b"\n")
            total += len(raw)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]")
    parser.add_argument("--profile", metavar="FILE", help="run the job under cProfile, stats written to FILE")
    args = parser.parse_args()
    c.banner(f"bench/import_mbox.py: one mbox of {args.messages} messages of ~{SIZE // 1000} KB")
    with c.django_home(args.database_url) as (home, _took):
        from academail.archive.importing import check_and_queue_import, report_of
        from academail.jobs.models import Job

        account = c.bench_account(unlimited=True)
        source = home / "bench.mbox"
        size = build_mbox(source, account.address, args.messages)
        print(f"mbox     {args.messages} messages, {c.human_bytes(size)}")
        with source.open("rb") as handle:
            job = check_and_queue_import(account.pk, handle, "bench.mbox", mailbox_id=None, new_folder="Import")
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_before = usage.ru_utime + usage.ru_stime
        t0 = time.perf_counter()
        command = [c.ACADEMAIL, "jobs", "run"]
        if args.profile:
            command = [sys.executable, "-m", "cProfile", "-o", args.profile, *command]
        subprocess.run(command, check=True, capture_output=True)
        seconds = time.perf_counter() - t0
        peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime - cpu_before
        job = Job.objects.get(pk=job.pk)
        report = report_of(job)
        assert report.imported == args.messages, job.result
        assert job.started_at and job.finished_at
        work = (job.finished_at - job.started_at).total_seconds()
        print(f"import   {report.imported} messages, job {work:.1f} s = {report.imported / work:.0f} msg/s "
              f"(process with start-up {seconds:.1f} s = {report.imported / seconds:.0f} msg/s) "
              f"(target >= 500), worker process peak RSS {peak / 1024:.0f} MiB (includes Python + Django start-up); "
              f"{c.db_label()}")
        print(f"cpu      job process {cpu:.1f} s with start-up = {cpu * 1000 / report.imported:.2f} ms/msg "
              f"(its delivery worker processes included, when it has some); load average {os.getloadavg()[0]:.1f}")
        print(f"machine  {c.machine_label()}; home {home}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
