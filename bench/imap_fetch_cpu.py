"""The IMAP server's own cost of a FETCH, without sockets or TLS: CPU and wall
time of the store read + rendering that ``Session.do_fetch`` runs for each chunk
(``imap.commands.fetch.render_chunk``), for the initial sync of the whole INBOX and the
newest 50 headers. CPU time is the figure to read on a shared machine; the
wall time includes waiting for a core. "cold" is the first run after the
rendered-data caches were emptied (what a mailbox's first sync costs), then
the medians of the next runs (a second device, or a client syncing again).

    .venv/bin/python bench/imap_fetch_cpu.py                       # 10,000 messages (~1 min of filling)
    .venv/bin/python bench/imap_fetch_cpu.py --home /tmp/x --keep  # fill once, then reuse with --home /tmp/x
    .venv/bin/python bench/imap_fetch_cpu.py --profile /tmp/sync.prof

The INBOX is filled as bench/imap_sync.py does (same messages).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import sys
import time
from pathlib import Path

import _common as c

SYNC = "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)"
SYNC_STRUCTURE = "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)"
NEWEST_HEADERS = "UID FETCH {lo}:{hi} (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])"
NEWEST_ENVELOPES = "FETCH {lo}:{hi} (UID FLAGS ENVELOPE)"


def render(mailbox_id: int, uids: list[int], text: str) -> int:
    """What do_fetch does for ``text`` minus the socket: returns bytes rendered."""
    from academail.imap.commands import fetch as S
    from academail.imap.parsing import parse_command
    from academail.imap.parsing.fetch import FetchItem

    command = parse_command(b"t " + text.encode())
    items = list(command.items)  # type: ignore[attr-defined]
    names = {i.name for i in items}
    if command.uid and "UID" not in names:  # type: ignore[attr-defined]
        items.insert(0, FetchItem("UID"))
    total = 0
    for start in range(0, len(uids), S.FETCH_CHUNK):
        lines = S.render_chunk(mailbox_id, uids[start : start + S.FETCH_CHUNK], items, None, False, {})
        total += sum(len(body) for _, body in lines)
    return total


def clear_caches() -> None:
    """Forget the IMAP layer's rendered ENVELOPE/BODYSTRUCTURE/header caches
    (absent before they existed: the script also measures older trees)."""
    from academail.imap import render

    for name in ("ENVELOPES", "STRUCTURES", "HEADERS"):
        cache = getattr(render, name, None)
        if cache is not None:
            cache.clear()


def timed(fn: object, runs: int) -> tuple[float, float, float, float, float, float]:
    """(cold wall, cold CPU, wall p50, wall min, CPU p50, CPU min) in ms: the
    first run with empty caches, then ``runs`` more."""
    walls, cpus = [], []
    clear_caches()
    for _ in range(runs + 1):
        w, p = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        walls.append((time.perf_counter() - w) * 1000)
        cpus.append((time.process_time() - p) * 1000)
    return walls[0], cpus[0], statistics.median(walls[1:]), min(walls[1:]), statistics.median(cpus[1:]), min(cpus[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--home", help="reuse (or make and fill) this ACADEMAIL_HOME")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--database-url")
    parser.add_argument("--profile", help="write a cProfile of the sync runs to this file")
    args = parser.parse_args()
    c.banner(f"bench/imap_fetch_cpu.py: {args.messages} messages")
    if args.home:
        home = Path(args.home)
        fresh = not home.exists()
        home.mkdir(parents=True, exist_ok=True)
        os.environ["ACADEMAIL_HOME"] = str(home)
        os.environ["ACADEMAIL_DOMAINS"] = c.DOMAIN
        return run(args, fresh)
    with c.bench_home(args.database_url, keep=args.keep):
        return run(args, True)


def run(args: argparse.Namespace, fresh: bool) -> int:
    import imap_sync

    if fresh:
        c.migrate()
    c.setup_django()
    from academail.store.models import Mailbox, Message

    if fresh:

        account = c.bench_account()
        inbox = Mailbox.objects.get(account=account, special_use="inbox")
        spent = imap_sync.fill(inbox.pk, account.pk, account.address, args.messages, "")
        print(f"fill     {args.messages} messages in {spent:.0f} s")
    inbox = Mailbox.objects.filter(special_use="inbox", messages__gt=0).order_by("-messages").first()
    assert inbox is not None
    uids = list(Message.objects.filter(mailbox_id=inbox.pk).order_by("uid").values_list("uid", flat=True))
    print(f"setup    {c.db_label()}; INBOX of {len(uids)} messages")
    newest = uids[-50:]
    rows = [
        ("initial sync " + SYNC[10:], lambda: render(inbox.pk, uids, SYNC)),
        ("initial sync + BODYSTRUCTURE", lambda: render(inbox.pk, uids, SYNC_STRUCTURE)),
        ("newest 50 HEADER.FIELDS (FROM SUBJECT DATE)",
         lambda: render(inbox.pk, newest, NEWEST_HEADERS.format(lo=newest[0], hi=newest[-1]))),
        ("newest 50 (UID FLAGS ENVELOPE)",
         lambda: render(inbox.pk, newest, NEWEST_ENVELOPES.format(lo=newest[0], hi=newest[-1]))),
    ]
    profiler = cProfile.Profile() if args.profile else None
    print(f"\n  {'':50} {'cold wall':>9} {'cold CPU':>9} {'wall p50':>9} {'wall min':>9} {'CPU p50':>9} {'CPU min':>9}  (ms)")
    for label, fn in rows:
        if profiler is not None and label.startswith("initial sync "):
            profiler.enable()
        figures = timed(fn, args.runs if "sync" in label else args.runs * 10)
        if profiler is not None:
            profiler.disable()
        print(f"  {label:50} " + " ".join(f"{f:9.1f}" if f >= 10 else f"{f:9.2f}" for f in figures), flush=True)
    if profiler is not None:
        profiler.dump_stats(args.profile)
        print(f"(profile in {args.profile})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
