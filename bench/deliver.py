"""SMTP inbound throughput of the real MX: N messages of 10–100 KB from 8
concurrent clients, each keeping its connection open for several messages.

    .venv/bin/python bench/deliver.py [--messages 2000] [--clients 8]
    .venv/bin/python bench/deliver.py --database-url postgres://postgres@127.0.0.1:5432

Starts ``academail serve --only smtp`` (after ``academail migrate``) in a fresh
ACADEMAIL_HOME (and, with --database-url, a fresh PostgreSQL database, dropped
at the end), creates the recipients through ``check_create_account``, sends,
prints messages/s and the latency from the end of DATA to the 250 reply, then
checks that every message acknowledged with 250 is in the database.

``--servers 1,2`` measures one and two ``serve --only smtp`` processes
sharing the port (SO_REUSEPORT) side by side in the same run, each in a fresh
home and database; ``--rounds 2`` alternates them (1, 2, 1, 2) so that a
change in the machine's load does not favour one. On a shared machine the
wall-clock ratio says as much about the other jobs as about us: each run also
prints its CPU per message (serving processes, their delivery worker
processes, their PostgreSQL backends), the statements the delivery writer
sent per message (from each server's own counters, ``/metrics``) and the load
average before and after.

Goal (BENCHMARKS.md): >= 200 msg/s accepted, stored before 250; issue 21:
two MX processes >= 1.7x one on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import random
import re
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import _common as c

SENDER = "expediteur@exemple-ecole.fr"


@dataclass
class Item:
    recipients: list[str]
    raw: bytes
    message_id: str
    wire: tuple[bytes, bytes] = (b"", b"")  # pre-encoded for the lean sender: commands, data


def encode(recipients: list[str], raw: bytes) -> tuple[bytes, bytes]:
    """A transaction as the lean sender writes it, made before the clock
    starts: MAIL, the RCPTs and DATA in one pipelined group (RFC 2920 §3.1:
    DATA may end a group; the data itself waits for the 354), then the data
    dot-stuffed (RFC 5321 §4.5.2) with its end marker."""
    commands = [f"MAIL FROM:<{SENDER}> SIZE={len(raw)} BODY=8BITMIME".encode()]
    commands += [f"RCPT TO:<{r}>".encode() for r in recipients]
    data = (b"\r\n" + raw).replace(b"\r\n.", b"\r\n..")[2:]
    return b"\r\n".join([*commands, b"DATA"]) + b"\r\n", data + (b"" if data.endswith(b"\r\n") else b"\r\n") + b".\r\n"


@dataclass
class Result:
    accepted: list[tuple[Item, list[str]]] = field(default_factory=list)  # item, recipients stored
    refused: list[tuple[Item, str]] = field(default_factory=list)
    data_to_250: list[float] = field(default_factory=list)  # seconds
    transaction: list[float] = field(default_factory=list)  # MAIL..250, seconds
    connections: int = 0


class TimedSMTP(smtplib.SMTP):
    """smtplib.SMTP that notes when the last bytes were handed to the socket:
    in ``data()`` the last ``send`` is the body with its final ".", so the time
    from there to the reply is "DATA end to 250"."""

    last_send_end = 0.0

    def send(self, s: bytes | str) -> None:
        super().send(s)
        self.last_send_end = time.perf_counter()


def generate(args: argparse.Namespace, addresses: list[str]) -> list[Item]:
    rng = random.Random(args.seed)
    items = []
    for _ in range(args.messages):
        count = 1 if rng.random() >= args.multi_share else rng.randint(2, 3)
        recipients = rng.sample(addresses, count)
        size = rng.randint(args.min_kb * 1024, args.max_kb * 1024)
        attachment = int(size * rng.uniform(0.4, 0.8)) * 3 // 4 if rng.random() < args.attachment_share else 0
        raw = c.make_message(rng, to=recipients, size=size, attachment=attachment)
        message_id = raw.split(b"Message-ID: <", 1)[1].split(b">", 1)[0].decode()
        items.append(Item(recipients, raw, message_id, encode(recipients, raw)))
    return items


def train(count: int, addresses: list[str]) -> None:
    """Train the spam classifiers as an académie in use would have them: the
    académie's and each recipient's own, on ``count`` generated messages
    (2–20 KB, every other one as junk), each learned by the académie and by
    one recipient in turn. The screening then reads token counts for the
    académie and for recipients who learned, as it does in production."""
    from django.db import transaction

    from academail.accounts.models import Account
    from academail.mime.parse import parse_message
    from academail.protection import classifier
    from academail.protection.spam import message_tokens

    started = time.perf_counter()
    ids = list(Account.objects.filter(address__in=addresses).values_list("pk", flat=True))
    rng = random.Random(17)
    with transaction.atomic():
        for index in range(count):
            raw = c.make_message(rng, to=[addresses[0]], size=rng.randint(2_000, 20_000))
            spam = index % 2 == 0
            classifier.do_count([0, ids[(index // 2) % len(ids)]], message_tokens(parse_message(raw)),
                                spam=int(spam), ham=int(not spam))
    print(f"setup    classifiers trained on {count} messages (the académie's and each account's own) "
          f"in {time.perf_counter() - started:.1f} s")


def client(port: int, work: queue.Queue[Item | None], per_connection: int, result: Result, lock: threading.Lock) -> None:
    smtp: TimedSMTP | None = None
    sent_here = 0
    try:
        while True:
            item = work.get()
            if item is None:
                return
            if smtp is None or (per_connection and sent_here >= per_connection):
                if smtp is not None:
                    smtp.quit()
                smtp = TimedSMTP("127.0.0.1", port, timeout=120)
                smtp.ehlo("bench.exemple-ecole.fr")
                sent_here = 0
                with lock:
                    result.connections += 1
            started = time.perf_counter()
            try:
                refused = smtp.sendmail(
                    SENDER, item.recipients, item.raw, mail_options=["BODY=8BITMIME"]
                )
            except smtplib.SMTPException as error:
                with lock:
                    result.refused.append((item, repr(error)))
                if isinstance(error, smtplib.SMTPServerDisconnected):
                    smtp = None
                else:
                    smtp.rset()
                continue
            ended = time.perf_counter()
            sent_here += 1
            with lock:
                result.accepted.append((item, [r for r in item.recipients if r not in refused]))
                result.transaction.append(ended - started)
                result.data_to_250.append(ended - smtp.last_send_end)
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except smtplib.SMTPException:
                smtp.close()


async def _reply(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One SMTP reply, its continuation lines included."""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("the server closed the connection")
        if line[3:4] != b"-":
            return int(line[:3]), line


