"""IMAP, side by side with Dovecot on the same messages: initial sync of a big
INBOX, the newest 50 headers, SUBJECT and TEXT searches, memory per idle
connection, and the delay from a delivery (over SMTP, in the server process) to
``* n EXISTS`` seen by idling clients.

    .venv/bin/python bench/imap_sync.py                      # 10,000 messages, ~4 min on 2 cores
    .venv/bin/python bench/imap_sync.py --messages 50000     # the BENCHMARKS.md size: 4-7 min of filling
    .venv/bin/python bench/imap_sync.py --no-dovecot --idle 300

The INBOX is filled as bench/store.py does (worker processes generate and run
``prepare_content``, this process stores batches); the same messages are written
into a Maildir's cur/ for Dovecot (``apt-get install dovecot-imapd``), which is
started on loopback with its own configuration under the temporary home and
indexes on the first SELECT (timed apart, then a warm-up). Both servers are
measured by the same raw TLS client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import random
import re
import resource
import shutil
import smtplib
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _common as c

import store as store_bench

PASSWORD = "Corr3ct-cheval-batterie"
DOVECOT = "/usr/sbin/dovecot"
SUBJECT_WORD = "réunion"
TEXT_WORD = "conseil"
FROM_PART = "ernar"  # inside "Bernard": a substring no word starts with (RFC 3501 §6.4.4)


# --- filling ---------------------------------------------------------------------


def _prepare_batch(job: tuple[int, int, str, str, bool]) -> tuple[list[object], int]:
    """In a worker: the batch of bench/store.py (same seeds, same messages),
    prepared for the store and, when ``maildir`` is set, written into its cur/."""
    from academail.store.messages import prepare_content

    first, last, owner, maildir, threaded = job
    rng = random.Random(first)
    start = datetime(2020, 9, 1, 8, tzinfo=UTC)
    raws = [store_bench.small_message(rng, i, owner, start, threaded=threaded) for i in range(first, last)]
    if maildir:
        for i, raw in enumerate(raws, first):
            stamp = int(start.timestamp()) + 60 * i
            path = Path(maildir) / "cur" / f"{stamp}.M{i}P1.bench,S={len(raw)}:2,"
            path.write_bytes(raw)
            os.utime(path, (stamp, stamp))
    return [prepare_content(raw) for raw in raws], sum(map(len, raws))


def fill(mailbox_id: int, account_id: int, owner: str, count: int, maildir: str, threaded: bool = False) -> float:
    from django.db import connections, transaction

    from academail.store.messages import Placement, do_store

    placement = [Placement(account_id, mailbox_id)]
    jobs = [(first, min(count, first + 500), owner, maildir, threaded) for first in range(0, count, 500)]
    connections.close_all()
    began = last = time.perf_counter()
    done = 0
    with multiprocessing.get_context("fork").Pool(2) as pool:
        for prepared, _size in pool.imap(_prepare_batch, jobs):
            with transaction.atomic():
                for item in prepared:
                    do_store(item, placement, internaldate=item.parsed.date)  # type: ignore[attr-defined]
            done += len(prepared)
            now = time.perf_counter()
            if now - last > 15 or done == count:
                last = now
                print(f"fill     {done}/{count} in {now - began:.0f} s ({done / (now - began):.0f} msg/s)", flush=True)
    return time.perf_counter() - began


# --- a raw TLS client ---------------------------------------------------------------


def client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Client:
    """Blocking, pipelining nothing: one tagged command, everything up to its
    tagged reply, read in large chunks (the reply of a big FETCH is megabytes)."""

    def __init__(self, port: int) -> None:
        self.sock = client_context().wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=600))
        self.buffer = bytearray()
        self.counter = 0
        self._until(b"\r\n")

    def _until(self, marker: bytes) -> bytes:
        while True:
            at = self.buffer.find(marker)
            if at >= 0:
                end = self.buffer.find(b"\r\n", at + len(marker) - 2 if marker.endswith(b"\r\n") else at)
                if end >= 0:
                    data = bytes(self.buffer[: end + 2])
                    del self.buffer[: end + 2]
                    return data
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk

    def cmd(self, text: str | bytes) -> tuple[bytes, float]:
        """(the whole response, seconds from sending to the tagged reply)."""
        self.counter += 1
        tag = b"b%d" % self.counter
        data = text.encode() if isinstance(text, str) else text
        started = time.perf_counter()
        self.sock.sendall(tag + b" " + data + b"\r\n")
        response = self._tagged(tag)
        took = time.perf_counter() - started
        cut = response.rfind(b"\r\n", 0, len(response) - 2)
        last = response[cut + 2 :] if cut >= 0 else response
        if not last.startswith(tag + b" OK"):
            raise RuntimeError(f"{data[:60]!r} -> {last[:200]!r}")
        return response, took

    def _tagged(self, tag: bytes) -> bytes:
        # The tagged line begins the buffer or follows a CRLF; only the bytes
        # received since the last look are searched (a big FETCH is megabytes).
        marker = b"\r\n" + tag + b" "
        searched = 0
        while True:
            if self.buffer.startswith(tag + b" "):
                return self._until(b"\r\n")
            at = self.buffer.find(marker, max(0, searched - len(marker)))
            if at >= 0:
                end = self.buffer.find(b"\r\n", at + 2)
                if end >= 0:
                    data = bytes(self.buffer[: end + 2])
                    del self.buffer[: end + 2]
                    return data
            else:
                searched = len(self.buffer)
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def measure_reads(name: str, port: int, user: str, password: str, expected: int, runs: int) -> dict[str, float]:
    client = Client(port)
    client.cmd(f'LOGIN "{user}" "{password}"')
    response, first_select = client.cmd("SELECT INBOX")
    exists = int(re.search(rb"\* (\d+) EXISTS", response).group(1))  # type: ignore[union-attr]
    uidnext = int(re.search(rb"UIDNEXT (\d+)", response).group(1))  # type: ignore[union-attr]
    assert exists == expected, (name, exists, expected)
    figures: dict[str, float] = {"first SELECT (s)": first_select}
    client.cmd("UNSELECT")
    client.cmd("SELECT INBOX")  # warm-up, then measure

    sync = []
    for _ in range(runs + 1):
        response, took = client.cmd("UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)")
        sync.append(took)
        assert response.count(b" FETCH (") == expected, (name, response.count(b" FETCH ("))
    figures["initial sync UID FETCH 1:* (s)"] = statistics.median(sync[1:])

    last = uidnext - 1
    headers = []
    for _ in range(21):
        response, took = client.cmd(
            f"UID FETCH {max(1, last - 49)}:{last} (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])"
        )
        headers.append(took)
        assert response.count(b" FETCH (") == min(50, expected)
    figures["newest 50 headers (ms)"] = statistics.median(headers[1:]) * 1000

    word = SUBJECT_WORD.encode()
    for label, command in (
        (f'UID SEARCH CHARSET UTF-8 SUBJECT "{SUBJECT_WORD}" (ms)',
         b"UID SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n" % len(word) + word),
        (f'UID SEARCH TEXT "{TEXT_WORD}" (ms)', f"UID SEARCH TEXT {TEXT_WORD}".encode()),
        (f'UID SEARCH FROM "{FROM_PART}" (ms)', f"UID SEARCH FROM {FROM_PART}".encode()),
    ):
        times = []
        hits = 0
        for _ in range(4):
            response, took = client.cmd(command)
            times.append(took)
            line = next(ln for ln in response.split(b"\r\n") if ln.startswith(b"* SEARCH"))
            hits = len(line.split()) - 2
        figures[label] = statistics.median(times[1:]) * 1000
        figures[label.replace("(ms)", "hits")] = hits
    client.cmd("LOGOUT")
    client.close()
    return figures


# --- idle connections ------------------------------------------------------------


def pss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


async def open_idle(port: int, user: str, password: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_context(), limit=1 << 20)
    await reader.readline()
    for tag, line in ((b"a", f'a LOGIN "{user}" "{password}"'.encode()), (b"s", b"s SELECT INBOX")):
        writer.write(line + b"\r\n")
        while True:
            reply = await reader.readline()
            if not reply:
                raise ConnectionError("closed")
            if reply.startswith(tag + b" "):
                if not reply.startswith(tag + b" OK"):
                    raise RuntimeError(reply.decode(errors="replace"))
                break
    writer.write(b"i IDLE\r\n")
    while not (await reader.readline()).startswith(b"+"):
        pass
    return reader, writer


async def idle_phase(
    port: int, user: str, password: str, count: int, pids: object, smtp_port: int | None, address: str, rounds: int, watchers: int
) -> dict[str, float]:
    get_pids = pids if callable(pids) else (lambda: pids)
    before = pss_kb(get_pids())
    gate = asyncio.Semaphore(16)

    async def one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with gate:
            return await open_idle(port, user, password)

    started = time.perf_counter()
    clients = await asyncio.gather(*(one() for _ in range(count)))
    opened = time.perf_counter() - started
    await asyncio.sleep(2)
    after = pss_kb(get_pids())
    figures = {
        "connections": count, "open+LOGIN+SELECT+IDLE (s)": opened,
        "PSS before (MiB)": before / 1024, "PSS after (MiB)": after / 1024,
        "PSS per idle connection (KiB)": (after - before) / count,
    }
    if smtp_port is not None:
        delays: list[float] = []
        loop = asyncio.get_running_loop()
        for n in range(rounds):
            async def watch(reader: asyncio.StreamReader) -> float:
                while True:
                    line = await reader.readline()
                    if not line:
                        raise ConnectionError("closed")
                    if line.endswith(b" EXISTS\r\n"):
                        return time.perf_counter()

            tasks = [asyncio.ensure_future(watch(r)) for r, _ in clients[:watchers]]
            await asyncio.sleep(0.2)
            t0 = await loop.run_in_executor(None, send_one, smtp_port, address, n)
            seen = await asyncio.wait_for(asyncio.gather(*tasks), 30)
            delays += [(t - t0) * 1000 for t in seen]
            await asyncio.sleep(0.3)
        figures["delivery -> EXISTS p50 (ms)"] = c.percentile(delays, 50)
        figures["delivery -> EXISTS p99 (ms)"] = c.percentile(delays, 99)
        figures["delivery samples"] = len(delays)
    for _, writer in clients:
        writer.close()
    await asyncio.gather(*(w.wait_closed() for _, w in clients), return_exceptions=True)
    return figures


def send_one(port: int, address: str, n: int) -> float:
    """One message over SMTP to the MX; returns the time the DATA began (the
    envelope is already accepted, so the delay measured is storing + announcing)."""
    raw = c.make_message(random.Random(n), to=[address], size=2000)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("bench.example")
        smtp.mail("direction@exemple-ecole.fr")
        smtp.rcpt(address)
        started = time.perf_counter()
        code, reply = smtp.data(raw)
        assert code == 250, reply
    return started


# --- the two servers ---------------------------------------------------------------


@contextlib.contextmanager
def academail_server(ports: dict[str, int], extra_env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    env = os.environ.copy()
    env.update({
        "ACADEMAIL_BIND": "127.0.0.1", "ACADEMAIL_IMAPS_PORT": str(ports["imaps"]),
        "ACADEMAIL_IMAP_PORT": str(ports["imap"]), "ACADEMAIL_SMTP_PORT": str(ports["smtp"]),
        "ACADEMAIL_SUBMISSION_PORT": str(ports["sub"]), "ACADEMAIL_SUBMISSIONS_PORT": str(ports["subs"]),
        # One address and one account hold every bench connection.
        "ACADEMAIL_IMAP_MAX_CONNECTIONS_PER_ACCOUNT": "0", "ACADEMAIL_IMAP_MAX_CONNECTIONS_PER_IP": "0",
    })
    env.update(extra_env or {})
    log = open(Path(env["ACADEMAIL_HOME"]) / "serve.log", "wb")
    process = subprocess.Popen([c.ACADEMAIL, "serve", "--only", "imap,smtp"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        c.wait_port(ports["imaps"], process, timeout=60)
        c.wait_port(ports["smtp"], process, timeout=60)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def dovecot_config(root: Path, port: int, user: str, cert: str, key: str) -> Path:
    (root / "run").mkdir(exist_ok=True)  # exists in a --reuse'd root
    (root / "passwd").write_text(f"{user}:{{PLAIN}}{PASSWORD}\n")
    config = root / "dovecot.conf"
    config.write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain
default_process_limit = 3000
default_client_limit = 6000
first_valid_uid = 1
mail_location = maildir:{root}/home/%u/Maildir
mail_uid = nobody
mail_gid = nogroup
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = static
  args = home={root}/home/%u
}}
protocol imap {{
  mail_max_userip_connections = 5000
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
  service_count = 0
  process_min_avail = 2
}}
service anvil {{
  client_limit = 7000
}}
""")
    return config


