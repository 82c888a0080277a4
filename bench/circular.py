"""A circular: one 50 KB message to 10,000 recipients in ONE SMTP transaction
through the real MX (``academail serve --only smtp``).

    .venv/bin/python bench/circular.py [--recipients 10000] [--client pipelined|smtplib]
    .venv/bin/python bench/circular.py --database-url postgres://postgres@127.0.0.1:5432
    .venv/bin/python bench/circular.py --same-address   # 10,000 RCPTs of ONE address

Prints the time from MAIL FROM to the final 250, the DATA phase alone (DATA
command to the final 250), the blob directory on disk against one copy of the
message, and the database growth. Account creation is timed separately and is
not part of the figure.

The default client pipelines its commands (RFC 2920, as Postfix does: MAIL and
RCPTs are sent in windows of --window commands before reading the replies);
``--client smtplib`` waits for each RCPT reply in turn. The MX resolves the
RCPT lines waiting in its input buffer together (``smtp.mx.RCPT_PREFETCH``), so
the pipelined client measures that batched path and ``--client smtplib`` the
one-lookup-per-RCPT path.

Goals (BENCHMARKS.md): 2,000 recipients <= 2 s, 10,000 <= 30 s; blobs: one copy.
"""

from __future__ import annotations

import argparse
import os
import random
import smtplib
import socket
import subprocess
import sys
import time

import _common as c

SENDER = "secretariat.rectorat@ac-demo.fr"


