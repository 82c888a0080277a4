"""An académie-sized load test (issue 21 §7), on PostgreSQL, with the real
processes a deployment runs: accounts imported from the secretariat's CSV,
then two ``serve --only imap`` processes holding IDLE sessions, one (or
--mx) ``serve --only smtp`` taking a morning peak from 8 senders, and one
``serve --only web`` serving webmail page views. Prints p50/p95/p99 per
protocol, the memory and CPU of every process, the errors, and checks at the
end that every message acknowledged with 250 is stored in each recipient's
mailbox, and that every IDLE session was told of its deliveries.

    .venv/bin/python bench/load_academie.py --quick                 # smoke run, ~2 min
    .venv/bin/python bench/load_academie.py                         # 60,000 accounts, 2,000 IDLE
    .venv/bin/python bench/load_academie.py --idle 5000 --web-seconds 600
    .venv/bin/python bench/load_academie.py --import-only           # the 60,000-line import alone

Phases run one after the other (import; IDLE sessions opened and held; SMTP
peak with the sessions held; webmail views with the sessions held), so each
protocol's figures are its own. The machine is shared: the load average is
printed, and CPU seconds per process beside the wall clock. PostgreSQL's CPU
is the whole server's (``pg server``, every database on it), since backends
end and start during a phase.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import http.cookiejar
import os
import random
import re
import resource
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import _common as c
import deliver

PASSWORD = "Charge-academie-2026!"  # noqa: S105 (bench accounts in a throw-away database)
PORT_SETTINGS = ("WEB_PORT", "SMTP_PORT", "SUBMISSION_PORT", "SUBMISSIONS_PORT", "IMAP_PORT", "IMAPS_PORT",
                 "MANAGESIEVE_PORT")


def pcts(values: list[float]) -> str:
    """p50/p95/p99 of seconds, in ms."""
    if not values:
        return "no sample"
    return " / ".join(f"{c.percentile(values, q) * 1000:.0f}" for q in (50, 95, 99)) + " ms"


def memory(pid: int) -> str:
    """Resident and peak resident memory of a process (Linux /proc)."""
    fields = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return f"RSS {fields.get('VmRSS', '?')}, peak {fields.get('VmHWM', '?')}"


@contextlib.contextmanager
def serve(kind: str, index: int, *, env: dict[str, str] | None = None,
          prefix: list[str] | None = None) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, int]]]:
    """``academail serve --only kind`` on its own ports; yields once it says
    ready. ``env``: more environment (bench/web_views.py's PYTHONPATH);
    ``prefix``: a command that runs the script (a profiler)."""
    extra = env or {}
    ports = {key: c.free_port() for key in PORT_SETTINGS}
    env = os.environ.copy() | extra
    env.update({f"ACADEMAIL_{key}": str(value) for key, value in ports.items()})
    env.update({"ACADEMAIL_BIND": "127.0.0.1", "ACADEMAIL_INBOUND_CHECKS": "0"})
    # Dovecot's auth_cache_ttl default, one hour: with our 300 s default, on
    # this loaded machine an account's next session came after its cached
    # success had expired, and each of 5,000 LOGINs paid Argon2 (2-3 s wall).
    env.setdefault("ACADEMAIL_AUTH_CACHE_SECONDS", "3600")
    log = Path(env["ACADEMAIL_HOME"]) / f"serve-{kind}-{index}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([*(prefix or []), c.ACADEMAIL, "serve", "--only", kind], env=env, stdout=sink,  # noqa: S603
                                   stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while b"academail ready" not in log.read_bytes():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"serve --only {kind} did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.2)
            yield process, ports
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- import ---------------------------------------------------------------------------


SYLLABLES = ["ber", "cha", "dou", "fon", "gar", "lan", "mar", "nou", "pel", "ri", "sau", "ta", "vil", "lo",
             "mon", "qué"]


def surname(rng: random.Random) -> str:
    """A family name: one of the most common French ones for one person in ten,
    else one of 4,096 made of three syllables. An académie's 60,000 staff have
    thousands of family names; the 32 common ones alone would give each
    identifier (initial + name) a hundred homonyms, a number no real file has."""
    if rng.random() < 0.1:
        return rng.choice(c.LAST_NAMES)
    return "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()


def import_accounts(count: int, home: Path) -> tuple[float, float]:
    """The secretariat's CSV of ``count`` people through ``academail
    import-accounts``; (wall seconds, CPU seconds of the command)."""
    rng = random.Random(7)
    path = home / "personnels.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("Nom;Prénom;NUMEN\n")
        for i in range(count):
            out.write(f"{surname(rng)};{rng.choice(c.FIRST_NAMES)};{c.numen(100_000 + i)}\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([c.ACADEMAIL, "import-accounts", str(path)], capture_output=True, text=True, check=False)  # noqa: S603
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"import-accounts failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bulk_accounts(count: int, start: int) -> float:
    """``count`` more pending accounts, as the import would leave them (the
    Account row with its NUMEN, the special folders, subscriptions and the
    quota row of ``store.do_provision_account``), by bulk inserts: the rest of
    the académie when --import-lines imports only a sample; returns seconds."""
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from academail.accounts.models import Account
    from academail.accounts.naming import ascii_fold, name_key
    from academail.accounts.secrets import encrypt_numen, numen_hash
    from academail.store.mailboxes import DEFAULT_MAILBOXES
    from academail.store.models import Mailbox, Subscription, Usage

    started = time.perf_counter()
    rng = random.Random(start)
    unusable = make_password(None)
    uidvalidity = int(time.time())
    for first_row in range(start, start + count, 5_000):
        rows = []
        for i in range(first_row, min(start + count, first_row + 5_000)):
            first, last = rng.choice(c.FIRST_NAMES), surname(rng)
            f, la = ascii_fold(first).lower(), ascii_fold(last).lower()
            value = c.numen(100_000 + i)
            rows.append(Account(
                identifier=f"{f[0]}{la}.{i}", address=f"{f}.{la}.{i}@{c.DOMAIN}", first_name=first, last_name=last,
                name_key=name_key(first, last), numen_ciphertext=encrypt_numen(value), numen_hash=numen_hash(value),
                status="pending", quota_bytes=settings.DEFAULT_QUOTA, password=unusable,
            ))
        with transaction.atomic():
            created = Account.objects.bulk_create(rows, batch_size=1000)
            Usage.objects.bulk_create([Usage(account=a) for a in created], batch_size=1000)
            Mailbox.objects.bulk_create([
                Mailbox(account=a, name=name, special_use=use, uidvalidity=uidvalidity + n)
                for a in created for n, (use, name) in enumerate(DEFAULT_MAILBOXES)
            ], batch_size=2000)
            Subscription.objects.bulk_create(
                [Subscription(account=a, name=name) for a in created for _, name in DEFAULT_MAILBOXES], batch_size=2000)
    return time.perf_counter() - started


def set_passwords(count: int) -> list[tuple[str, str]]:
    """One password (hashed once) for the first ``count`` accounts, which the
    IMAP and web clients sign in as, activated as their owners would be (the
    import leaves accounts pending activation); [(identifier, address)]."""
    from django.contrib.auth.hashers import make_password

    from academail.accounts.models import Account

    people = list(Account.objects.order_by("id").values_list("id", "identifier", "address")[:count])
    Account.objects.filter(id__in=[p[0] for p in people]).update(password=make_password(PASSWORD), status="active")
    return [(identifier, address) for _, identifier, address in people]


# --- IMAP IDLE ------------------------------------------------------------------------


@dataclass
class Idle:
    setup: list[float] = field(default_factory=list)  # connect .. "+ idling", seconds
    errors: Counter[str] = field(default_factory=Counter)
    exists: dict[int, int] = field(default_factory=dict)  # session -> last EXISTS seen
    owner: dict[int, str] = field(default_factory=dict)  # session -> address
    open: int = 0


async def _idle_session(n: int, port: int, person: tuple[str, str], idle: Idle, stop: asyncio.Event,
                        gate: asyncio.Semaphore, context: ssl.SSLContext) -> None:
    identifier, address = person
    try:
        async with gate:
            started = time.perf_counter()
            # Clients come from many addresses (the per-address limit, 100 by
            # default, is for one school's NAT): 127.0.0.2-201 on loopback.
            source = (f"127.0.{(n // 200) % 200}.{2 + n % 200}", 0)
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, ssl=context, local_addr=source), 120)
            await reader.readline()
            for tag, command in (("a", f"LOGIN {identifier} \"{PASSWORD}\""), ("b", "SELECT INBOX")):
                writer.write(f"{tag} {command}\r\n".encode())
                while True:
                    line = await asyncio.wait_for(reader.readline(), 120)
                    if not line:
                        raise ConnectionError("closed")
                    if m := re.match(rb"\* (\d+) EXISTS", line):
                        idle.exists[n] = int(m.group(1))
                    if line.startswith(tag.encode() + b" "):
                        if not line.startswith(tag.encode() + b" OK"):
                            raise ConnectionError(line.decode(errors="replace").strip()[:60])
                        break
            writer.write(b"c IDLE\r\n")
            line = await asyncio.wait_for(reader.readline(), 120)
            if not line.startswith(b"+"):
                raise ConnectionError("no IDLE continuation")
            idle.setup.append(time.perf_counter() - started)
            idle.owner[n] = address
            idle.open += 1
        reading = asyncio.ensure_future(stop.wait())
        while not stop.is_set():
            line_task = asyncio.ensure_future(reader.readline())
            await asyncio.wait({line_task, reading}, return_when=asyncio.FIRST_COMPLETED)
            if not line_task.done():
                line_task.cancel()
                break
            line = line_task.result()
            if not line:
                idle.errors["closed by the server"] += 1
                return
            if m := re.match(rb"\* (\d+) EXISTS", line):
                idle.exists[n] = int(m.group(1))
        writer.write(b"DONE\r\nd LOGOUT\r\n")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.drain(), 10)
        writer.close()
    except (TimeoutError, OSError, ConnectionError, ssl.SSLError) as error:
        idle.errors[type(error).__name__ + (f": {error}" if isinstance(error, ConnectionError) else "")] += 1


class IdleHolder:
    """N IDLE sessions spread over the IMAP processes, held in a thread of their own."""

    def __init__(self, ports: list[int], people: list[tuple[str, str]], count: int) -> None:
        self.idle = Idle()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.ports, self.people, self.count = ports, people, count
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.stop = asyncio.Event()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        gate = asyncio.Semaphore(64)  # handshakes in flight at once
        tasks = [
            self.loop.create_task(_idle_session(n, self.ports[n % len(self.ports)], self.people[n % len(self.people)],
                                                self.idle, self.stop, gate, context))
            for n in range(self.count)
        ]

        async def opened() -> None:
            while self.idle.open + sum(self.idle.errors.values()) < self.count:
                await asyncio.sleep(0.2)
            self.ready.set()
            await asyncio.gather(*tasks)

        self.loop.run_until_complete(opened())

    def start(self) -> float:
        started = time.perf_counter()
        self.thread.start()
        self.ready.wait()
        return time.perf_counter() - started

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=120)


# --- SMTP peak ------------------------------------------------------------------------


def peak_messages(addresses: list[str], messages: int) -> list[deliver.Item]:
    """``messages`` of 10-100 KB to ``addresses``, pre-encoded (before the clock and the CPU count start)."""
    args = argparse.Namespace(seed=3, messages=messages, multi_share=0.1, min_kb=10, max_kb=100, attachment_share=0.3)
    return deliver.generate(args, addresses)


def smtp_peak(ports: list[int], items: list[deliver.Item], senders: int) -> tuple[deliver.Result, float]:
    """``items`` from ``senders`` concurrent connections, bench/deliver.py's
    lean generator (pre-encoded, pipelined, one thread), spread over the MX
    processes' ports."""
    result = deliver.Result()
    started = time.perf_counter()
    thread = threading.Thread(target=deliver.lean_send, args=(ports, items, senders, 50, result), daemon=True)
    thread.start()
    thread.join(timeout=1800)
    return result, time.perf_counter() - started


def verify_stored(result: deliver.Result) -> tuple[int, int]:
    """(acknowledged (message, recipient) pairs, of those not in the recipient's mailbox)."""
    from django.db import connection

    expected = {(item.message_id, address) for item, stored in result.accepted for address in stored}
    ids = sorted({m for m, _ in expected})
    found: set[tuple[str, str]] = set()
    with connection.cursor() as cursor:
        for first in range(0, len(ids), 1000):
            chunk = ids[first:first + 1000]
            marks = ",".join(["%s"] * len(chunk))
            cursor.execute(
                "SELECT c.message_id, a.address FROM store_message m JOIN store_content c ON c.id = m.content_id"
                " JOIN store_mailbox b ON b.id = m.mailbox_id JOIN accounts_account a ON a.id = b.account_id"
                f" WHERE c.message_id IN ({marks})",  # noqa: S608 (placeholders only)
                [f"<{m}>" for m in chunk],
            )
            found.update((mid.strip("<>"), address) for mid, address in cursor.fetchall())
    return len(expected), len(expected - found)


# --- webmail --------------------------------------------------------------------------


def sign_in(base: str, person: tuple[str, str]) -> tuple[str, str]:
    """Sign in through the real form (GET, then POST with the CSRF token);
    (the inbox's path, the Cookie header the browser would send)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/connexion/", timeout=60).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = urllib.parse.urlencode({"identifier": person[0], "password": PASSWORD,
                                   "csrfmiddlewaretoken": token}).encode()
    signed_in = opener.open(urllib.request.Request(f"{base}/connexion/", data=form,
                                                   headers={"Referer": f"{base}/connexion/"}), timeout=60)
    inbox = signed_in.geturl()
    if "/connexion" in inbox:
        raise RuntimeError("sign-in refused")
    return urllib.parse.urlsplit(inbox).path, "; ".join(f"{c.name}={c.value}" for c in jar)


def web_views(ports: list[int], people: list[tuple[str, str]], clients: int, seconds: float,
              *, kept: bool = True, signed_in: Callable[[], object] | None = None) -> tuple[list[float], Counter[str]]:
    """``clients`` signed-in people each loading their inbox page in a loop,
    over one kept-alive HTTP/1.1 connection each, as a browser does
    (``kept``), or a new connection a view (``Connection: close``, as the
    urllib clients before did). Client i talks to ``ports[i % n]``, as a
    balancer would spread them over the web processes. Every client signs in
    first; then ``signed_in`` is called (to start a CPU count that leaves the
    sign-ins' Argon2 out) and the ``seconds`` of views begin."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = [0.0]

    def start() -> None:
        if signed_in:
            signed_in()
        deadline[0] = time.monotonic() + seconds

    barrier = threading.Barrier(clients, action=start)

    def one(person: tuple[str, str], port: int) -> None:
        try:
            path, cookie = sign_in(f"http://127.0.0.1:{port}", person)
        except Exception as error:  # noqa: BLE001 (counted and printed)
            with lock:
                errors[f"sign-in: {type(error).__name__} {getattr(error, 'code', '')}".strip()] += 1
            barrier.wait()
            return
        barrier.wait()
        headers = {"Cookie": cookie, "Accept": "text/html", **({} if kept else {"Connection": "close"})}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < deadline[0]:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
                if not ok:
                    with lock:
                        errors[f"HTTP {response.status}"] += 1
                if response.will_close:
                    connection.close()
            except (OSError, http.client.HTTPException) as error:
                ok = False
                connection.close()
                with lock:
                    errors[type(error).__name__] += 1
            if ok:
                with lock:
                    latencies.append(time.perf_counter() - started)
        connection.close()

    threads = [threading.Thread(target=one, args=(people[i % len(people)], ports[i % len(ports)]), daemon=True)
               for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 600)
    return latencies, errors


# --- main -----------------------------------------------------------------------------


PG_SERVER_NOTE = ("pg server: the whole PostgreSQL server's CPU (postmaster, living and ended backends, "
                  "other databases' work included)")


def cpu_now(processes: list[tuple[str, subprocess.Popen[bytes]]]) -> dict[str, float]:
    """CPU seconds so far: each kind of server process (with its workers),
    the whole PostgreSQL server (``c.pg_server_cpu``: the web process keeps
    its connections for CONN_MAX_AGE while backends come and go, so counting
    the backends alive at the end of a phase missed most of its work), and
    this process (the load generators)."""
    seconds: dict[str, float] = Counter()
    for kind, process in processes:
        seconds[kind] += c.tree_cpu_seconds(process.pid)
    seconds["pg server"] = c.pg_server_cpu()
    seconds["generators"] = time.process_time()
    return seconds


def cpu_line(before: dict[str, float], after: dict[str, float], count: int, unit: str, wall: float) -> str:
    """CPU of each party during a phase, per ``unit`` and in % of one core."""
    parts = []
    for key in after:
        used = after[key] - before.get(key, 0.0)
        if used > 0.05:
            parts.append(f"{key} {used:.1f} s ({used * 1000 / max(count, 1):.1f} ms/{unit}, {used / wall * 100:.0f} %)")
    total = sum(after[k] - before.get(k, 0.0) for k in after)
    return (", ".join(parts) + f"; all {total / wall * 100:.0f} % of one core (2 cores: 200 %), "
            f"load {os.getloadavg()[0]:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 accounts, 200 IDLE, 200 messages, 10 s of web")
    parser.add_argument("--accounts", type=int, default=60_000)
    parser.add_argument("--import-lines", type=int, default=0,
                        help="import only this many through import-accounts (its rate is printed), the rest of "
                             "--accounts by bulk inserts; 0: import them all")
    parser.add_argument("--import-only", action="store_true",
                        help="run the import phase alone (no servers): its figures, then stop")
    parser.add_argument("--idle", type=int, default=2_000, help="IDLE sessions, spread over the IMAP processes")
    parser.add_argument("--imap", type=int, default=2, help="`serve --only imap` processes")
    parser.add_argument("--mx", type=int, default=1, help="`serve --only smtp` processes (senders alternate)")
    parser.add_argument("--signed-in", type=int, default=200, help="accounts with a password, used by IMAP and web")
    parser.add_argument("--messages", type=int, default=3_000, help="SMTP peak: messages of 10-100 KB")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--web", type=int, default=1, help="`serve --only web` processes (clients alternate)")
    parser.add_argument("--web-clients", type=int, default=8)
    parser.add_argument("--web-connections", default="kept",
                        help="kept: one HTTP/1.1 connection per client; new: a connection a view; "
                        "a list (kept,new) runs the web phase once each, one after the other")
    parser.add_argument("--web-seconds", type=float, default=60.0)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server: a fresh database is made, and dropped at the end")
    args = parser.parse_args()
    if args.quick:
        args.accounts, args.idle, args.messages, args.web_seconds, args.signed_in = 2_000, 200, 200, 10.0, 50

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it
    if args.idle + 200 > hard:
        args.idle = hard - 200
        print(f"note     open files limited to {hard}: {args.idle} IDLE sessions")

    c.banner(f"bench/load_academie.py: {args.accounts:,} accounts, {args.idle:,} IDLE over {args.imap} IMAP "
             f"processes, {args.messages:,} messages from {args.senders} senders, webmail for {args.web_seconds:.0f} s")
    failures = 0
    with c.bench_home(args.database_url) as home:
        took = c.migrate()
        c.setup_django()
        print(f"setup    {c.db_label()}; {c.machine_label()}; migrate {took:.1f} s; load {os.getloadavg()[0]:.1f}")
        print(f"note     {PG_SERVER_NOTE}")

        lines = min(args.import_lines or args.accounts, args.accounts)
        wall, cpu = import_accounts(lines, home)
        print(f"import   {lines:,} accounts from the CSV in {wall:.0f} s ({lines / wall:.0f}/s, "
              f"command CPU {cpu:.0f} s, {cpu / lines * 1000:.1f} ms a person); goal for 60,000: < 300 s"
              + (f" (at this rate 60,000 take {60_000 / lines * wall:.0f} s)" if lines != 60_000 else "")
              + f"; load {os.getloadavg()[0]:.1f}")
        if args.import_only:
            from academail.accounts.models import Account

            imported = Account.objects.count()
            print(f"import   {imported:,} accounts in the database"
                  + ("" if imported == lines else f": MISMATCH, {lines:,} expected"))
            return 0 if imported == lines else 1
        if lines < args.accounts:
            spent = bulk_accounts(args.accounts - lines, lines)
            print(f"bulk     the other {args.accounts - lines:,} accounts by bulk inserts in {spent:.0f} s "
                  "(not the import: the académie's size for the phases below)")
        from academail.accounts.models import Account

        imported = Account.objects.count()
        if imported != args.accounts:
            print(f"import   MISMATCH: {imported} accounts in the database")
            failures += 1
        people = set_passwords(args.signed_in)
        addresses = list(Account.objects.values_list("address", flat=True))
        from django.db import connections

        connections.close_all()

        with contextlib.ExitStack() as stack:
            imap = [stack.enter_context(serve("imap", i)) for i in range(args.imap)]
            mx = [stack.enter_context(serve("smtp", i)) for i in range(args.mx)]
            web = [stack.enter_context(serve("web", i)) for i in range(args.web)]
            processes = [("imap", p) for p, _ in imap] + [("smtp", p) for p, _ in mx] + [("web", p) for p, _ in web]
            cpu_start = {p.pid: c.process_cpu_seconds(p.pid) for _, p in processes}
            print(f"serve    {args.imap} imap, {args.mx} smtp, {args.web} web process(es) on PostgreSQL; "
                  f"load {os.getloadavg()[0]:.1f}")

            holder = IdleHolder([ports["IMAPS_PORT"] for _, ports in imap], people, args.idle)
            opened = holder.start()
            idle = holder.idle
            print(f"imap     {idle.open:,} IDLE sessions open of {args.idle:,} in {opened:.0f} s "
                  f"(TLS, LOGIN, SELECT, IDLE): p50/p95/p99 {pcts(idle.setup)}; errors {dict(idle.errors) or 0}")

            # The morning peak: a third of the mail to people holding IDLE sessions.
            rng = random.Random(5)
            watched = [a for _, a in people]
            targets = [rng.choice(watched) if rng.random() < 0.33 else rng.choice(addresses) for _ in range(5_000)]
            items = peak_messages(targets, args.messages)
            cpu_before = cpu_now(processes)
            result, elapsed = smtp_peak([ports["SMTP_PORT"] for _, ports in mx], items, args.senders)
            cpu_after = cpu_now(processes)
            accepted = len(result.accepted)
            print(f"smtp     {accepted:,} accepted, {len(result.refused)} refused in {elapsed:.0f} s: "
                  f"{accepted / elapsed:.0f} msg/s (issue: a 100 msg/s peak); transaction p50/p95/p99 "
                  f"{pcts(result.transaction)}, end of DATA to 250 {pcts(result.data_to_250)}")
            print(f"smtp     CPU during the peak: {cpu_line(cpu_before, cpu_after, accepted, 'msg', elapsed)}")
            if result.refused:
                print(f"smtp     refusals: {Counter(r for _, r in result.refused).most_common(3)}")
                failures += 1

            # Every IDLE session must be told of each delivery to its INBOX (across processes: LISTEN/NOTIFY).
            per_address = Counter(a for _, stored in result.accepted for a in stored)
            deadline = time.monotonic() + 30
            while True:
                behind = [n for n, address in idle.owner.items() if idle.exists.get(n, 0) < per_address[address]]
                if not behind or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            told = len(idle.owner) - len(behind)
            print(f"imap     {told:,} of {len(idle.owner):,} IDLE sessions saw every delivery to their INBOX "
                  f"(EXISTS) within 30 s of the peak's end")
            failures += bool(behind) + bool(idle.errors)

            for mode in args.web_connections.split(","):
                web_cpu_before: dict[str, float] = {}
                latencies, web_errors = web_views([ports["WEB_PORT"] for _, ports in web], people, args.web_clients,
                                                  args.web_seconds, kept=mode == "kept",
                                                  signed_in=lambda b=web_cpu_before: b.update(cpu_now(processes)))
                cpu_after = cpu_now(processes)
                print(f"web      {len(latencies):,} inbox page views in {args.web_seconds:.0f} s by {args.web_clients} "
                      f"signed-in clients, connections {mode}: {len(latencies) / args.web_seconds:.1f}/s "
                      f"(issue: 50/s); p50/p95/p99 {pcts(latencies)}; errors {dict(web_errors) or 0}")
                print(f"web      CPU during the views (sign-ins apart): "
                      f"{cpu_line(web_cpu_before, cpu_after, len(latencies), 'view', args.web_seconds)}")
                failures += bool(web_errors)

            if failures:
                for path in sorted(home.glob("serve-*.log")):
                    errors = [line for line in path.read_text(errors="replace").splitlines() if "Error" in line]
                    if errors:
                        print(f"log      {path.name}: {len(errors)} error lines, last: {errors[-1][:300]}")
            for kind, process in processes:
                used = c.process_cpu_seconds(process.pid) - cpu_start[process.pid]
                print(f"process  {kind:5} pid {process.pid}: {memory(process.pid)}, CPU {used:.0f} s during the run")
            print(f"process  bench clients: {memory(os.getpid())}")
            holder.close()

        pairs, missing = verify_stored(result)
        print(f"verify   {pairs:,} acknowledged (message, recipient) pairs, {missing} not in the recipient's mailbox")
        failures += bool(missing)
        print(f"load     {os.getloadavg()[0]:.1f} at the end (1 min average, 2 cores shared)")
        print("result   OK" if not failures else f"result   {failures} check(s) failed")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