@contextlib.contextmanager
def dovecot_server(config: Path, port: int) -> Iterator[int]:
    """Dovecot started with our configuration (it forks); yields the master's pid."""
    subprocess.run([DOVECOT, "-c", str(config)], check=True)
    pidfile = config.parent / "run" / "master.pid"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if pidfile.exists():
                    break
            time.sleep(0.1)
        yield int(pidfile.read_text())
    finally:
        subprocess.run([DOVECOT, "-c", str(config), "stop"], check=False)
        time.sleep(1)


def table(title: str, ours: dict[str, float], theirs: dict[str, float] | None) -> None:
    print(f"\n{title}")
    print(f"  {'':52} {'academail':>12} {'Dovecot':>12} {'ratio':>7}")
    for key, value in ours.items():
        other = theirs.get(key) if theirs else None
        ratio = f"{value / other:7.2f}" if other and "hits" not in key and "samples" not in key else ""
        print(f"  {key:52} {value:12.3f} {other if other is not None else float('nan'):12.3f} {ratio}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000,
                        help="INBOX size (BENCHMARKS.md uses 50,000: ~8 min of filling on 2 cores)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the initial sync (median)")
    parser.add_argument("--idle", type=int, default=1000, help="idle TLS connections for the memory figure")
    parser.add_argument("--watchers", type=int, default=100, help="idling clients timing delivery -> EXISTS")
    parser.add_argument("--deliveries", type=int, default=5)
    parser.add_argument("--dovecot", action=argparse.BooleanOptionalAction, default=os.path.exists(DOVECOT))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    c.banner(f"bench/imap_sync.py: {args.messages} messages in INBOX, {args.idle} idle connections")
    return with_homes(args, run)