async def _lean_connection(port: int, items: Iterator[Item], per_connection: int, result: Result) -> None:
    """One sender's connections, one after the other, taking the next message
    from the shared ``items``: EHLO once per connection, then per message one
    pipelined write (MAIL, RCPTs, DATA), the replies, the data if the answer
    was 354, the final reply."""
    reader = writer = None
    sent_here = 0
    item = None
    try:
        for item in items:
            if writer is None or (per_connection and sent_here >= per_connection):
                if writer is not None:
                    writer.write(b"QUIT\r\n")
                    await _reply(reader)
                    writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
                await _reply(reader)
                writer.write(b"EHLO bench.exemple-ecole.fr\r\n")
                await _reply(reader)
                sent_here = 0
                result.connections += 1
            commands, data = item.wire
            started = time.perf_counter()
            writer.write(commands)
            code, text = await _reply(reader)  # MAIL
            stored = []
            for recipient in item.recipients:
                code_rcpt, text_rcpt = await _reply(reader)
                if code_rcpt == 250:
                    stored.append(recipient)
                else:
                    text = text_rcpt
            code_data, text_data = await _reply(reader)
            if code != 250 or code_data != 354:
                result.refused.append((item, (text if code_data == 354 else text_data).decode(errors="replace")))
                if code_data == 354:  # a refused MAIL with 354 cannot happen; end the data cleanly anyway
                    writer.write(b".\r\n")
                    await _reply(reader)
                item = None
                continue
            writer.write(data)
            await writer.drain()
            sent = time.perf_counter()
            code, text = await _reply(reader)
            ended = time.perf_counter()
            sent_here += 1
            if code != 250:
                result.refused.append((item, text.decode(errors="replace")))
                item = None
                continue
            result.accepted.append((item, stored))
            result.transaction.append(ended - started)
            result.data_to_250.append(ended - sent)
            item = None
        if writer is not None:
            writer.write(b"QUIT\r\n")
            await _reply(reader)
    except (OSError, ConnectionError) as error:
        if item is not None:  # the one in flight; the others go to the other senders
            result.refused.append((item, repr(error)))
    finally:
        if writer is not None:
            writer.close()


