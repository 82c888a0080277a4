"""IMAP SEARCH string keys (RFC 3501 §6.4.4: substrings), side by side with
Dovecot on the same INBOX: address, subject, body and whole-message searches,
with a string the full-text index can narrow ("conseil de") and strings it
cannot ("onseil", inside a word; "eu", shorter than any term it looks up),
which fall back to a scan of the mailbox's folded text.

    .venv/bin/python bench/imap_search.py                     # 100,000 messages: ~15 min of filling on 2 cores
    .venv/bin/python bench/imap_search.py --messages 10000 --no-dovecot

The INBOX and Dovecot's Maildir are filled as bench/imap_sync.py does (the
messages of bench/store.py); both servers are asked the same commands by the
same raw TLS client, after a warm-up, and the number of hits is printed beside
each time so that a difference in semantics shows.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import _common as c
import imap_sync as sync

QUERIES = (
    ('UID SEARCH FROM "ernar"', b"UID SEARCH FROM ernar"),
    ('UID SEARCH TO "@"', b'UID SEARCH TO "@"'),
    ('UID SEARCH SUBJECT "réunion"', b"UID SEARCH CHARSET UTF-8 SUBJECT {8+}\r\nr\xc3\xa9union"),
    ('UID SEARCH BODY "conseil de"', b'UID SEARCH BODY "conseil de"'),
    ('UID SEARCH BODY "onseil" (no index term)', b"UID SEARCH BODY onseil"),
    ('UID SEARCH BODY "eu" (scan)', b"UID SEARCH BODY eu"),
    ('UID SEARCH TEXT "conseil"', b"UID SEARCH TEXT conseil"),
    ('UID SEARCH HEADER Message-ID "@"', b'UID SEARCH HEADER Message-ID "@"'),
    ('UID SEARCH HEADER X-Absent ""', b'UID SEARCH HEADER X-Absent ""'),
)


def measure(
    name: str, port: int, user: str, password: str, expected: int, runs: int,
    queries: tuple[tuple[str, bytes] | tuple[str, bytes, Callable[[sync.Client], object]], ...] = QUERIES, server: Callable[[], list[int]] = list,
) -> dict[str, float]:
    """Each query's median time, the median CPU time the server spent on it
    (every thread of the processes ``server()`` names and of their children:
    on a shared machine the wall clock is mostly the wait for a core) and the
    count of numbers in its answer (``* SEARCH``, ``* SORT`` or ``* THREAD``:
    bench/imap_sort.py uses it too). A query given as (label, command,
    before) has ``before(client)`` run ahead of each of its runs, neither
    timed nor counted (bench/imap_sort.py: a message appended and expunged,
    so that no answer kept from the run before can serve)."""
    client = sync.Client(port)
    client.cmd(f'LOGIN "{user}" "{password}"')
    response, first_select = client.cmd("SELECT INBOX")
    exists = int(re.search(rb"\* (\d+) EXISTS", response).group(1))  # type: ignore[union-attr]
    print(f"{name:9} first SELECT {first_select:.1f} s, {exists} messages", flush=True)
    # Dovecot's first SELECT of a big Maildir once showed half of it (its sync
    # went on in the background): wait until the whole INBOX is seen.
    deadline = time.monotonic() + 300
    while exists < expected and time.monotonic() < deadline:
        time.sleep(2)
        response, _ = client.cmd("SELECT INBOX")
        exists = int(re.search(rb"\* (\d+) EXISTS", response).group(1))  # type: ignore[union-attr]
    print(f"{name:9} SELECT sees {exists} messages", flush=True)
    figures: dict[str, float] = {"messages seen by SELECT": exists}
    print(f"{name:9} load average {_load()}", flush=True)
    for label, command, *setup in queries:
        times = []
        cpu = []
        hits = 0
        for _ in range(runs + 1):
            for prepare in setup:
                prepare(client)
            pids = server()
            before = c.tree_run_ns(pids)
            response, took = client.cmd(command)
            cpu.append((c.tree_run_ns(pids) - before) / 1e6)
            times.append(took)
            line = next(ln for ln in response.split(b"\r\n") if re.match(rb"\* (SEARCH|SORT|THREAD)\b", ln))
            hits = len(re.findall(rb"\d+", line))
        figures[f"{label} (ms)"] = statistics.median(times[1:]) * 1000
        figures[f"{label} server CPU (ms)"] = statistics.median(cpu[1:])
        figures[f"{label} hits"] = hits
        # The warm-up run, apart: for THREAD the first of the process (academail
        # keeps nothing yet: bench/imap_sort.py "first THREAD").
        figures[f"{label} first run server CPU (ms)"] = cpu[0]
        if line.startswith(b"* THREAD"):
            # Threads at the top level: a difference in threading shows here.
            figures[f"{label} threads"] = _top_level(line)
        print(f"{name:9} {label}: {figures[f'{label} (ms)']:.0f} ms wall, "
              f"{figures[f'{label} server CPU (ms)']:.0f} ms server CPU, {hits} hits "
              f"(warm-up run: {times[0] * 1000:.0f} ms wall, {cpu[0]:.0f} ms server CPU)", flush=True)
    print(f"{name:9} load average {_load()}", flush=True)
    client.cmd("LOGOUT")
    client.close()
    return figures


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" (1, 5, 15 min; {os.cpu_count()} CPU)"


def _academail_pids(process: subprocess.Popen[bytes]) -> Callable[[], list[int]]:
    """The server process and, on PostgreSQL, the backends serving its
    database (they run its queries: their CPU is the server's too)."""
    def pids() -> list[int]:
        return [process.pid, *c.pg_backend_cpu()]
    return pids


def _top_level(line: bytes) -> int:
    depth = count = 0
    for byte in line:
        if byte == ord("("):
            count += depth == 0
            depth += 1
        elif byte == ord(")"):
            depth -= 1
    return count


def main(
    queries: tuple[tuple[str, bytes] | tuple[str, bytes, Callable[[sync.Client], object]], ...] = QUERIES, what: str = "SEARCH string keys",
    doc: str | None = __doc__,
    script: str = "imap_search.py", dovecot_note: str = " (no FTS plugin: it scans, as RFC 3501 substrings need)",
    threaded: bool = False,
) -> int:
    """Fill, then ask both servers ``queries`` (bench/imap_sort.py calls it with its own)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per query after a warm-up (median)")
    parser.add_argument("--dovecot", action=argparse.BooleanOptionalAction, default=os.path.exists(sync.DOVECOT))
    parser.add_argument("--keep", action="store_true", help="keep the filled homes (printed) for --reuse")
    parser.add_argument("--reuse", metavar="HOME[,DOVECOT_ROOT]", help="the homes an earlier --keep run printed: no fill")
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]: PostgreSQL instead of SQLite "
                        "(with --reuse: the database the --keep run printed)")
    args = parser.parse_args()
    c.banner(f"bench/{script}: {what} over {args.messages} messages")

    def run(args: argparse.Namespace, home: Path, dove_root: Path | None) -> int:
        filled = sync.setup_and_fill(home, args.messages, dove_root, threaded=threaded)
        ports = {name: c.free_port() for name in ("imaps", "imap", "smtp", "sub", "subs")}
        with sync.academail_server(ports) as process:
            ours = measure("academail", ports["imaps"], filled.user, filled.secret, args.messages, args.runs, queries,
                           _academail_pids(process))
        theirs: dict[str, float] | None = None
        if dove_root is not None:
            port = c.free_port()
            config = sync.dovecot_config(dove_root, port, filled.user, filled.cert, filled.key)
            version = subprocess.run([sync.DOVECOT, "--version"], capture_output=True, text=True).stdout.strip()
            print(f"dovecot  {version} on 127.0.0.1:{port}{dovecot_note}")
            with sync.dovecot_server(config, port) as master:
                theirs = measure("Dovecot", port, filled.user, sync.PASSWORD, args.messages, args.runs, queries,
                                 lambda: [master])
        sync.table(f"{what} over {args.messages} messages (median of {args.runs} after a warm-up)", ours, theirs)
        return 0

    return sync.with_homes(args, run)


if __name__ == "__main__":
    sys.exit(main())