def with_homes(args: argparse.Namespace, body: Callable[[argparse.Namespace, Path, Path | None], int]) -> int:
    """``body(args, home, dove_root)`` in a temporary academail home and, with
    ``--dovecot``, a temporary Dovecot root; both removed unless ``--keep``."""
    reuse = getattr(args, "reuse", None)
    if reuse:
        # --reuse HOME[,DOVECOT_ROOT]: what an earlier --keep run printed.
        home_text, _, dove_text = reuse.partition(",")
        os.environ["ACADEMAIL_HOME"] = home_text
        os.environ["ACADEMAIL_DOMAINS"] = c.DOMAIN
        if getattr(args, "database_url", None):
            os.environ["DATABASE_URL"] = args.database_url  # the kept database, as printed
        else:
            os.environ.pop("DATABASE_URL", None)
        return body(args, Path(home_text), Path(dove_text) if dove_text and args.dovecot else None)
    dove_root = Path(tempfile.mkdtemp(prefix="academail-dovecot-")) if args.dovecot else None
    try:
        with c.bench_home(getattr(args, "database_url", None), keep=args.keep) as home:
            return body(args, home, dove_root)
    finally:
        if dove_root is not None and not args.keep:
            shutil.rmtree(dove_root, ignore_errors=True)
        elif dove_root is not None:
            print(f"(kept {dove_root})")


