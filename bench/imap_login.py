"""IMAP logins per second, side by side with Dovecot in the same run (issue
18 §4): N clients each loop connect over TLS, LOGIN with the account password,
LOGOUT; prints logins/s and the LOGIN reply time (p50, p95) of both servers.
Then issue 18's login-heavy mix: each session LOGIN, SELECT, APPEND, FETCH,
STORE, EXPUNGE, LOGOUT; prints commands/s of both (goal: at least half of
Dovecot's commands/s).

Then the server time of a LOGIN with a cached credential (issue 18: < 5 ms):
one client, sequentially, opens a TLS connection (not timed), sends LOGIN
(timed), LOGOUT; for each LOGIN the CPU the server's processes spent
(``/proc/<pid>/task/*/schedstat`` of the server's process tree, read before
and after the command) and, for academail, the server's own time of the
command (``academail_imap_command_seconds`` from its ``/metrics``).

Then 1,000 TLS sessions opened with LOGIN (issue 18: <= 2x Dovecot's time):
asyncio, 50 in flight, every session held open until all 1,000 are in; the
wall time, the server's CPU, the peak RSS of the server's processes (sampled
sum; Dovecot forks an imap process per session) and their PSS with all open.
Two rounds on a freshly started server: "cold" (academail's credential cache
empty, as after a restart: the first LOGINs verify Argon2id) and "warm".

    .venv/bin/python bench/imap_login.py                   # 10 clients, 20 s each server, then the two above
    .venv/bin/python bench/imap_login.py --clients 20 --seconds 30 --no-dovecot
    .venv/bin/python bench/imap_login.py --modes sessions --sessions 1000 --in-flight 50 --rounds 3

academail checks the account password with Argon2id once per process and
password, then remembers the success (``accounts.authcache``, like Dovecot's
``auth_cache``); Dovecot is started as bench/imap_sync.py starts it (a
passwd-file with a {PLAIN} password, so its figure has no hash at all: the
cheapest Dovecot can be).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.request import urlopen

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


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def status_kb(pids: list[int], field: str) -> int:
    """Sum of ``field`` (VmRSS, VmHWM) over ``pids`` (``/proc/<pid>/status``)."""
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(field + ":"):
                total += int(line.split()[1])
    return total


class PeakRss(threading.Thread):
    """Samples the summed RSS of a server's process tree every ``interval``
    seconds (walking /proc costs this process's CPU, not the server's)."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root, self.interval, self.peak = root, interval, 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.peak = max(self.peak, status_kb(imap.descendants(self.root), "VmRSS"))
            self.stopping.wait(self.interval)

    def stop(self) -> int:
        self.stopping.set()
        self.join()
        self.peak = max(self.peak, status_kb(imap.descendants(self.root), "VmRSS"))
        return self.peak


def login_histogram(metrics_port: int | None) -> dict[str, float]:
    """academail's own LOGIN timing from its /metrics: count, sum (s) and the
    cumulative bucket counts (``le`` in seconds)."""
    if metrics_port is None:
        return {}
    text = urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("academail_imap_command_seconds") or 'command="LOGIN"' not in line:
            continue
        name, value = line.rsplit(" ", 1)
        if name.startswith("academail_imap_command_seconds_bucket"):
            out["le " + name.split('le="')[1].split('"')[0]] = float(value)
        elif name.startswith("academail_imap_command_seconds_count"):
            out["count"] = float(value)
        elif name.startswith("academail_imap_command_seconds_sum"):
            out["sum"] = float(value)
    return out


def cached_logins(port: int, user: str, password: str, count: int, root: int,
                  metrics_port: int | None = None) -> dict[str, float]:
    """One client, ``count`` times: a TLS connection (not timed), LOGIN timed
    on the client and in CPU of the server's process tree, LOGOUT, and the
    server's closing awaited (so an ending process never falls out of the
    next reading)."""
    walls: list[float] = []
    cpus: list[float] = []
    before = login_histogram(metrics_port)
    for _ in range(count):
        client = imap.Client(port)
        try:
            ran = c.tree_run_ns([root])
            _, took = client.cmd(f'LOGIN {user} "{password}"')
            cpus.append((c.tree_run_ns([root]) - ran) / 1e6)
            walls.append(took * 1000)
            client.cmd("LOGOUT")
            with contextlib.suppress(OSError):
                while client.sock.recv(4096):
                    pass
        finally:
            client.close()
        time.sleep(0.01)
    figures = {
        "LOGIN wall p50 (ms, client)": c.percentile(walls, 50),
        "LOGIN wall p95 (ms, client)": c.percentile(walls, 95),
        "LOGIN server CPU p50 (ms, process tree)": c.percentile(cpus, 50),
        "LOGIN server CPU p95 (ms, process tree)": c.percentile(cpus, 95),
    }
    after = login_histogram(metrics_port)
    if after:
        n = after["count"] - before.get("count", 0)
        figures["LOGIN server time mean (ms, own metric)"] = (after["sum"] - before.get("sum", 0)) / n * 1000
        for le in ("0.0025", "0.005", "0.01"):
            share = (after[f"le {le}"] - before.get(f"le {le}", 0)) / n
            figures[f"LOGIN server time <= {float(le) * 1000:g} ms (share)"] = share
    return figures


