"""Per-person \\Seen (issue 19): what it costs a member of a functional
mailbox whose INBOX holds N messages (default 10,000), five members having
each read a different half, beside the same reads with the team's shared
\\Seen (the default), in the same run:

- ``FETCH 1:* (FLAGS)``: ``store.imap.fetch_rows`` for every UID (the raw
  query the IMAP FETCH runs, each row's \\Seen from the member's own rows);
- ``SEARCH UNSEEN``: ``store.imap.search_uids``;
- ``STATUS (UNSEEN)``: ``store.imap.mailbox_info`` (messages minus the
  member's rows, one grouped count);
- the webmail's folder page data (``store.webmail.folder_page``, 50 rows).

Store calls in one process, CPU time (``time.process_time``) as the median
of ``--runs``: the machine is shared, so wall clock is printed beside it
only for reference, with the load average. No peer figure: BENCHMARKS.md
has none for Dovecot's private indexes (INDEXPVT), so the peer column says so.

    .venv/bin/python bench/personal_seen.py                 # 10,000 messages (~1 min)
    .venv/bin/python bench/personal_seen.py --messages 50000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import _common as c


def setup(messages: int) -> tuple[int, int, list[int]]:
    """(functional INBOX id, reading member id, member ids)."""
    from django.db import transaction

    from academail.accounts.services import check_create_account, check_create_functional_account
    from academail.store import acl
    from academail.store.mailboxes import special_mailbox
    from academail.store.messages import Placement, do_store, prepare_content
    from academail.store.models import PersonalSeen

    box = check_create_functional_account(name="Collège Jean Moulin", address=f"ce.0341234x@{c.DOMAIN}")
    members = []
    for n in range(5):
        person = check_create_account(first_name="Membre", last_name=f"N{n}", numen=c.numen(910000 + n), status="active")
        acl.do_grant(box.pk, person.pk, acl.preset_rights(["read", "mark", "file"]))
        members.append(person.pk)
    inbox = special_mailbox(box.pk, "inbox").pk
    prepared = prepare_content(b"From: parent@example.org\r\nSubject: Absence\r\n\r\nBonjour.\r\n")
    with transaction.atomic():
        for start in range(0, messages, 1000):
            do_store(prepared, [Placement(box.pk, inbox)] * min(1000, messages - start))
    # Each member read a different half (odd or even UIDs, shifted).
    rows = [
        PersonalSeen(mailbox_id=inbox, account_id=member, uid=uid)
        for n, member in enumerate(members) for uid in range(1 + n % 2, messages + 1, 2)
    ]
    PersonalSeen.objects.bulk_create(rows, batch_size=5000)
    return inbox, members[0], members


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def measure(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median CPU ms, median wall ms) after one warm-up call."""
    fn()
    cpu, wall = [], []
    for _ in range(runs):
        started_cpu, started = time.process_time(), time.perf_counter()
        fn()
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return statistics.median(cpu), statistics.median(wall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    c.banner(f"bench/personal_seen.py: a functional INBOX of {args.messages} messages, 5 members")
    with c.django_home(args.database_url) as (home, _took):
        from academail.store import imap as store
        from academail.store import seen
        from academail.store.models import Flag, Mailbox
        from academail.store.webmail import folder_page

        inbox, member, _members = setup(args.messages)
        owner = Mailbox.objects.get(pk=inbox).account_id
        name = f"Partagés/ce.0341234x@{c.DOMAIN}/INBOX"
        uids = list(range(1, args.messages + 1))
        print(f"database: {c.db_label()}; machine: {c.machine_label()}; load average {_load()}", flush=True)
        results: dict[str, dict[str, tuple[float, float]]] = {}
        for mode, per_person in (("team \\Seen", False), ("per-person \\Seen", True)):
            seen.do_set_mode(owner, per_person)
            seen_for = member if per_person else None
            results[mode] = {
                "FETCH 1:* (FLAGS)": measure(lambda s=seen_for: store.fetch_rows(inbox, uids, seen_for=s), args.runs),
                "SEARCH UNSEEN": measure(
                    lambda s=seen_for: store.search_uids(inbox, store.HasFlag(Flag.SEEN, "", False), seen_for=s), args.runs),
                "STATUS (UNSEEN)": measure(lambda: store.mailbox_info(member, name), args.runs),
                "folder page (50 rows)": measure(lambda: folder_page(member, inbox), args.runs),
            }
        print()
        print(f"{'measure':28} {'team: CPU / wall':>22} {'per person: CPU / wall':>26} {'peer':>28}")
        for label in results["team \\Seen"]:
            team, person = results["team \\Seen"][label], results["per-person \\Seen"][label]
            print(f"{label:28} {team[0]:8.1f} / {team[1]:7.1f} ms {person[0]:10.1f} / {person[1]:7.1f} ms "
                  f"{'no INDEXPVT figure':>28}")
        print(f"load average after: {_load()}")
        del home
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