class PipelinedClient:
    """A minimal ESMTP client that pipelines MAIL and RCPT (RFC 2920)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=300)
        self.reader = self.sock.makefile("rb")
        self.reply()  # banner
        self.command(b"EHLO bench.ac-demo.fr")

    def reply(self) -> tuple[int, bytes]:
        lines = []
        while True:
            line = self.reader.readline(4096)
            if not line:
                raise ConnectionError("server closed the connection")
            lines.append(line)
            if line[3:4] != b"-":
                return int(line[:3]), b"".join(lines)

    def command(self, line: bytes) -> tuple[int, bytes]:
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def transaction(self, size: int, recipients: list[str], raw: bytes, window: int) -> dict[str, float | int]:
        started = time.perf_counter()
        commands = [f"MAIL FROM:<{SENDER}> SIZE={size} BODY=8BITMIME".encode()]
        commands += [f"RCPT TO:<{r}>".encode() for r in recipients]
        refused = 0
        for start in range(0, len(commands), window):
            chunk = commands[start : start + window]
            self.sock.sendall(b"\r\n".join(chunk) + b"\r\n")
            for index in range(len(chunk)):
                code, text = self.reply()
                if code != 250:
                    if start + index == 0:
                        raise RuntimeError(f"MAIL refused: {text!r}")
                    refused += 1
        rcpt_done = time.perf_counter()
        code, text = self.command(b"DATA")
        if code != 354:
            raise RuntimeError(f"DATA refused: {text!r}")
        data_started = rcpt_done
        body = raw.replace(b"\r\n.", b"\r\n..")
        if body.startswith(b"."):
            body = b"." + body
        self.sock.sendall(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        sent = time.perf_counter()
        code, text = self.reply()
        ended = time.perf_counter()
        if code != 250:
            raise RuntimeError(f"message refused after DATA: {text!r}")
        return {"total": ended - started, "rcpt": rcpt_done - started, "data": ended - data_started,
                "data_end_to_250": ended - sent, "refused": refused, "reply": text.decode().strip()}

    def close(self) -> None:
        try:
            self.command(b"QUIT")
        finally:
            self.reader.close()
            self.sock.close()


def smtplib_transaction(port: int, recipients: list[str], raw: bytes) -> dict[str, float | int]:
    with smtplib.SMTP("127.0.0.1", port, timeout=300) as smtp:
        smtp.ehlo("bench.ac-demo.fr")
        started = time.perf_counter()
        code, text = smtp.mail(SENDER, [f"SIZE={len(raw)}", "BODY=8BITMIME"])
        if code != 250:
            raise RuntimeError(f"MAIL refused: {text!r}")
        refused = sum(smtp.rcpt(r)[0] != 250 for r in recipients)
        rcpt_done = time.perf_counter()
        code, text = smtp.data(raw)
        ended = time.perf_counter()
        if code != 250:
            raise RuntimeError(f"message refused after DATA: {text!r}")
        return {"total": ended - started, "rcpt": rcpt_done - started, "data": ended - rcpt_done,
                "data_end_to_250": float("nan"), "refused": refused, "reply": f"{code} {text.decode().strip()}"}


def du(path: str) -> tuple[int, int]:
    """(``du -s`` in bytes, ``du -sb`` apparent bytes) of a directory (0, 0 if absent)."""
    if not os.path.isdir(path):
        return 0, 0
    allocated = subprocess.run(["du", "-s", "--block-size=1", path], capture_output=True, text=True, check=True)
    apparent = subprocess.run(["du", "-sb", path], capture_output=True, text=True, check=True)
    return int(allocated.stdout.split()[0]), int(apparent.stdout.split()[0])


def circular_message(size: int, recipients_shown: str) -> bytes:
    rng = random.Random(42)
    return c.make_message(
        rng,
        to=[recipients_shown],
        size=size,
        attachment=size // 2 * 3 // 4,
        subject_text="Circulaire de rentrée : organisation des conseils de classe et réunions parents-professeurs",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--size-kb", type=int, default=50)
    parser.add_argument("--client", choices=["pipelined", "smtplib"], default="pipelined")
    parser.add_argument("--window", type=int, default=500, help="pipelined client: commands sent before reading replies")
    parser.add_argument("--accounts", choices=["bulk", "checked"], default="bulk",
                        help="bulk: Account.bulk_create + do_provision_account in one transaction; "
                        "checked: check_create_account per account (slow)")
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]: a fresh database, dropped at the end")
    parser.add_argument("--profile", metavar="FILE", help="run the server under cProfile, stats written to FILE")
    parser.add_argument("--keep", action="store_true", help="keep the temporary ACADEMAIL_HOME")
    parser.add_argument("--same-address", action="store_true",
                        help="every RCPT names the same address (repeated RCPTs, answered from the "
                        "transaction's table); one account, one message stored")
    args = parser.parse_args()

    c.banner(f"bench/circular.py: one {args.size_kb} KB message to {args.recipients} recipients, one SMTP transaction")
    with c.django_home(args.database_url, keep=args.keep) as (home, took):
        print(f"setup    home {home}; {c.db_label()}; migrate {took:.1f} s")
        started = time.perf_counter()
        create = c.create_accounts_bulk if args.accounts == "bulk" else c.create_accounts_checked
        addresses = create(1 if args.same_address else args.recipients)
        if args.same_address:
            addresses = addresses * args.recipients
        took = time.perf_counter() - started
        print(f"setup    {len(addresses)} accounts ({args.accounts}) in {took:.1f} s "
              f"({len(addresses) / took:.0f}/s; not part of the figure)")
        raw = circular_message(args.size_kb * 1024, "personnels@ac-demo.fr")
        blobs = str(home / "blobs")
        du_before, apparent_before = du(blobs)
        db_before = c.db_size_bytes()
        from django.db import connections

        connections.close_all()
        port = c.free_port()
        with c.smtp_server(port, profile=args.profile) as server:
            cpu = c.process_cpu_seconds(server.pid)
            if args.client == "pipelined":
                client = PipelinedClient(port)
                try:
                    figures = client.transaction(len(raw), addresses, raw, args.window)
                finally:
                    client.close()
            else:
                figures = smtplib_transaction(port, addresses, raw)
            cpu = c.process_cpu_seconds(server.pid) - cpu
            print(f"result   {args.client} client: MAIL FROM -> final 250 {figures['total']:.2f} s "
                  f"(MAIL+RCPT phase {figures['rcpt']:.2f} s = {figures['rcpt'] / len(addresses) * 1e3:.2f} ms/RCPT; "
                  f"DATA phase {figures['data']:.2f} s", end="")
            if figures["data_end_to_250"] == figures["data_end_to_250"]:
                print(f", of which end of DATA -> 250 {figures['data_end_to_250']:.2f} s", end="")
            print(f"); {figures['refused']} RCPT refused; server CPU {cpu:.1f} s")
            print(f"result   reply: {figures['reply']}")

            from academail.store.models import Content, Mailbox, Message

            rows = Message.objects.count()
            contents = list(Content.objects.values_list("refcount", flat=True))
            unread = Mailbox.objects.filter(special_use="inbox", messages=1, unseen=1).count()
            stored = len(set(addresses))  # a repeated RCPT is delivered once
            ok = rows == stored and contents == [stored] and unread == stored
            print(f"verify   {rows} Message rows, Content refcounts {contents}, {unread} INBOX counters at 1: "
                  + ("OK" if ok else "MISMATCH"))
            du_after, apparent_after = du(blobs)
            files, file_bytes, file_alloc, _ = c.dir_usage(home / "blobs")
            one = len(raw)
            print(f"disk     one copy of the message {one} B; blob files: {files}, {file_bytes} B "
                  f"({file_bytes / one:.3f}x), allocated {file_alloc} B ({file_alloc / one:.3f}x)")
            print(f"disk     du -s blobs/ {du_before} -> {du_after} B: +{du_after - du_before} B "
                  f"({(du_after - du_before) / one:.3f}x one copy; directories included); "
                  f"du -sb +{apparent_after - apparent_before} B")
            db_after = c.db_size_bytes()
            print(f"disk     DB {c.human_bytes(db_before)} -> {c.human_bytes(db_after)}: "
                  f"+{c.human_bytes(db_after - db_before)} "
                  f"({(db_after - db_before) / len(addresses):.0f} B per recipient)")
            connections.close_all()
        if not ok:
            print("--- server log (tail) ---\n" + c.server_log_tail())
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