async def _open_sessions(
    port: int, user: str, password: str, count: int, in_flight: int
) -> tuple[list[asyncio.StreamWriter], list[str]]:
    gate = asyncio.Semaphore(in_flight)
    context = imap.client_context()

    async def one() -> asyncio.StreamWriter:
        async with gate:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
            try:
                await reader.readline()
                writer.write(f'a LOGIN {user} "{password}"\r\n'.encode())
                while True:
                    line = await reader.readline()
                    if not line:
                        raise ConnectionError("closed")
                    if line.startswith(b"a "):
                        if not line.startswith(b"a OK"):
                            raise RuntimeError(line[:200].decode(errors="replace"))
                        return writer
            except BaseException:
                writer.close()
                raise

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    writers = [r for r in results if isinstance(r, asyncio.StreamWriter)]
    errors = [repr(r)[:200] for r in results if not isinstance(r, asyncio.StreamWriter)]
    return writers, errors


async def _close_all(writers: list[asyncio.StreamWriter]) -> None:
    for writer in writers:
        writer.write(b"z LOGOUT\r\n")
        writer.close()
    await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)


def open_sessions(port: int, user: str, password: str, count: int, in_flight: int, root: int) -> dict[str, float]:
    """``count`` TLS sessions opened with LOGIN, ``in_flight`` at a time, all
    held open at the end: wall, server CPU (process tree), peak RSS (sampled
    sum over the tree), PSS with all open, client CPU, load average."""

    async def body() -> dict[str, float]:
        sampler = PeakRss(root)
        cpu = c.tree_cpu_seconds(root)
        mine = time.process_time()
        load_before = os.getloadavg()[0]
        sampler.start()
        started = time.perf_counter()
        writers, errors = await _open_sessions(port, user, password, count, in_flight)
        elapsed = time.perf_counter() - started
        server_cpu = c.tree_cpu_seconds(root) - cpu
        client_cpu = time.process_time() - mine
        peak = sampler.stop()
        pids = imap.descendants(root)
        pss = imap.pss_kb(pids)
        if errors:
            print(f"  {len(errors)} sessions failed, first: {errors[0]}")
        if writers:
            tls = writers[0].get_extra_info("ssl_object")
            print(f"  (port {port}: {tls.version()}, {tls.cipher()[0]}, server certificate"
                  f" {len(tls.getpeercert(binary_form=True))} bytes)")
        await _close_all(writers)
        await asyncio.sleep(1)  # Dovecot's imap processes end
        return {
            "sessions open": float(len(writers)), "wall (s)": elapsed,
            "server CPU (s)": server_cpu, "client CPU (s, this bench)": client_cpu,
            "peak RSS, server processes summed (MiB)": peak / 1024,
            "PSS with all open (MiB)": pss / 1024, "server processes with all open": float(len(pids)),
            "load average before (1 min)": load_before, "load average after (1 min)": os.getloadavg()[0],
        }

    return asyncio.run(body())