def lean_send(port: int | list[int], items: list[Item], clients: int, per_connection: int, result: Result) -> None:
    """The lean load generator: ``clients`` SMTP connections at once driven by
    one thread's event loop, writing pre-encoded, pipelined transactions
    (RFC 2920). An académie's senders are other machines; here they share the
    2 cores with the MX and PostgreSQL, so they should cost as little as they
    can (smtplib threads cost twice as much a message: ``--client``). With a
    list of ports, connection i goes to ``port[i % n]``, as a balancer would."""
    ports = port if isinstance(port, list) else [port]
    shared = iter(items)  # one thread: each sender takes the next message when it is free

    async def all_senders() -> None:
        await asyncio.gather(*(_lean_connection(ports[i % len(ports)], shared, per_connection, result)
                               for i in range(clients)))

    asyncio.run(all_senders())


def _senders(kind: str, port: int, items: list[Item], clients: int, per_connection: int,
             result: Result) -> Callable[[float], bool]:
    """The load generator, ready to start: ``send(timeout)`` sends every
    item and says whether it finished in time. ``lean``: ``lean_send`` in one
    thread; ``smtplib``: one ``smtplib`` thread per client (``client``)."""
    if kind == "lean":
        def lean(timeout: float) -> bool:
            thread = threading.Thread(target=lean_send, args=(port, items, clients, per_connection, result),
                                      daemon=True)
            thread.start()
            thread.join(timeout)
            return not thread.is_alive()
        return lean
    work: queue.Queue[Item | None] = queue.Queue()
    for item in items:
        work.put(item)
    for _ in range(clients):
        work.put(None)
    lock = threading.Lock()
    threads = [threading.Thread(target=client, args=(port, work, per_connection, result, lock), daemon=True)
               for _ in range(clients)]

    def threaded(timeout: float) -> bool:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)
    return threaded


def verify(result: Result) -> bool:
    from academail.store.models import Content, Mailbox, Message

    expected_rows = sum(len(stored) for _, stored in result.accepted)
    rows = Message.objects.count()
    contents = Content.objects.count()
    counters = sum(Mailbox.objects.values_list("messages", flat=True))
    stored_ids = {m.strip("<>") for m in Content.objects.values_list("message_id", flat=True)}
    missing = [item.message_id for item, _ in result.accepted if item.message_id not in stored_ids]
    print(f"verify   Message rows {rows} (expected {expected_rows}), Content rows {contents} "
          f"(accepted messages {len(result.accepted)}), mailbox counters {counters}, "
          f"250 but not in the DB: {len(missing)}")
    ok = rows == expected_rows and contents == len(result.accepted) and counters == rows and not missing
    print("verify   OK: every 250 is stored" if ok else "verify   MISMATCH")
    return ok