@dataclasses.dataclass
class Filled:
    account: Any
    user: str
    secret: str  # an app password: no Argon2 per LOGIN
    cert: str
    key: str


def setup_and_fill(home: Path, messages: int, dove_root: Path | None, *, threaded: bool = False) -> Filled:
    """Migrate, create the account, fill its INBOX and (with Dovecot) the same
    messages into a Maildir owned by Dovecot's mail user. ``threaded``: the
    messages form conversations (bench/store.py ``small_message``).

    A home kept by an earlier ``--keep`` run (``--reuse``) is only migrated: its
    account and messages are used as they are, so a new migration is measured
    on 100,000 existing rows and the fill is not paid again."""
    took = c.migrate()
    c.setup_django()
    print(f"setup    home {home}; {c.db_label()}; migrate {took:.1f} s")
    from django.db import connections

    from academail.accounts.models import Account
    from academail.server.tls import ensure_certificate

    kept = home / "bench-account"
    if kept.exists():
        identifier, secret = kept.read_text().split("\n")[:2]
        existing = Account.objects.get(identifier=identifier)
        cert, key = ensure_certificate()
        connections.close_all()
        print(f"reuse    {existing.identifier}'s mailbox as filled before")
        return Filled(existing, existing.identifier, secret, str(cert), str(key))

    from academail.store.models import Mailbox

    account = c.bench_account()
    account.set_password(PASSWORD)
    account.save()
    # Phones sign in with an app password (a keyed hash, checked first); the
    # account password costs an Argon2 hash per LOGIN (~0.1-0.7 s on 2 cores),
    # which would make opening 1,000 connections a bench of Argon2.
    from academail.accounts import apppasswords

    secret = apppasswords.check_create(account, "Banc d'essai IMAP").secret
    inbox = Mailbox.objects.get(account=account, special_use="inbox")
    user = account.identifier
    maildir = ""
    if dove_root is not None:
        dove_root.chmod(0o755)
        box = dove_root / "home" / user / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True)
        maildir = str(box)
    kept.write_text(f"{account.identifier}\n{secret}\n")
    spent = fill(inbox.pk, account.pk, account.address, messages, maildir, threaded)
    print(f"fill     {messages} messages in {spent:.0f} s")
    cert, key = ensure_certificate()
    connections.close_all()
    if dove_root is not None:
        subprocess.run(["chown", "-R", "nobody:nogroup", str(dove_root / "home")], check=True)
    return Filled(account, user, secret, str(cert), str(key))


