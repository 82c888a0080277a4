"""Forwarding: what a person's forward costs at delivery, and SRS.

    .venv/bin/python bench/forwarding.py [--messages 300] [--accounts 50]
    .venv/bin/python bench/forwarding.py --database-url postgres://postgres@127.0.0.1:5432

(a) SRS: ``srs.forward`` + ``srs.reverse`` per second (pure Python, HMAC-SHA1).

(b) Delivery through the door (``academail.delivery.route.deliver``, in this
process, one message and one durable commit at a time) of 10-50 KB messages
to --accounts accounts, alternately with nobody forwarding and with every
account forwarding (confirmed, keeping a copy) to an allowed outside domain,
so each message is also DKIM-signed and queued with an SRS sender; 4 rounds
each. Prints messages/s and CPU ms per message (medians) and the difference.

(c) The per-batch question "which recipients forward" for a circular to
10,000 accounts of which 100 forward: ms (median of 20).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

import _common as c


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300, help="messages per round")
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--circular", type=int, default=10_000)
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]: a fresh database, dropped at the end")
    args = parser.parse_args()

    c.banner("bench/forwarding.py: forwarding at delivery, SRS")
    with c.bench_home(args.database_url):
        import os

        os.environ["ACADEMAIL_FORWARD_ALLOWED_DOMAINS"] = "exemple.org"
        took = c.migrate()
        c.setup_django()
        print(f"setup    {c.db_label()}; migrate {took:.1f} s")

        from django.utils import timezone

        from academail.accounts.models import Account
        from academail.delivery import dkim
        from academail.delivery.models import OutboundMessage, QueueEntry
        from academail.delivery.route import deliver
        from academail.forwarding import srs
        from academail.forwarding.models import Forwarding
        from academail.forwarding.sending import forwards_for

        # (a)
        count, started = 20_000, time.perf_counter()
        for i in range(count):
            srs.reverse(srs.forward(f"personne{i}@exemple.org", "ac-demo.fr"))
        print(f"(a) SRS  forward+reverse: {count / (time.perf_counter() - started):,.0f} /s")

        # (b)
        dkim.generate_key("ac-demo.fr")
        addresses = c.create_accounts_checked(args.accounts)
        rng = random.Random(1)
        messages = [
            c.make_message(rng, to=[addresses[i % len(addresses)]], size=rng.randint(10_000, 50_000))
            for i in range(args.messages)
        ]
        ids = list(Account.objects.filter(address__in=addresses).values_list("pk", flat=True))

        def run_round() -> tuple[float, float]:
            wall, cpu = time.perf_counter(), time.process_time()
            for i, raw in enumerate(messages):
                deliver(raw, [addresses[i % len(addresses)]], envelope_from="direction@college-exemple.fr")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            QueueEntry.objects.all().delete()
            OutboundMessage.objects.all().delete()
            return len(messages) / wall, cpu * 1000 / len(messages)

        results: dict[str, list[tuple[float, float]]] = {"none": [], "forward": []}
        for _ in range(args.rounds):
            Forwarding.objects.all().delete()
            results["none"].append(run_round())
            Forwarding.objects.bulk_create(
                Forwarding(account_id=pk, target=f"copie{pk}@exemple.org", keep_copy=True, confirmed_at=timezone.now())
                for pk in ids
            )
            results["forward"].append(run_round())
        medians = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
                   for k, v in results.items()}
        for kind, (rate, cpu) in medians.items():
            print(f"(b) door {kind:8s} {rate:7.1f} msg/s   {cpu:6.2f} CPU ms/msg")
        slower = 100 * (medians["forward"][1] / medians["none"][1] - 1)
        print(f"(b) a forward adds {medians['forward'][1] - medians['none'][1]:.2f} CPU ms per message "
              f"({slower:+.0f} % CPU): DKIM signing, the SRS sender and the queue rows")

        # (c)
        many = c.create_accounts_bulk(args.circular, start=args.accounts + 1)
        circular_ids = list(Account.objects.filter(address__in=many).values_list("pk", flat=True))
        Forwarding.objects.bulk_create(
            Forwarding(account_id=pk, target=f"c{pk}@exemple.org", confirmed_at=timezone.now())
            for pk in circular_ids[:100]
        )
        median, low, high = c.median_ms(lambda: forwards_for(circular_ids), 20)
        print(f"(c) which of {len(circular_ids):,} recipients forward (100 do): {median:.1f} ms "
              f"(min {low:.1f}, max {high:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
