"""How soon a session hears of another session's change, side by side with
Dovecot in the same run (issue 18 §2, RFC 5465 NOTIFY and RFC 5267 CONTEXT):

- NOTIFY: a watcher sets ``NOTIFY SET (MAILBOXES Bench (MessageNew
  MessageExpunge))`` and sends nothing more; another session APPENDs to
  Bench. Printed: milliseconds from sending the APPEND to the watcher
  reading the untagged STATUS (p50, p95), and the server's CPU per change.
- CONTEXT=SEARCH (academail only: Dovecot 2.3 does not offer it): a watcher
  keeps ``UID SEARCH RETURN (UPDATE) UNSEEN`` live over the INBOX; another
  session marks one message \\Seen; printed: milliseconds to the watcher's
  REMOVEFROM. Beside it, what a client without CONTEXT pays instead: one
  ``UID SEARCH UNSEEN`` of the same mailbox, on both servers.

    .venv/bin/python bench/imap_notify.py                 # 10,000 messages, 50 changes
    .venv/bin/python bench/imap_notify.py --messages 100000 --changes 100 --no-dovecot

The machine is shared: wall times are inflated by other jobs; the CPU of
each server process (and Dovecot's children) is printed beside them, and the
load average before and after.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import _common as c
import imap_sync as imap

MESSAGE = b"From: a@b.fr\r\nSubject: notify bench\r\n\r\nHi\r\n"
APPEND = b"APPEND Bench {%d+}\r\n%s" % (len(MESSAGE), MESSAGE)


def wait_for(client: imap.Client, marker: bytes) -> bytes:
    """The next line from the server containing ``marker``, unasked."""
    while True:
        line = client._until(b"\r\n")
        if marker in line:
            return line


def pair(port: int, user: str, *, select: bool) -> tuple[imap.Client, imap.Client]:
    """A watcher and an actor, two sessions of ``user``."""
    clients = imap.Client(port), imap.Client(port)
    for client in clients:
        client.cmd(f'LOGIN {user} "{imap.PASSWORD}"')
        if select:
            client.cmd("SELECT INBOX")
    return clients


def notify_loop(port: int, user: str, changes: int, cpu: Callable[[], float]) -> dict[str, float]:
    watcher, actor = pair(port, user, select=False)
    try:
        actor.cmd("CREATE Bench")
    except RuntimeError:
        pass  # kept from an earlier run
    watcher.cmd("NOTIFY SET (MAILBOXES Bench (MessageNew MessageExpunge))")
    delays: list[float] = []
    started_cpu = cpu()
    for _ in range(changes):
        started = time.perf_counter()
        actor.cmd(APPEND)
        wait_for(watcher, b"STATUS")
        delays.append(time.perf_counter() - started)
    watcher.close()
    actor.close()
    return figures("APPEND -> STATUS", delays, cpu() - started_cpu)


def figures(what: str, delays: list[float], cpu_spent: float) -> dict[str, float]:
    return {
        f"{what} p50 (ms)": 1000 * c.percentile(delays, 50),
        f"{what} p95 (ms)": 1000 * c.percentile(delays, 95),
        "server CPU per change (ms)": 1000 * cpu_spent / len(delays),
    }


def research(port: int, user: str, runs: int) -> dict[str, float]:
    client = imap.Client(port)
    client.cmd(f'LOGIN {user} "{imap.PASSWORD}"')
    client.cmd("SELECT INBOX")
    took = sorted(client.cmd("UID SEARCH UNSEEN")[1] for _ in range(runs))
    client.close()
    return {"UID SEARCH UNSEEN again, p50 (ms)": 1000 * took[len(took) // 2]}


def context_loop(port: int, user: str, changes: int, cpu: Callable[[], float]) -> dict[str, float]:
    watcher, actor = pair(port, user, select=True)
    watcher.cmd("UID SEARCH RETURN (UPDATE COUNT) UNSEEN")
    delays: list[float] = []
    missed = 0
    started_cpu = cpu()
    for n in range(1, changes + 1):
        started = time.perf_counter()
        actor.cmd(f"STORE {n} +FLAGS.SILENT (\\Seen)")
        # The update comes with the next response at the latest.
        missed += b"REMOVEFROM" not in watcher.cmd("NOOP")[0]
        delays.append(time.perf_counter() - started)
    spent = cpu() - started_cpu
    if missed:
        print(f"!!       {missed} of {changes} changes without REMOVEFROM")
    watcher.close()
    actor.close()
    return figures("STORE -> REMOVEFROM", delays, spent)


def run(args: argparse.Namespace, home: Path, dove_root: Path | None) -> int:
    filled = imap.setup_and_fill(home, args.messages, dove_root)
    ports = {name: c.free_port() for name in ("imaps", "imap", "smtp", "sub", "subs")}
    print(f"load     {open('/proc/loadavg').read().strip()}")
    with imap.academail_server(ports) as process:
        cpu = lambda: c.process_cpu_seconds(process.pid)  # noqa: E731
        notify_loop(ports["imaps"], filled.user, 2, cpu)  # warm-up: the one Argon2 check
        ours = notify_loop(ports["imaps"], filled.user, args.changes, cpu)
        ours_context = context_loop(ports["imaps"], filled.user, args.changes, cpu)
        ours_search = research(ports["imaps"], filled.user, 5)
    theirs = theirs_search = None
    if dove_root is not None:
        dove_port = c.free_port()
        config = imap.dovecot_config(dove_root, dove_port, filled.user, filled.cert, filled.key)
        with imap.dovecot_server(config, dove_port) as master:
            cpu = lambda: c.tree_cpu_seconds(master)  # noqa: E731
            theirs = notify_loop(dove_port, filled.user, args.changes, cpu)
            theirs_search = research(dove_port, filled.user, 5)
    print(f"load     {open('/proc/loadavg').read().strip()}")
    imap.table(f"NOTIFY: {args.changes} APPENDs by one session, STATUS read by another", ours, theirs)
    imap.table(
        f"CONTEXT=SEARCH over {args.messages} messages: {args.changes} STOREs, REMOVEFROM read by another session"
        " (Dovecot: no CONTEXT=SEARCH)", ours_context, None,
    )
    imap.table(f"what a client without CONTEXT pays instead, {args.messages} messages", ours_search, theirs_search)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--dovecot", action=argparse.BooleanOptionalAction, default=os.path.exists(imap.DOVECOT))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    c.banner(f"bench/imap_notify.py: NOTIFY and CONTEXT=SEARCH, {args.messages} messages")
    return imap.with_homes(args, run)


if __name__ == "__main__":
    raise SystemExit(main())