def run(args: argparse.Namespace, home: Path, dove_root: Path | None) -> int:
    filled = imap.setup_and_fill(home, 0, dove_root)
    modes = set(args.modes.split(","))
    user, password = filled.user, imap.PASSWORD
    print(f"load     {load_average()} (1, 5, 15 min; {os.cpu_count()} CPU)")
    config: Path | None = None
    dove_port = 0
    if dove_root is not None:
        dove_port = c.free_port()
        config = imap.dovecot_config(dove_root, dove_port, user, filled.cert, filled.key)

    def academail() -> tuple[dict[str, int], contextlib.AbstractContextManager[Any]]:
        ports = {name: c.free_port() for name in ("imaps", "imap", "smtp", "sub", "subs", "metrics")}
        server = imap.academail_server(ports, {
            "ACADEMAIL_METRICS_PORT": str(ports["metrics"]), "ACADEMAIL_METRICS_ALLOW": "127.0.0.1",
        })
        return ports, server

    if modes & {"loop", "mixed", "cached"}:
        ours: dict[str, dict[str, float]] = {}
        theirs: dict[str, dict[str, float]] = {}
        ports, server = academail()
        with server as process:
            # The first LOGIN is the one Argon2 check; the loops measure the rest.
            login_loop(ports["imaps"], user, password, 1, 0.1)
            cpu = c.tree_cpu_seconds(process.pid)
            if "loop" in modes:
                ours["loop"] = login_loop(ports["imaps"], user, password, args.clients, args.seconds)
            if "mixed" in modes:
                ours["mixed"] = mixed_loop(ports["imaps"], user, password, args.clients, args.seconds)
            loops_cpu = c.tree_cpu_seconds(process.pid) - cpu
            if "cached" in modes:
                ours["cached"] = cached_logins(ports["imaps"], user, password, args.cached_logins, process.pid,
                                               ports["metrics"])
        their_loops_cpu = float("nan")
        if config is not None:
            with imap.dovecot_server(config, dove_port) as master:
                login_loop(dove_port, user, password, 1, 0.1)
                cpu = c.tree_cpu_seconds(master)
                if "loop" in modes:
                    theirs["loop"] = login_loop(dove_port, user, password, args.clients, args.seconds)
                if "mixed" in modes:
                    theirs["mixed"] = mixed_loop(dove_port, user, password, args.clients, args.seconds)
                their_loops_cpu = c.tree_cpu_seconds(master) - cpu
                if "cached" in modes:
                    theirs["cached"] = cached_logins(dove_port, user, password, args.cached_logins, master)
        if "loop" in modes:
            imap.table(f"{args.clients} clients, LOGIN/LOGOUT over TLS for {args.seconds:g} s",
                       ours["loop"], theirs.get("loop"))
        if "mixed" in modes:
            imap.table(
                f"{args.clients} clients, login-heavy sessions (LOGIN SELECT APPEND FETCH STORE EXPUNGE LOGOUT)"
                f" for {args.seconds:g} s (goal: >= 50 % of Dovecot's commands/s)",
                ours["mixed"], theirs.get("mixed"),
            )
        if modes & {"loop", "mixed"}:
            # Dovecot's: its long-lived processes only (the per-session imap processes have ended).
            print(f"  server CPU over the loops: academail {loops_cpu:.1f} s, Dovecot {their_loops_cpu:.1f} s"
                  " (long-lived processes only)")
        if "cached" in modes:
            imap.table(f"LOGIN with a cached credential, one client, {args.cached_logins} sessions"
                       " (goal: < 5 ms of server time)", ours["cached"], theirs.get("cached"))
        print(f"load     {load_average()}")

    if "sessions" in modes:
        for round_ in range(args.rounds):
            ours_rounds: list[dict[str, float]] = []
            theirs_rounds: list[dict[str, float] | None] = [None, None]
            ports, server = academail()
            with server as process:
                for _ in ("cold", "warm"):
                    ours_rounds.append(open_sessions(ports["imaps"], user, password, args.sessions,
                                                     args.in_flight, process.pid))
                hwm = status_kb([process.pid], "VmHWM")
            if config is not None:
                with imap.dovecot_server(config, dove_port) as master:
                    theirs_rounds = [
                        open_sessions(dove_port, user, password, args.sessions, args.in_flight, master)
                        for _ in ("cold", "warm")
                    ]
            for name, ours_one, theirs_one in zip(
                ("cold (academail's credential cache empty: a fresh server)", "warm (same server, again)"),
                ours_rounds, theirs_rounds, strict=True,
            ):
                imap.table(f"round {round_ + 1}: {args.sessions} TLS sessions opened with LOGIN, {args.in_flight}"
                           f" in flight, all held open, {name} (goal: wall <= 2x Dovecot's)", ours_one, theirs_one)
            print(f"  academail serve process peak RSS over both (VmHWM): {hwm / 1024:.1f} MiB")
            print(f"load     {load_average()}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--modes", default="loop,mixed,cached,sessions",
                        help="which parts: loop (LOGIN/LOGOUT), mixed (login-heavy), cached (LOGIN server time),"
                             " sessions (1,000 TLS sessions)")
    parser.add_argument("--cached-logins", type=int, default=200, help="sequential LOGINs for the server-time figure")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=50, help="sessions being opened at once")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the sessions mode (cold + warm each)")
    parser.add_argument("--dovecot", action=argparse.BooleanOptionalAction, default=os.path.exists(imap.DOVECOT))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    c.banner(f"bench/imap_login.py: {args.clients} clients logging in and out")
    return imap.with_homes(args, run)


if __name__ == "__main__":
    raise SystemExit(main())
