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
import json
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


def _worker_startup() -> float:
    """CPU of starting then stopping one delivery worker process (spawn, Django set-up)."""
    from academail.delivery.workers import Workers

    before = _children_cpu()
    workers = Workers(1)
    list(workers.map(abs, [1]))
    workers.close()
    return _children_cpu() - before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]")
    parser.add_argument("--profile", metavar="FILE", help="run the job under pyinstrument, its text report written to FILE")
    parser.add_argument("--spy", metavar="FILE", help="run the job under py-spy (CPU samples of every thread of the job "
                        "process, not its workers), collapsed stacks written to FILE")
    parser.add_argument("--workers", type=int, help="ACADEMAIL_DELIVERY_WORKERS for the job (default: one per core but one)")
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
        env = os.environ.copy()
        if args.workers is not None:
            env["ACADEMAIL_DELIVERY_WORKERS"] = str(args.workers)
        load_before = Path("/proc/loadavg").read_text().split()[:3]
        t0 = time.perf_counter()
        cpu_before = _children_cpu()
        split = home / "cpu.json"
        command = [sys.executable, str(c.BENCH_DIR / "_job_run.py"), str(split)]
        if args.profile:
            command = [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", args.profile, *command]
        elif args.spy:
            spy = str(Path(sys.executable).parent / "py-spy")
            command = [spy, "record", "-r", "250", "-f", "raw", "-o", args.spy, "--threads",
                       "--", *command]
        done = subprocess.run(command, check=True, capture_output=True, env=env)
        seconds = time.perf_counter() - t0
        cpu = _children_cpu() - cpu_before
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        # The same command with nothing queued: its start-up (Python, Django)
        # and, with delivery workers, none of theirs (they start on first use).
        idle_before = _children_cpu()
        subprocess.run([c.ACADEMAIL, "jobs", "run"], check=True, capture_output=True, env=env)
        startup = _children_cpu() - idle_before
        load_after = Path("/proc/loadavg").read_text().split()[:3]
        job = Job.objects.get(pk=job.pk)
        report = report_of(job)
        assert report.imported == args.messages, (job.result, done.stderr.decode(errors="replace")[:3000])
        assert job.started_at and job.finished_at
        work = (job.finished_at - job.started_at).total_seconds()
        n = report.imported
        print(f"import   {n} messages: job wall {work:.1f} s = {n / work:.0f} msg/s; process wall with start-up "
              f"{seconds:.1f} s = {n / seconds:.0f} msg/s (target >= 500); peak RSS {peak / 1024:.0f} MiB; {c.db_label()}")
        parts = json.loads(split.read_text()) if split.exists() else {"own": cpu, "workers": 0.0}
        spawn = _worker_startup() if parts["workers"] else 0.0
        busy = cpu - startup - spawn
        print(f"cpu      job process and its delivery workers {cpu:.1f} s = {cpu * 1000 / n:.2f} ms/msg; less the "
              f"start-ups (an idle `jobs run` {startup:.1f} s, a worker process {spawn:.1f} s): "
              f"{busy * 1000 / n:.2f} ms/msg = {n / max(busy, 1e-9):.0f} msg per CPU second")
        own, workers = parts["own"] - startup, parts["workers"] - spawn
        print(f"split    job process {own * 1000 / n:.2f} ms/msg, its delivery workers {workers * 1000 / n:.2f} "
              f"ms/msg: on 2 free cores the busier one bounds the import at {n / max(own, workers, 1e-9):.0f} msg/s "
              f"(target >= 500)")
        print(f"load     /proc/loadavg before {' '.join(load_before)}, after {' '.join(load_after)} "
              f"({os.cpu_count()} cores shared: wall figures are inflated, compare CPU)")
        print("peer     none run here: no mbox importer of Dovecot's is set up by the benches (doveadm import "
              "needs an mbox mail_location); the goal is the issue's 500 msg/s")
        print(f"machine  {c.machine_label()}; home {home}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
