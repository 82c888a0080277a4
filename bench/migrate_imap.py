"""IMAP migration from a local Dovecot (issue 15: 10,000 messages in < 60 s),
beside Dovecot's own migration tool in the same run.

A real Dovecot (tests/dovecot.py) is filled over IMAP (MULTIAPPEND) with
``--messages`` realistic messages (~25 KB, 1 in 50 with a 1 MB attachment)
in INBOX and three folders. Then:

- academail: ``academail migrate-imap`` (a subprocess, as an operator runs
  it) pulls the mailbox over IMAPS into a fresh account; we print messages/s
  and the process's peak memory (VmHWM), then a second run (nothing new:
  the cost of an idempotent re-run);
- the peer: ``doveadm backup -R`` with the ``imapc`` storage (dsync pulling
  over IMAP: Dovecot's documented migration procedure) into a second
  Maildir of the same Dovecot, timed the same way.

    .venv/bin/python bench/migrate_imap.py                    # 10,000 messages
    .venv/bin/python bench/migrate_imap.py --messages 2000
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import _common as c

sys.path.insert(0, str(c.REPO))
from tests.dovecot import Dovecot, running_dovecot  # noqa: E402 (the repository on the path first)

LOGIN, PASSWORD = "hchatelain", "ancien-mot-de-passe"
FOLDERS = ["INBOX", "Sent", "Réunions", "Projets.Élèves & parents"]
FLAGS = [(b"\\Seen",), (b"\\Seen", b"\\Answered"), (), (b"\\Flagged", b"$label1")]


def fill(server: Dovecot, count: int) -> int:
    server.add_user(LOGIN, PASSWORD)
    client = server.client(LOGIN)
    for name in FOLDERS[1:]:
        if not client.folder_exists(name):
            client.create_folder(name)
    rng = random.Random(15)
    start = datetime(2018, 9, 1, 8, tzinfo=UTC)
    total = 0
    batch: list[dict[str, object]] = []
    for i in range(count):
        folder = FOLDERS[0] if i % 2 else FOLDERS[1 + i % 3 if i % 4 else 0]
        raw = c.make_message(rng, to=["helene.chatelain@ancien.fr"], size=25_000,
                             attachment=1_000_000 if i % 50 == 7 else 0, when=start + timedelta(minutes=37 * i))
        total += len(raw)
        batch.append({"folder": folder, "msg": raw, "flags": FLAGS[i % len(FLAGS)],
                      "date": start + timedelta(minutes=37 * i)})
        if len(batch) >= 200 or i == count - 1:
            for name in FOLDERS:
                items = [{k: v for k, v in b.items() if k != "folder"} for b in batch if b["folder"] == name]
                if items:
                    client.multiappend(name, items)
            batch = []
    client.logout()
    return total


def _peak_kib(pid: int, process: subprocess.Popen[bytes]) -> int:
    """The child's VmHWM, read until it exits. Not ru_maxrss: Linux carries
    the forking parent's high-water mark across exec into the child's
    ru_maxrss, and this parent holds the generated messages."""
    peak = 0
    while process.poll() is None:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.02)
    return peak


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


CPU: dict[str, float] = {}  # CPU seconds (user + system) of the last run of each side


def run_ours(server: Dovecot, identifier: str, home: str) -> tuple[float, str, int]:
    """One ``academail migrate-imap`` run: (seconds, its report line, its
    peak RSS in KiB); its CPU time in ``CPU["ours"]`` (the machine may be
    shared: the wall time then says little, the CPU time still does)."""
    secret = os.path.join(home, "old-password")
    with open(secret, "w") as handle:
        handle.write(PASSWORD)
    command = [c.ACADEMAIL, "migrate-imap", "--host", "127.0.0.1", "--port", str(server.imaps),
               "--ca-file", str(server.cert), "--account", identifier, "--source-login", LOGIN,
               "--password-file", secret, "--quiet"]
    started, cpu = time.perf_counter(), _children_cpu()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
        peak = _peak_kib(process.pid, process)
        process.wait()
        spent = time.perf_counter() - started
        CPU["ours"] = _children_cpu() - cpu
        out.seek(0)
        output = out.read().decode()
    if process.returncode:
        raise SystemExit(f"migrate-imap failed: {output}")
    return spent, output.strip().splitlines()[0], peak


def add_large(server: Dovecot, count: int, size: int) -> None:
    """``count`` messages with an attachment of ``size`` bytes, in a new folder."""
    client = server.client(LOGIN)
    client.create_folder("Gros fichiers")
    rng = random.Random(16)
    for _ in range(count):
        client.append("Gros fichiers", c.make_message(rng, to=["helene.chatelain@ancien.fr"], size=size + 10_000,
                                                      attachment=size), flags=(b"\\Seen",))
    client.logout()


def run_peer(server: Dovecot, messages: int) -> float | None:
    """doveadm backup -R from imapc: (seconds) or None when it fails."""
    target = server.root / "dsync-target"
    target.mkdir()
    if os.geteuid() == 0:
        shutil.chown(target, "nobody", "nogroup")
    command = [
        "doveadm", "-c", str(server.config),
        "-o", f"mail_location=maildir:{target}/%u/Maildir", "-o", "imapc_host=127.0.0.1",
        "-o", f"imapc_port={server.imaps}", "-o", "imapc_ssl=imaps", "-o", f"ssl_client_ca_file={server.cert}",
        "-o", f"imapc_user={LOGIN}", "-o", f"imapc_password={PASSWORD}", "-o", "imapc_features=rfc822.size fetch-headers",
        "-o", "mail_prefetch_count=20",
        "backup", "-R", "-u", LOGIN, "imapc:",
    ]
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    spent = time.perf_counter() - started
    # doveadm's own CPU; the Dovecot imap process serving it is not its child (as for ours).
    CPU["peer"] = _children_cpu() - cpu
    if done.returncode:
        print(f"peer     doveadm backup failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        return None
    copied = sum(len(files) for path, _dirs, files in os.walk(target) if path.endswith(("/cur", "/new")))
    print(f"peer     doveadm backup -R imapc: {copied} messages in Maildir")
    return spent if copied >= messages else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=3, help="then this many messages of --large-mb each")
    parser.add_argument("--large-mb", type=int, default=40)
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]")
    args = parser.parse_args()
    c.banner(f"bench/migrate_imap.py: migrate {args.messages} messages from a local Dovecot")
    with c.django_home(args.database_url) as (home, _took), running_dovecot() as server:
        version = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip()
        started = time.perf_counter()
        size = fill(server, args.messages)
        print(f"source   Dovecot {version}: {args.messages} messages, {c.human_bytes(size)}, "
              f"filled in {time.perf_counter() - started:.0f} s")
        account = c.bench_account(unlimited=True)
        print(f"database {c.db_label()}; {c.machine_label()}")
        ours, line, peak = run_ours(server, account.identifier, str(home))
        ours_cpu = CPU["ours"]
        print(f"academail {line}")
        again, line2, _peak = run_ours(server, account.identifier, str(home))
        print(f"academail (re-run) {line2}")
        theirs = run_peer(server, args.messages)
        large_peak = 0
        if args.large:
            add_large(server, args.large, args.large_mb * 1024 * 1024)
            _spent, line3, large_peak = run_ours(server, account.identifier, str(home))
            print(f"academail (+{args.large} x {args.large_mb} MB) {line3}")
        print()
        print(f"  {'':34} {'academail':>12} {'doveadm backup':>15} {'peer/ours':>9}")
        peer = f"{theirs:.1f} s" if theirs else "-"
        ratio = f"{theirs / ours:.2f}x" if theirs else "-"
        print(f"  {'wall time (goal < 60 s at 10,000)':34} {ours:>10.1f} s {peer:>15} {ratio:>7}")
        rate_peer = f"{args.messages / theirs:.0f}" if theirs else "-"
        print(f"  {'messages/s':34} {args.messages / ours:>12.0f} {rate_peer:>15}")
        peer_cpu = f"{CPU['peer']:.1f} s" if theirs else "-"
        print(f"  {'CPU of the copying process':34} {ours_cpu:>10.1f} s {peer_cpu:>15}")
        print(f"  {'load average (1, 5, 15 min)':34} {' '.join(f'{x:.1f}' for x in os.getloadavg()):>12}")
        print(f"  {'re-run, nothing new':34} {again:>10.1f} s")
        print(f"  {'peak memory (VmHWM)':34} {peak / 1024:>9.0f} MiB")
        if args.large:
            label = f"peak memory, {args.large} x {args.large_mb} MB"
            print(f"  {label:34} {large_peak / 1024:>9.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