PEER = "Postfix + Dovecot LMTP: 192 msg/s accepted, 124 msg/s in mailboxes; 238 msg/s until stored (5,000 messages)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--client", default="lean",
                        help="load generator: pre-encoded pipelined transactions, 8 connections in one thread "
                        "(lean), or one smtplib thread per client (smtplib, the generator before); "
                        "a list (lean,smtplib) runs each")
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--per-connection", type=int, default=50,
                        help="messages per SMTP connection before QUIT and reconnect (0: one connection per client)")
    parser.add_argument("--min-kb", type=int, default=10)
    parser.add_argument("--max-kb", type=int, default=100)
    parser.add_argument("--attachment-share", type=float, default=0.3, help="share of messages with a base64 attachment")
    parser.add_argument("--multi-share", type=float, default=0.1, help="share of messages to 2–3 recipients")
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]: a fresh database, dropped at the end")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train", type=int, default=0, metavar="N",
                        help="train the spam classifiers on N messages first (the académie's and each account's)")
    parser.add_argument("--profile", metavar="FILE", help="run the server under cProfile, stats written to FILE")
    parser.add_argument("--servers", default="1",
                        help="`serve --only smtp` processes sharing the port (SO_REUSEPORT); "
                        "a list (1,2) runs each, one after the other, in this run")
    parser.add_argument("--workers", default="",
                        help="ACADEMAIL_DELIVERY_WORKERS of the servers (default: theirs, from the cores); "
                        "a list (0,2) runs each, one after the other, in this run")
    parser.add_argument("--rounds", type=int, default=1,
                        help="with several variants: run them all this many times, alternating (1,2,1,2)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary ACADEMAIL_HOME")
    parser.add_argument("--blobs", default="file", choices=["file", "s3", "file,s3"],
                        help="blob store: files, S3 (moto's server, started here), or both one after the other")
    parser.add_argument("--filter-ab", type=int, default=0, metavar="PAIRS",
                        help="the spam filter's cost: two servers (filter off, on) on one home, PAIRS pairs of "
                        "--messages bursts sent to each in turn (filter_ab)")
    args = parser.parse_args()

    if args.filter_ab:
        c.banner("bench/deliver.py --filter-ab: the spam filter's cost to MX inbound, interleaved bursts")
        return 0 if filter_ab(args) else 1
    if "," in args.blobs:  # each in its own process: settings are read once, at import
        figures = {name: _run_child(name) for name in args.blobs.split(",")}
        print("compare  " + ", ".join(f"{name} blobs {rate:.0f} msg/s" for name, rate in figures.items())
              + f" (s3/file {figures['s3'] / figures['file']:.2f}x)")
        return 0 if all(figures.values()) else 1
    c.banner(f"bench/deliver.py: SMTP inbound, real MX, blobs in {args.blobs}")
    variants = [(servers, workers, kind) for servers in args.servers.split(",")
                for workers in (args.workers.split(",") if args.workers else [""])
                for kind in args.client.split(",")]
    if len(variants) == 1 and args.rounds == 1:
        args.server_count = int(variants[0][0])
        # Each server takes its share of the cores for its default delivery workers.
        os.environ["ACADEMAIL_SERVE_PROCESSES"] = variants[0][0]
        if variants[0][1]:
            os.environ["ACADEMAIL_DELIVERY_WORKERS"] = variants[0][1]
        figures = run(args, args.blobs)
        print("figures  " + json.dumps(figures))
        all_ok = figures["ok"]
    else:  # each in its own process, one after the other: settings are read once, at import
        runs = []
        for round_ in range(args.rounds):
            for servers, workers, kind in variants:
                label = (f"{servers} server{'s' if servers != '1' else ''}, workers {workers or 'default'}"
                         + (f", {kind}" if "," in args.client else ""))
                print(f"variant  {label}" + (f" (round {round_ + 1})" if args.rounds > 1 else ""), flush=True)
                runs.append((round_, label, _run_variant(servers, workers, kind)))
        all_ok = all(f.get("ok") for _, _, f in runs)
        print("compare  side by side (CPU ms per accepted message; statements: the delivery writer's, "
              "BEGIN/COMMIT and savepoints included)")
        print(f"compare  {'round':>5} {'variant':<36} {'msg/s':>6} {'ratio':>6} {'serving':>8} {'workers':>8} "
              f"{'postgres':>8} {'sender':>7} {'bound':>6} {'ratio':>6} {'MX only':>7} {'ratio':>6} {'stmts':>6} {'per commit':>10} {'load':>11}")
        for round_, label, f in runs:
            if not f.get("ok"):
                print(f"compare  {round_ + 1:>5} {label:<36} failed")
                continue
            first = next((g for r, _, g in runs if r == round_ and g.get("ok")), f)
            print(f"compare  {round_ + 1:>5} {label:<36} {f['rate']:>6.0f} {f['rate'] / first['rate']:>5.2f}x "
                  f"{f['serving_ms']:>8.1f} {f['workers_ms']:>8.1f} {f['postgres_ms']:>8.1f} {f['sender_ms']:>7.2f} "
                  f"{cpu_bound(f):>6.0f} {cpu_bound(f) / cpu_bound(first):>5.2f}x "
                  f"{mx_bound(f):>7.0f} {mx_bound(f) / mx_bound(first):>5.2f}x "
                  f"{f['statements']:>6.1f} {f['jobs_per_commit']:>10.1f} "
                  f"{f['load_before']:>5.1f}-{f['load_after']:<5.1f}")
        print("compare  ratio: msg/s over the first variant of the same round; bound: the msg/s this run's CPU per "
              "message allows on 2 cores of our own (each serving process on at most one core, everything on at "
              "most two: serving, workers, PostgreSQL backends and the sender), and its ratio, which the other "
              "jobs' load does not move; MX only: the same bound with PostgreSQL and the senders on other "
              "machines (an académie's deployment); load: 1-minute load average at the start and the end of the run")
    print(f"peer     {PEER} (BENCHMARKS.md, same machine kind, not this run)")
    return 0 if all_ok else 1


