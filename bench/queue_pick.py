"""Outbound queue: time to pick the next due entries with 100,000 entries
waiting (most not yet due), and the throughput of a worker pass delivering to
an in-process sink transport.

    .venv/bin/python bench/queue_pick.py [--entries 100000]
    .venv/bin/python bench/queue_pick.py --database-url postgres://postgres@127.0.0.1:5432

Goal (issue 3): picking the next due entry < 5 ms with 100,000 waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta

import _common as c


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with c.django_home(args.database_url):
        from django.db import transaction
        from django.utils import timezone

        from academail.delivery.models import OutboundMessage, QueueEntry
        from academail.delivery.queue import claim_due, process_due

        c.banner(f"outbound queue, {args.entries} entries ({c.db_label()})")
        now = timezone.now()
        raw = b"From: a@ac-demo.fr\r\nSubject: file\r\n\r\n" + b"x" * 20_000 + b"\r\n"
        started = time.perf_counter()
        with transaction.atomic():
            message = OutboundMessage.objects.create(created_at=now, mail_from="a@ac-demo.fr", raw=raw, size=len(raw))
            batch = []
            for i in range(args.entries):
                due = now - timedelta(seconds=1) if i % 100 == 0 else now + timedelta(minutes=5 + i % 1000)
                batch.append(QueueEntry(message=message, recipient=f"d{i}@exemple.org", domain=f"exemple{i % 500}.org",
                                        created_at=now, next_attempt_at=due))
                if len(batch) == 5000:
                    QueueEntry.objects.bulk_create(batch)
                    batch = []
            QueueEntry.objects.bulk_create(batch)
        print(f"filled in {time.perf_counter() - started:.1f} s")

        timings = []
        for _ in range(50):
            t0 = time.perf_counter()
            claimed = claim_due(timezone.now(), limit=1)
            timings.append((time.perf_counter() - t0) * 1000)
            assert claimed
        print(f"pick next due entry (claim 1, lease it): median {c.percentile(timings, 50):.2f} ms, "
              f"p95 {c.percentile(timings, 95):.2f} ms (goal < 5 ms)")

        class Sink:
            async def send(self, mail_from, recipients, data):
                return dict.fromkeys(recipients, "250 2.0.0 OK")

        due_left = QueueEntry.objects.filter(next_attempt_at__lte=timezone.now()).count()
        t0 = time.perf_counter()
        delivered = 0
        while True:
            outcome = asyncio.run(process_due(Sink(), limit=100))
            if not outcome.delivered:
                break
            delivered += outcome.delivered
        elapsed = time.perf_counter() - t0
        print(f"worker passes to a sink: {delivered} of {due_left} due entries in {elapsed:.2f} s "
              f"= {delivered / elapsed:.0f} recipients/s")


if __name__ == "__main__":
    main()