def run(args: argparse.Namespace, home: Path, dove_root: Path | None) -> int:
    filled = setup_and_fill(home, args.messages, dove_root)
    account, user, secret, cert, key = filled.account, filled.user, filled.secret, filled.cert, filled.key
    ports = {name: c.free_port() for name in ("imaps", "imap", "smtp", "sub", "subs")}
    with academail_server(ports) as process:
        ours = measure_reads("academail", ports["imaps"], user, secret, args.messages, args.runs)
        ours_idle = asyncio.run(idle_phase(
            ports["imaps"], user, secret, args.idle, [process.pid], ports["smtp"], account.address,
            args.deliveries, min(args.watchers, args.idle),
        ))
        print(f"(server log: {c.server_log_tail(3)!r})" if process.poll() is not None else "", end="")

    theirs: dict[str, float] | None = None
    theirs_idle: dict[str, float] | None = None
    if dove_root is not None:
        port = c.free_port()
        config = dovecot_config(dove_root, port, user, str(cert), str(key))
        version = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True).stdout.strip()
        print(f"dovecot  {version} on 127.0.0.1:{port}, Maildir of {args.messages} files (indexed at first SELECT)")
        with dovecot_server(config, port) as master:
            theirs = measure_reads("Dovecot", port, user, PASSWORD, args.messages, args.runs)
            theirs_idle = asyncio.run(idle_phase(
                port, user, PASSWORD, args.idle, lambda: descendants(master), None, account.address, 0, 0,
            ))
    table("reads (median; the first SELECT of Dovecot builds its index)", ours, theirs)
    table("idle connections (PSS of the server's processes, /proc/<pid>/smaps_rollup)", ours_idle, theirs_idle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
