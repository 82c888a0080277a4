"""IMAP logins per second, side by side with Dovecot in the same run (issue
18 §4): N clients each loop connect over TLS, LOGIN with the account password,
LOGOUT; prints logins/s and the LOGIN reply time (p50, p95) of both servers.
Then issue 18's login-heavy mix: each session LOGIN, SELECT, APPEND, FETCH,
STORE, EXPUNGE, LOGOUT; prints commands/s of both (goal: at least half of
Dovecot's).

    .venv/bin/python bench/imap_login.py                   # 10 clients, 20 s each server
    .venv/bin/python bench/imap_login.py --clients 20 --seconds 30 --no-dovecot

academail checks the account password with Argon2id once per process and
password, then remembers the success (``accounts.authcache``, like Dovecot's
``auth_cache``); Dovecot is started as bench/imap_sync.py starts it (a
passwd-file with a {PLAIN} password, so its figure has no hash at all: the
cheapest Dovecot can be).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import threading
import time
from collections.abc import Callable
from pathlib import Path

import _common as c
import imap_sync as imap


def sessions(port: int, clients: int, seconds: float,
             session: Callable[[imap.Client], float]) -> tuple[list[float], float]:
    """``clients`` threads each opening a TLS connection and running
    ``session`` on it, again and again for ``seconds``: what each session
    returned, and the elapsed time. Failed sessions are counted apart and
    the first one printed."""
    results: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < deadline:
            try:
                client = imap.Client(port)
                try:
                    result = session(client)
                finally:
                    client.close()
            except (OSError, RuntimeError) as exc:
                with lock:
                    errors.append(str(exc)[:200])
                continue
            with lock:
                results.append(result)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    if errors:
        print(f"  {len(errors)} failed sessions, first: {errors[0]}")
    return results, elapsed


def login_loop(port: int, user: str, password: str, clients: int, seconds: float) -> dict[str, float]:
    """``clients`` threads logging in and out for ``seconds``: logins/s and LOGIN times."""

    def session(client: imap.Client) -> float:
        _, took = client.cmd(f'LOGIN {user} "{password}"')
        client.cmd("LOGOUT")
        return took

    times, elapsed = sessions(port, clients, seconds, session)
    return {
        "logins": float(len(times)),
        "logins/s": len(times) / elapsed,
        "LOGIN p50 ms": c.percentile(times, 50) * 1000 if times else float("nan"),
        "LOGIN p95 ms": c.percentile(times, 95) * 1000 if times else float("nan"),
    }


MESSAGE = (
    b"From: Direction <direction@college-exemple.fr>\r\nTo: helene.chatelain@ac-demo.fr\r\n"
    b"Subject: Conseil de classe\r\nDate: Mon, 7 Dec 2026 10:00:00 +0100\r\n"
    b"Message-ID: <banc-mixte@college-exemple.fr>\r\n\r\nLe conseil de classe aura lieu jeudi.\r\n"
)
APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")
COMMANDS_PER_SESSION = 7


def mixed_loop(port: int, user: str, password: str, clients: int, seconds: float) -> dict[str, float]:
    """Issue 18's login-heavy load: ``clients`` threads each loop connect over
    TLS, LOGIN, SELECT INBOX, APPEND a message, FETCH its flags and header,
    UID STORE +FLAGS (\\Deleted), UID EXPUNGE it (RFC 4315), LOGOUT; the
    figure is IMAP commands answered per second (seven per session)."""

    def session(client: imap.Client) -> float:
        client.cmd(f'LOGIN {user} "{password}"')
        client.cmd("SELECT INBOX")
        appended, _ = client.cmd(b"APPEND INBOX (\\Seen) {%d+}\r\n%s" % (len(MESSAGE), MESSAGE))
        found = APPENDUID.search(appended)
        if found is None:
            raise RuntimeError(f"no APPENDUID: {appended[-120:]!r}")
        uid = found.group(1).decode()
        client.cmd(f"UID FETCH {uid} (FLAGS BODY.PEEK[HEADER])")
        client.cmd(f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)")
        client.cmd(f"UID EXPUNGE {uid}")
        client.cmd("LOGOUT")
        return COMMANDS_PER_SESSION

    done, elapsed = sessions(port, clients, seconds, session)
    return {"sessions": float(len(done)), "commands/s": sum(done) / elapsed}


def run(args: argparse.Namespace, home: Path, dove_root: Path | None) -> int:
    filled = imap.setup_and_fill(home, 0, dove_root)
    ports = {name: c.free_port() for name in ("imaps", "imap", "smtp", "sub", "subs")}
    with imap.academail_server(ports):
        # The first LOGIN is the one Argon2 check; the loop measures the rest.
        login_loop(ports["imaps"], filled.user, imap.PASSWORD, 1, 0.1)
        ours = login_loop(ports["imaps"], filled.user, imap.PASSWORD, args.clients, args.seconds)
        ours_mixed = mixed_loop(ports["imaps"], filled.user, imap.PASSWORD, args.clients, args.seconds)
    theirs = theirs_mixed = None
    if dove_root is not None:
        dove_port = c.free_port()
        config = imap.dovecot_config(dove_root, dove_port, filled.user, filled.cert, filled.key)
        with imap.dovecot_server(config, dove_port):
            login_loop(dove_port, filled.user, imap.PASSWORD, 1, 0.1)
            theirs = login_loop(dove_port, filled.user, imap.PASSWORD, args.clients, args.seconds)
            theirs_mixed = mixed_loop(dove_port, filled.user, imap.PASSWORD, args.clients, args.seconds)
    imap.table(f"{args.clients} clients, LOGIN/LOGOUT over TLS for {args.seconds:g} s", ours, theirs)
    imap.table(
        f"{args.clients} clients, login-heavy sessions (LOGIN SELECT APPEND FETCH STORE EXPUNGE LOGOUT)"
        f" for {args.seconds:g} s (goal: >= 50 % of Dovecot's commands/s)",
        ours_mixed, theirs_mixed,
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--dovecot", action=argparse.BooleanOptionalAction, default=os.path.exists(imap.DOVECOT))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    c.banner(f"bench/imap_login.py: {args.clients} clients logging in and out")
    return imap.with_homes(args, run)


if __name__ == "__main__":
    raise SystemExit(main())