def cpu_bound(figures: dict[str, float], cores: int = 2) -> float:
    """The msg/s a run's CPU per message allows on ``cores`` cores of our own:
    each serving process is bound to one core (its GIL), and everything
    (serving processes, workers, PostgreSQL backends, the sender) to all of
    them. The wall-clock rate on a shared machine follows the other jobs;
    this bound does not."""
    everything = figures["serving_ms"] + figures["workers_ms"] + figures["postgres_ms"] + figures["sender_ms"]
    return min(figures["servers"] * 1000 / figures["serving_ms"], cores * 1000 / everything)


def mx_bound(figures: dict[str, float], cores: int = 2) -> float:
    """``cpu_bound`` with PostgreSQL and the senders on other machines, as at
    an académie: the MX processes and their workers alone on ``cores``."""
    return cpu_bound({**figures, "postgres_ms": 0.0, "sender_ms": 0.0}, cores)


def _run_variant(servers: str, workers: str, kind: str) -> dict[str, float]:
    """This script again for one variant; its figures (``run``), {} if it failed."""
    argv, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg in ("--servers", "--workers", "--rounds", "--client"):
            skip = True
        elif not arg.startswith(("--servers=", "--workers=", "--rounds=", "--client=")):
            argv.append(arg)
    argv += ["--servers", servers, "--client", kind] + (["--workers", workers] if workers else [])
    done = subprocess.run([sys.executable, __file__, *argv],  # noqa: S603
                          capture_output=True, text=True, check=False)
    print(done.stdout, end="", flush=True)
    found = re.search(r"^figures  (.*)$", done.stdout, re.M)
    if not found or done.returncode != 0:
        print(done.stderr[-3000:])
        return {}
    return dict(json.loads(found.group(1)))


