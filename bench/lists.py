"""A post to a directory-fed distribution list of 5,000 local members,
through the real MX (``academail serve --only smtp``): one RCPT (the list's
address), the list expanded at post time from the directory (one indexed
query), one stored content for every member.

    .venv/bin/python bench/lists.py [--members 5000] [--size-kb 50]
    .venv/bin/python bench/lists.py --database-url postgres://postgres@127.0.0.1:5432

Prints MAIL FROM -> final 250 (the 250 comes after every member's copy is
committed: expansion runs inside the transaction that accepts the post),
the Message rows, the Content refcount (members + the archive), and the blob
files on disk against one copy. Account creation is timed separately.

Goal (issue 19): 5,000 local members all delivered in < 3 s, one copy on disk.

``--hand-list``: the same members as a hand-managed list that lets them
leave, served over HTTPS, so each copy carries its own RFC 8058 one-click
link (``lists.unsubscribe``: one signed token and one per-copy prefix per
member, still one stored content); the difference with a directory run is
the cost of the per-member links.

Peer, in the same run: Debian's Dovecot LMTP server (``dovecot-lmtpd``, the
last leg of Postfix + Mailman + Dovecot) given the same expansion as one LMTP
transaction of 5,000 RCPTs into Maildirs, MAIL FROM to the last per-recipient
reply, and its disk use (Dovecot hard-links the copies). The Postfix +
Dovecot LMTP circular of BENCHMARKS.md (2,000 recipients in 5.5 s) is printed
too, scaled. ``--no-peer`` skips the Dovecot leg.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import _common as c

SENDER = "secretariat.rectorat@ac-demo.fr"
UAI = "0341234X"
LIST = "profs.0341234x@ac-demo.fr"
PEER_RECIPIENTS, PEER_SECONDS, PEER_DISK = 2_000, 5.5, 2.1 * 1024 * 1024  # BENCHMARKS.md, Postfix + Dovecot LMTP


@contextlib.contextmanager
def dovecot_lmtp() -> Iterator[tuple[int, Path]]:
    """Dovecot with only its LMTP service on a free loopback port, any
    recipient accepted (static userdb), Maildirs under a temporary directory;
    stopped and removed afterwards. Yields (port, the homes' directory)."""
    root = Path(tempfile.mkdtemp(prefix="academail-bench-lmtp-"))
    root.chmod(0o755)
    homes = root / "home"
    homes.mkdir()
    if os.geteuid() == 0:  # Dovecot never writes mail as root
        shutil.chown(homes, "nobody", "nogroup")
        user, group, internal = "nobody", "nogroup", "dovecot"
    else:
        import pwd

        user = internal = pwd.getpwuid(os.geteuid()).pw_name
        group = str(os.getegid())
    port = c.free_port()
    config = root / "dovecot.conf"
    config.write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
default_internal_user = {internal}
default_login_user = {internal}
first_valid_uid = 1
mail_location = maildir:{homes}/%u/Maildir
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={homes}/%u allow_all_users=yes
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {port}
  }}
}}
""")
    dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
    subprocess.run([dovecot, "-c", str(config)], check=True, timeout=60, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                import socket

                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("dovecot lmtp did not listen") from None
                time.sleep(0.1)
        yield port, homes
    finally:
        subprocess.run([dovecot, "-c", str(config), "stop"], check=False, timeout=60, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        shutil.rmtree(root, ignore_errors=True)


def lmtp_transaction(port: int, recipients: list[str], raw: bytes) -> int:
    """One LMTP transaction (RFC 2033), commands pipelined; after the data,
    one reply per accepted recipient (§4.2: smtplib reads only the first).
    Returns how many recipients were refused."""
    import socket

    sock = socket.create_connection(("127.0.0.1", port), timeout=900)
    reader = sock.makefile("rb")

    def reply() -> int:
        while True:
            line = reader.readline(4096)
            if not line:
                raise ConnectionError("LMTP server closed the connection")
            if line[3:4] != b"-":
                return int(line[:3])

    reply()  # greeting
    sock.sendall(b"LHLO bench.ac-demo.fr\r\n")
    reply()
    commands = [f"MAIL FROM:<{SENDER}>".encode()] + [f"RCPT TO:<{r}>".encode() for r in recipients]
    sock.sendall(b"\r\n".join(commands) + b"\r\n")
    codes = [reply() for _ in commands]
    accepted = sum(1 for code in codes[1:] if code == 250)
    sock.sendall(b"DATA\r\n")
    if reply() != 354:
        raise RuntimeError("LMTP DATA refused")
    body = raw.replace(b"\r\n.", b"\r\n..")
    sock.sendall(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
    failed = sum(1 for _ in range(accepted) if reply() != 250)
    sock.sendall(b"QUIT\r\n")
    sock.close()
    return len(recipients) - accepted + failed


def dovecot_peer(addresses: list[str], raw: bytes) -> None:
    """The same expansion delivered by Dovecot's LMTP server: one transaction,
    every member a RCPT; prints the time and the disk it took."""
    if not (shutil.which("dovecot") or os.path.exists("/usr/sbin/dovecot")) or not os.path.exists(
        "/usr/lib/dovecot/lmtp"
    ):
        print("peer     Dovecot LMTP not installed (make system-deps: dovecot-lmtpd): skipped")
        return
    with dovecot_lmtp() as (port, homes):
        started = time.perf_counter()
        refused = lmtp_transaction(port, addresses, raw)
        took = time.perf_counter() - started
        files, file_bytes, file_alloc, _ = c.dir_usage(homes)
        du = subprocess.run(["du", "-s", "--block-size=1", str(homes)], capture_output=True, text=True, check=True)
        print(f"peer     Dovecot LMTP (this run), one transaction of {len(addresses)} RCPTs into Maildirs: "
              f"{took:.2f} s = {len(addresses) / took:.0f} members/s; refused {refused or 'none'}; "
              f"files {files} ({c.human_bytes(file_bytes)} apparent), du -s {c.human_bytes(int(du.stdout.split()[0]))} "
              f"(hard links counted once, directories and indexes included)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--size-kb", type=int, default=50)
    parser.add_argument("--database-url", help="postgres://user@host:port[/newdb]: a fresh database, dropped at the end")
    parser.add_argument("--keep", action="store_true", help="keep the temporary ACADEMAIL_HOME")
    parser.add_argument("--no-peer", action="store_true", help="skip the Dovecot LMTP leg")
    parser.add_argument("--hand-list", action="store_true",
                        help="a hand list members may leave: a one-click unsubscribe link (RFC 8058) per copy")
    args = parser.parse_args()
    kind = "hand list with one-click unsubscribe" if args.hand_list else "directory list"
    if args.hand_list:
        os.environ["ACADEMAIL_PUBLIC_URL"] = "https://mail.ac-demo.fr"  # RFC 8058 §3.1: links only over HTTPS

    c.banner(f"bench/lists.py: one {args.size_kb} KB post to a {kind} of {args.members} local members")
    with c.django_home(args.database_url, keep=args.keep) as (home, took):
        print(f"setup    home {home}; {c.db_label()}; migrate {took:.1f} s")
        started = time.perf_counter()
        addresses = c.create_accounts_bulk(args.members)
        from academail.accounts.models import Account
        from academail.lists.models import Kind, MailingList, Post, Posting, Sender

        Account.objects.filter(address__in=addresses).update(uai=UAI, function="teacher")
        if args.hand_list:
            from academail.lists.models import Member

            profs = MailingList.objects.create(address=LIST, name="Tous les professeurs du collège",
                                               kind=Kind.MANUAL, posting=Posting.SENDERS, allow_unsubscribe=True)
            Member.objects.bulk_create(
                Member(mailing_list=profs, address=address, account_id=account_id)
                for address, account_id in Account.objects.filter(address__in=addresses).values_list("address", "pk"))
        else:
            profs = MailingList.objects.create(
                address=LIST, name="Tous les professeurs du collège", kind=Kind.DIRECTORY, dir_uai=UAI,
                dir_function="teacher", posting=Posting.SENDERS,
            )
        Sender.objects.create(mailing_list=profs, address=SENDER)
        took = time.perf_counter() - started
        print(f"setup    {len(addresses)} accounts (bulk) of {UAI}, teachers, and the list in {took:.1f} s "
              "(not part of the figure)")
        raw = c.make_message(random.Random(42), to=[LIST], size=args.size_kb * 1024,
                             attachment=args.size_kb * 1024 // 2 * 3 // 4,
                             subject_text="Réunion de pré-rentrée : organisation et emplois du temps")
        # Written by the list's named sender (the list checks the From address).
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"from:")]
        raw = b"\r\n".join([f"From: Rectorat <{SENDER}>".encode(), *lines]) + b"\r\n\r\n" + body
        db_before = c.db_size_bytes()
        from django.db import connections

        connections.close_all()
        port = c.free_port()
        with c.smtp_server(port) as server:
            cpu = c.process_cpu_seconds(server.pid)
            with smtplib.SMTP("127.0.0.1", port, timeout=300) as client:
                client.ehlo("bench.ac-demo.fr")
                started = time.perf_counter()
                refused = client.sendmail(SENDER, [LIST], raw)
                took = time.perf_counter() - started
            cpu = c.process_cpu_seconds(server.pid) - cpu
            print(f"result   MAIL FROM -> final 250 (every member's copy committed): {took:.2f} s "
                  f"= {args.members / took:.0f} members/s; refused {refused or 'none'}; server CPU {cpu:.1f} s; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPU")

            from academail.store.models import Content, Message

            rows = Message.objects.count()
            contents = list(Content.objects.values_list("refcount", flat=True))
            post = Post.objects.filter(mailing_list=profs).first()
            if post is None:
                print("verify   no post recorded: refused (see the server log)")
                print("--- server log (tail) ---\n" + c.server_log_tail())
                return 1
            ok = rows == args.members and contents == [args.members + 1] and post.local_count == args.members
            if args.hand_list:
                prefixes = [bytes(p) for p in Message.objects.values_list("prefix", flat=True)[:100]]
                links = {p.split(b"List-Unsubscribe: ", 1)[1].split(b"\r\n", 1)[0] for p in prefixes
                         if b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in p}
                print(f"verify   one-click links: {len(links)} distinct in {len(prefixes)} copies sampled")
                ok = ok and len(links) == len(prefixes)
            print(f"verify   {rows} Message rows, Content refcounts {contents} (members + the archive), "
                  f"post {post.status}, {post.local_count} local copies: " + ("OK" if ok else "MISMATCH"))
            files, file_bytes, file_alloc, _ = c.dir_usage(home / "blobs")
            print(f"disk     one copy of the message {len(raw)} B; blob files: {files}, {file_bytes} B "
                  f"({file_bytes / len(raw):.3f}x)")
            db_after = c.db_size_bytes()
            print(f"disk     DB +{c.human_bytes(db_after - db_before)} "
                  f"({(db_after - db_before) / args.members:.0f} B per member)")
            peer_rate = PEER_RECIPIENTS / PEER_SECONDS
            print(f"peer     Postfix + Dovecot LMTP, circular 50 KB to {PEER_RECIPIENTS} (BENCHMARKS.md, not this run): "
                  f"{PEER_SECONDS} s = {peer_rate:.0f} recipients/s -> {args.members / peer_rate:.1f} s for "
                  f"{args.members}; {c.human_bytes(PEER_DISK)} on disk (hard links)")
            print(f"goal     < 3 s, one copy: {'met' if ok and took < 3 and files == 1 else 'NOT met'}")
            connections.close_all()
        if not args.no_peer:
            dovecot_peer(addresses, raw)
        if not ok:
            print("--- server log (tail) ---\n" + c.server_log_tail())
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
