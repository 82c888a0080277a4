"""SMTP submission through the outbound queue to a loopback sink standing in
for the Internet: 8 concurrent smtplib clients over implicit TLS (465-like
port) with AUTH PLAIN submit M messages of 10–50 KB to remote addresses; the
server DKIM-signs and queues them, its worker relays them to the sink.

    .venv/bin/python bench/submission.py [--messages 800] [--clients 8]
    .venv/bin/python bench/submission.py --database-url postgres://postgres@127.0.0.1:5432

In a fresh ACADEMAIL_HOME: ``academail migrate``, ``academail dkim-keygen``,
N accounts created through ``check_create_account`` with a password set by
``check_set_password`` (Argon2id, as in production: only one sign-in per
connection, so hashing is not what is measured), then ``academail serve
--only smtp,worker`` with ACADEMAIL_OUTBOUND_CAPTURE=0 and
ACADEMAIL_RELAY_HOST pointing at an aiosmtpd sink in this process that counts
what it receives. The sending limits are raised (not disabled) through their
environment variables so they are counted but never hold nor refuse.

Prints messages/s accepted, p50/p99 submission latency (MAIL..250), the time
until the sink has every message (queue throughput), and verifies the DKIM
signature of a sample with dkimpy (the public key given through a dnsfunc).

Goal (issue 3): >= 100 msg/s with DKIM on.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import secrets
import smtplib
import ssl
import string
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import _common as c

REMOTE_DOMAINS = ["exemple-distant.fr", "mairie-exemple.fr", "rectorat-voisin.fr", "entreprise.example"]
HIGH_LIMIT = str(10**9)


@dataclass
class Item:
    sender: int  # index into the accounts
    recipients: list[str]
    raw: bytes


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    accepted: int = 0
    last_250: float = 0.0


class Sink:
    """The Internet: an aiosmtpd server on 127.0.0.1 that counts messages and keeps a sample."""

    def __init__(self, sample: int) -> None:
        from aiosmtpd.controller import Controller

        self.count = 0
        self.recipients = 0
        self.sample: list[bytes] = []
        self.sample_size = sample
        self.last_at = 0.0
        self.lock = threading.Lock()
        self.port = c.free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, data_size_limit=0)
        self.controller.start()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        data = getattr(envelope, "original_content", None) or getattr(envelope, "content", b"")
        with self.lock:
            self.count += 1
            self.recipients += len(getattr(envelope, "rcpt_tos", []))
            self.last_at = time.perf_counter()
            if len(self.sample) < self.sample_size:
                self.sample.append(bytes(data))
        return "250 2.0.0 OK"

    def stop(self) -> None:
        self.controller.stop()


def generate(args: argparse.Namespace, senders: list[str]) -> list[Item]:
    rng = random.Random(args.seed)
    items = []
    for n in range(args.messages):
        sender = n % len(senders)
        count = 1 if rng.random() >= args.multi_share else 2
        recipients = [f"{c.person(rng)[1].split('@')[0]}{n}@{rng.choice(REMOTE_DOMAINS)}" for _ in range(count)]
        size = rng.randint(args.min_kb * 1024, args.max_kb * 1024)
        attachment = int(size * rng.uniform(0.4, 0.8)) * 3 // 4 if rng.random() < args.attachment_share else 0
        raw = c.make_message(rng, to=recipients, size=size, attachment=attachment)
        # The From header must be the account's own address (553/550 otherwise).
        raw = f"From: <{senders[sender]}>".encode() + raw[raw.index(b"\r\n"):]
        items.append(Item(sender, recipients, raw))
    return items


def client(
    port: int, accounts: list[tuple[str, str, str]], work: queue.Queue[Item | None], result: Result,
    lock: threading.Lock,
) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    sessions: dict[int, smtplib.SMTP_SSL] = {}  # one authenticated connection per account this client uses
    try:
        while True:
            item = work.get()
            if item is None:
                return
            identifier, password, address = accounts[item.sender]
            smtp = sessions.get(item.sender)
            if smtp is None:
                smtp = smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=120)
                smtp.ehlo("bench.telephone.example")
                smtp.login(identifier, password)  # AUTH PLAIN over implicit TLS
                sessions[item.sender] = smtp
            started = time.perf_counter()
            try:
                smtp.sendmail(address, item.recipients, item.raw)
            except smtplib.SMTPException as error:
                with lock:
                    result.refused.append(repr(error))
                sessions.pop(item.sender, None)
                continue
            ended = time.perf_counter()
            with lock:
                result.accepted += 1
                result.latencies.append(ended - started)
                result.last_250 = max(result.last_250, ended)
    finally:
        for smtp in sessions.values():
            try:
                smtp.quit()
            except smtplib.SMTPException:
                smtp.close()


def check_dkim(sample: list[bytes]) -> tuple[int, int]:
    import dkim

    from academail.delivery import dkim as ours

    records = dict(ours.dns_records(c.DOMAIN))

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        return records.get(name.decode(), "").encode()

    return sum(bool(dkim.verify(m, dnsfunc=dnsfunc)) for m in sample), len(sample)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=800)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--accounts", type=int, default=16)
    parser.add_argument("--min-kb", type=int, default=10)
    parser.add_argument("--max-kb", type=int, default=50)
    parser.add_argument("--attachment-share", type=float, default=0.3)
    parser.add_argument("--multi-share", type=float, default=0.1, help="share of messages to 2 remote recipients")
    parser.add_argument("--dkim-sample", type=int, default=50)
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]: a fresh database, dropped at the end")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--only", default="smtp,worker", help="services of `academail serve --only`")
    parser.add_argument("--profile", metavar="FILE", help="run the server under cProfile, stats written to FILE")
    parser.add_argument("--keep", action="store_true", help="keep the temporary ACADEMAIL_HOME")
    args = parser.parse_args()

    c.banner("bench/submission.py: submission (465, TLS + AUTH) -> DKIM -> outbound queue -> loopback sink")
    sink = Sink(args.dkim_sample)
    with c.bench_home(args.database_url, keep=args.keep) as home:
        os.environ.update({
            "ACADEMAIL_OUTBOUND_CAPTURE": "0",
            "ACADEMAIL_RELAY_HOST": f"127.0.0.1:{sink.port}",
            "ACADEMAIL_LOG_LEVEL": "WARNING",
            **{f"ACADEMAIL_SEND_LIMIT_{kind}_{window}": HIGH_LIMIT
               for kind in ("SOFT", "HARD") for window in ("MINUTE", "HOUR", "DAY")},
        })
        took = c.migrate()
        keygen = subprocess.run([c.ACADEMAIL, "dkim-keygen", c.DOMAIN], check=True, capture_output=True, text=True)
        c.setup_django()
        record = next((line.strip() for line in keygen.stdout.splitlines() if "_domainkey" in line), "?")
        print(f"setup    home {home}; {c.db_label()}; migrate {took:.1f} s; dkim-keygen: {record[:60]}...")
        print(f"setup    sink on 127.0.0.1:{sink.port} (ACADEMAIL_RELAY_HOST); sending limits raised to {HIGH_LIMIT}")
        from academail.accounts.lifecycle import check_set_password
        from academail.accounts.services import check_create_account

        started = time.perf_counter()
        rng = random.Random(args.seed)
        accounts: list[tuple[str, str, str]] = []
        for i in range(args.accounts):
            account = check_create_account(
                first_name=rng.choice(c.FIRST_NAMES), last_name=rng.choice(c.LAST_NAMES),
                numen=c.numen(i), status="active",
            )
            password = "".join(secrets.choice(string.ascii_letters) for _ in range(16)) + "-Q7!"  # no "19xx"/"20xx"
            check_set_password(account, password)
            accounts.append((account.identifier, password, account.address))
        print(f"setup    {len(accounts)} accounts by check_create_account + check_set_password "
              f"(Argon2id, the production hasher: no fast hasher needed) in {time.perf_counter() - started:.1f} s")
        items = generate(args, [a[2] for a in accounts])
        total_bytes = sum(len(i.raw) for i in items)
        print(f"setup    {len(items)} messages, {c.human_bytes(total_bytes)}, "
              f"mean {total_bytes / len(items) / 1024:.0f} KiB, {sum(len(i.recipients) for i in items)} remote recipients")
        from django.db import connections

        connections.close_all()

        env = os.environ.copy()
        ports = {name: c.free_port() for name in ("SMTP", "SUBMISSION", "SUBMISSIONS")}
        env.update({f"ACADEMAIL_{name}_PORT": str(port) for name, port in ports.items()})
        env["ACADEMAIL_BIND"] = "127.0.0.1"
        log = open(Path(home) / "serve.log", "wb")
        command = [c.ACADEMAIL, "serve", "--only", args.only]
        if args.profile:
            command = [sys.executable, "-m", "cProfile", "-o", args.profile, *command]
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        ok = False
        try:
            c.wait_port(ports["SUBMISSIONS"], server)
            # Each client takes the messages of "its" accounts, so it keeps one connection per account.
            per_client: list[queue.Queue[Item | None]] = [queue.Queue() for _ in range(args.clients)]
            for item in items:
                per_client[item.sender % args.clients].put(item)
            for q in per_client:
                q.put(None)
            result = Result()
            lock = threading.Lock()
            threads = [
                threading.Thread(target=client, args=(ports["SUBMISSIONS"], accounts, q, result, lock), daemon=True)
                for q in per_client
            ]
            cpu_server = c.process_cpu_seconds(server.pid)
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=600)
            elapsed = result.last_250 - started
            ms = [t * 1000 for t in result.latencies]
            print(f"result   {result.accepted} accepted, {len(result.refused)} refused, {args.clients} clients, "
                  f"in {elapsed:.2f} s")
            print(f"result   submission: {result.accepted / elapsed:.0f} msg/s accepted "
                  f"({sum(len(i.raw) for i in items) / elapsed / 1e6:.1f} MB/s); latency MAIL..250 "
                  f"p50 {c.percentile(ms, 50):.1f} ms, p99 {c.percentile(ms, 99):.1f} ms, max {max(ms, default=0):.1f} ms")
            expected = sum(len({r.rpartition('@')[2] for r in i.recipients}) for i in items[: result.accepted]) \
                if not result.refused else None
            deadline = time.perf_counter() + args.drain_timeout
            while time.perf_counter() < deadline:
                with sink.lock:
                    done = sink.recipients >= sum(len(i.recipients) for i in items) and not result.refused
                if done or server.poll() is not None:
                    break
                time.sleep(0.05)
            with sink.lock:
                received, recipients, last_at = sink.count, sink.recipients, sink.last_at
            whole = last_at - started if last_at else float("nan")
            print(f"result   sink: {received} SMTP transactions ({expected} expected), {recipients} recipients, "
                  f"all in {whole:.2f} s from the first submission "
                  f"({received / whole:.0f} msg/s through the queue), "
                  f"{max(0.0, last_at - result.last_250):.2f} s after the last 250")
            cpu_server = c.process_cpu_seconds(server.pid) - cpu_server
            print(f"cpu      server {cpu_server:.1f} s ({cpu_server / whole * 100:.0f} % of one core)")
            good, sampled = check_dkim(sink.sample)
            print(f"dkim     {good}/{sampled} sampled messages verify with dkimpy (d={c.DOMAIN})")
            for error in result.refused[:5]:
                print(f"refused  {error}")
            ok = (not result.refused and recipients == sum(len(i.recipients) for i in items)
                  and good == sampled > 0)
            print("verify   OK" if ok else "verify   MISMATCH")
        finally:
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(timeout=10)
            log.close()
            sink.stop()
            connections.close_all()
        if not ok:
            print("--- server log (tail) ---\n" + c.server_log_tail())
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