def _writer_counters(port: int) -> dict[str, float]:
    """The delivery writer's counters of one server (its ``/metrics``)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    wanted = {"academail_delivery_commits_total": "commits", "academail_delivery_jobs_total": "jobs",
              "academail_delivery_statements_total": "statements"}
    counters = dict.fromkeys(wanted.values(), 0.0)
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in wanted:
            counters[wanted[name]] = float(value)
    return counters


def _run_child(blobs: str) -> float:
    """This script again with ``--blobs blobs``; its accepted msg/s (0 if it failed)."""
    argv = [a for a in sys.argv[1:] if not a.startswith("--blobs")]
    if "--blobs" in sys.argv:
        index = sys.argv.index("--blobs")
        argv = sys.argv[1:index] + sys.argv[index + 2 :]
    done = subprocess.run([sys.executable, __file__, *argv, "--blobs", blobs],  # noqa: S603
                          capture_output=True, text=True, check=False)
    print(done.stdout, end="", flush=True)
    rate = re.search(r"^result   (\d+) msg/s accepted", done.stdout, re.M)
    return float(rate.group(1)) if rate and done.returncode == 0 else 0.0


def run(args: argparse.Namespace, blobs: str) -> dict[str, float]:
    """One measured run with blobs in files or in object storage; its
    figures: ok (every 250 stored), rate (msg/s), CPU ms per accepted
    message (serving processes, their workers, their PostgreSQL backends),
    the writer's statements per message and messages per commit, the load
    average before and after."""
    with c.bench_home(args.database_url, keep=args.keep) as home, contextlib.ExitStack() as s3:
        moto = s3.enter_context(c.s3_blobs()) if blobs == "s3" else None
        if moto is not None:
            print(f"setup    blobs in {os.environ['ACADEMAIL_BLOB_URL']} (moto's S3 server, own process {moto.pid})")
        took = c.migrate()
        c.setup_django()
        print(f"setup    home {home}; {c.db_label()}; migrate {took:.1f} s")
        started = time.perf_counter()
        addresses = c.create_accounts_checked(args.accounts)
        print(f"setup    {len(addresses)} accounts by check_create_account in {time.perf_counter() - started:.2f} s")
        if args.train:
            train(args.train, addresses)
        started = time.perf_counter()
        items = generate(args, addresses)
        total_bytes = sum(len(i.raw) for i in items)
        with_attachment = sum(b"Content-Transfer-Encoding: base64" in i.raw for i in items)
        print(f"setup    {len(items)} messages generated in {time.perf_counter() - started:.1f} s: "
              f"{c.human_bytes(total_bytes)}, mean {total_bytes / len(items) / 1024:.0f} KiB, "
              f"{with_attachment} with a base64 attachment, "
              f"{sum(len(i.recipients) for i in items)} recipients in all")
        from django.db import connections

        connections.close_all()
        port = c.free_port()
        metrics_ports = [c.free_port() for _ in range(args.server_count)]
        metrics_env = {"ACADEMAIL_METRICS_ALLOW": "127.0.0.1"}
        with contextlib.ExitStack() as stack:
            servers = [
                stack.enter_context(c.smtp_server(
                    port, profile=args.profile, env={**metrics_env, "ACADEMAIL_METRICS_PORT": str(metrics_port)}
                ))
                for metrics_port in metrics_ports
            ]
            # With SO_REUSEPORT the SMTP port answers as soon as the first server
            # listens: wait for each one's own metrics port (opened after its MX).
            for server, metrics_port in zip(servers, metrics_ports, strict=True):
                c.wait_port(metrics_port, server, timeout=120)
            writer_before = [_writer_counters(mp) for mp in metrics_ports]
            load_before = os.getloadavg()[0]
            result = Result()
            send = _senders(args.client, port, items, args.clients, args.per_connection, result)
            cpu_server = sum(c.tree_cpu_seconds(s.pid) for s in servers)
            cpu_main = sum(c.process_cpu_seconds(s.pid) for s in servers)
            pg_before = c.pg_backend_cpu()  # the servers' connections, opened at start-up and kept
            cpu_moto = c.process_cpu_seconds(moto.pid) if moto is not None else 0.0
            cpu_client = time.process_time()
            started = time.perf_counter()
            done = send(600)
            elapsed = time.perf_counter() - started
            cpu_server = sum(c.tree_cpu_seconds(s.pid) for s in servers) - cpu_server
            cpu_main = sum(c.process_cpu_seconds(s.pid) for s in servers) - cpu_main
            cpu_pg = sum(seconds - pg_before.get(pid, 0.0) for pid, seconds in c.pg_backend_cpu().items()
                         if seconds == seconds)  # NaN: the backend ended meanwhile
            cpu_moto = c.process_cpu_seconds(moto.pid) - cpu_moto if moto is not None else 0.0
            cpu_client = time.process_time() - cpu_client
            load_after = os.getloadavg()[0]
            writer_after = [_writer_counters(mp) for mp in metrics_ports]
            writer = {key: sum(a[key] - b[key] for a, b in zip(writer_after, writer_before, strict=True))
                      for key in ("commits", "jobs", "statements")}
            if not done:
                print("clients still running after 600 s: giving up")
                return {"ok": False}
            accepted = len(result.accepted)
            accepted_bytes = sum(len(i.raw) for i, _ in result.accepted)
            ms = [t * 1000 for t in result.data_to_250]
            tx = [t * 1000 for t in result.transaction]
            print(f"result   {accepted} accepted, {len(result.refused)} refused, over {result.connections} "
                  f"connections from {args.clients} clients, in {elapsed:.2f} s")
            print(f"result   {accepted / elapsed:.0f} msg/s accepted ({accepted_bytes / elapsed / 1e6:.1f} MB/s); "
                  f"DATA end -> 250: p50 {c.percentile(ms, 50):.1f} ms, p90 {c.percentile(ms, 90):.1f} ms, "
                  f"p99 {c.percentile(ms, 99):.1f} ms, max {max(ms, default=0):.1f} ms")
            print(f"result   whole transaction (MAIL..250): p50 {c.percentile(tx, 50):.1f} ms, "
                  f"p99 {c.percentile(tx, 99):.1f} ms")
            print(f"cpu      server {cpu_server:.1f} s ({cpu_server / elapsed * 100:.0f} % of one core, "
                  f"{cpu_server * 1000 / max(accepted, 1):.1f} ms/msg: serving process "
                  f"{cpu_main * 1000 / max(accepted, 1):.1f}, worker processes "
                  f"{(cpu_server - cpu_main) * 1000 / max(accepted, 1):.1f}; "
                  f"load average {os.getloadavg()[0]:.1f}), "
                  f"bench senders ({args.client}) {cpu_client:.1f} s ({cpu_client / elapsed * 100:.0f} %, "
                  f"{cpu_client * 1000 / max(accepted, 1):.2f} ms/msg)"
                  + (f", moto S3 server {cpu_moto:.1f} s ({cpu_moto / elapsed * 100:.0f} %)" if moto else ""))
            if cpu_pg:
                print(f"cpu      PostgreSQL backends of the servers {cpu_pg:.1f} s "
                      f"({cpu_pg * 1000 / max(accepted, 1):.1f} ms/msg)")
            print(f"writer   {writer['statements'] / max(accepted, 1):.1f} statements per message "
                  f"(BEGIN/COMMIT and savepoints included), {writer['jobs']:.0f} messages in "
                  f"{writer['commits']:.0f} group commits ({writer['jobs'] / max(writer['commits'], 1):.1f} per commit); "
                  f"load average {load_before:.1f} at the start, {load_after:.1f} at the end")
            for item, error in result.refused[:5]:
                print(f"refused  {item.message_id}: {error}")
            ok = verify(result)
            if blobs == "s3":
                print(f"store    {c.s3_object_count()} objects in the bucket; DB {c.human_bytes(c.db_size_bytes())}")
            else:
                files, apparent, _, _ = c.dir_usage(home / "blobs")
                print(f"disk     {files} blob files, {c.human_bytes(apparent)}; DB {c.human_bytes(c.db_size_bytes())}")
            connections.close_all()
        if not ok or result.refused:
            print("--- server log (tail) ---\n" + c.server_log_tail())
        per_message = 1000 / max(accepted, 1)
        return {
            "ok": ok, "rate": accepted / elapsed, "serving_ms": cpu_main * per_message,
            "workers_ms": (cpu_server - cpu_main) * per_message, "postgres_ms": cpu_pg * per_message,
            "sender_ms": cpu_client * per_message, "servers": args.server_count,
            "statements": writer["statements"] / max(accepted, 1),
            "jobs_per_commit": writer["jobs"] / max(writer["commits"], 1),
            "load_before": load_before, "load_after": load_after,
        }


def filter_ab(args: argparse.Namespace) -> bool:
    """The spam filter's cost to inbound throughput, measured so that the
    machine's drift cancels: two MX servers on one home (same database, same
    accounts, same trained classifiers), ``ACADEMAIL_SPAM_FILTER=0`` and
    ``=1``, both started first; then ``--filter-ab`` pairs of bursts of
    ``--messages`` distinct messages each, one burst to each server in turn
    (off/on, then on/off: a linear drift cancels too), the idle server doing
    nothing meanwhile. A pair's two bursts are a few seconds apart, where
    separate runs were a quarter of a minute apart and this machine's rate
    moves by 10-20 % from one minute to the next. Prints each pair's rates
    and on/off ratio, their median, and each side's median CPU per message
    (serving process, workers); verifies every 250 is stored."""
    pairs, burst = args.filter_ab, args.messages
    if args.database_url:
        raise SystemExit("--filter-ab runs on SQLite: each server gets its own copy of the trained home")
    with c.bench_home(keep=args.keep) as home, tempfile.TemporaryDirectory(prefix="academail-bench-on-") as other:
        took = c.migrate()
        c.setup_django()
        print(f"setup    home {home}; {c.db_label()}; migrate {took:.1f} s")
        addresses = c.create_accounts_checked(args.accounts)
        if args.train:
            train(args.train, addresses)
        args.messages = burst * (2 * pairs + 2)  # a warm-up burst each, then the pairs
        items = generate(args, addresses)
        print(f"setup    {len(items)} messages generated: {pairs} pairs of bursts of {burst}, "
              f"after a warm-up burst of {burst} to each server")
        from django.db import connections

        connections.close_all()
        # SQLite serves one instance per home: the filter-on server gets a
        # copy of this one, made now, trained alike.
        homes = {"off": home, "on": Path(other) / "home"}
        shutil.copytree(home, homes["on"], ignore=shutil.ignore_patterns("*.lock", "*.log"))
        os.environ["ACADEMAIL_SERVE_PROCESSES"] = "1"  # one server receives at a time: each its default workers
        ports = {label: c.free_port() for label in ("off", "on")}
        metrics = {label: c.free_port() for label in ("off", "on")}
        everything = {"off": Result(), "on": Result()}
        figures: dict[str, list[tuple[float, float, float]]] = {"off": [], "on": []}  # rate, serving, workers
        with contextlib.ExitStack() as stack:
            servers = {
                label: stack.enter_context(c.smtp_server(ports[label], env={
                    "ACADEMAIL_HOME": str(homes[label]), "ACADEMAIL_SPAM_FILTER": "1" if label == "on" else "0",
                    "ACADEMAIL_METRICS_ALLOW": "127.0.0.1", "ACADEMAIL_METRICS_PORT": str(metrics[label]),
                }))
                for label in ("off", "on")
            }
            for label, server in servers.items():
                c.wait_port(metrics[label], server, timeout=120)
            chunks = iter(items[i:i + burst] for i in range(0, len(items), burst))

            def one_burst(label: str) -> tuple[float, float, float] | None:
                result = Result()
                send = _senders(args.client, ports[label], next(chunks), args.clients, args.per_connection, result)
                pid = servers[label].pid
                cpu_tree, cpu_main = c.tree_cpu_seconds(pid), c.process_cpu_seconds(pid)
                started = time.perf_counter()
                if not send(600):
                    return None
                elapsed = time.perf_counter() - started
                cpu_tree, cpu_main = c.tree_cpu_seconds(pid) - cpu_tree, c.process_cpu_seconds(pid) - cpu_main
                everything[label].accepted.extend(result.accepted)
                everything[label].refused.extend(result.refused)
                accepted = max(len(result.accepted), 1)
                return len(result.accepted) / elapsed, cpu_main * 1000 / accepted, (cpu_tree - cpu_main) * 1000 / accepted

            for label in ("off", "on"):  # warm-up: worker caches, first connections
                if one_burst(label) is None:
                    print("warm-up did not finish in 600 s")
                    return False
            ratios = []
            for pair in range(pairs):
                order = ("off", "on") if pair % 2 == 0 else ("on", "off")
                got = {}
                for label in order:
                    measured = one_burst(label)
                    if measured is None:
                        print("a burst did not finish in 600 s")
                        return False
                    got[label] = measured
                    figures[label].append(measured)
                ratios.append(got["on"][0] / got["off"][0])
                print(f"pair     {pair + 1:>2} ({order[0]} first): filter off {got['off'][0]:.0f} msg/s "
                      f"(serving {got['off'][1]:.1f}, workers {got['off'][2]:.1f} ms/msg), on {got['on'][0]:.0f} msg/s "
                      f"(serving {got['on'][1]:.1f}, workers {got['on'][2]:.1f} ms/msg): "
                      f"{(ratios[-1] - 1) * 100:+.1f} %; load {os.getloadavg()[0]:.1f}", flush=True)
        ok = verify(everything["off"]) and not everything["off"].refused
        connections.close_all()
        connections["default"].settings_dict["NAME"] = str(homes["on"] / "academail.sqlite3")
        ok = verify(everything["on"]) and not everything["on"].refused and ok
        median = statistics.median(ratios)
        side = {label: [statistics.median(f[i] for f in figures[label]) for i in range(3)] for label in figures}
        print(f"result   filter on vs off, {pairs} pairs of {burst}-message bursts: median {(median - 1) * 100:+.1f} % "
              f"(pairs from {(min(ratios) - 1) * 100:+.1f} to {(max(ratios) - 1) * 100:+.1f} %; "
              f"goal: no worse than -10 %)")
        print(f"result   medians: filter off {side['off'][0]:.0f} msg/s, serving {side['off'][1]:.1f} ms/msg, workers "
              f"{side['off'][2]:.1f}; filter on {side['on'][0]:.0f} msg/s, serving {side['on'][1]:.1f} ms/msg, workers "
              f"{side['on'][2]:.1f}")
        connections.close_all()
        return ok


if __name__ == "__main__":
    sys.exit(main())
