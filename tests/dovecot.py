"""A real Dovecot (Debian's dovecot-imapd) as "the previous platform" of a
migration: started on free loopback ports with its own configuration
directory, Maildirs under a temporary directory, a passwd-file of users and
one of master users (``owner*master`` and SASL PLAIN authzid), TLS with a
throw-away self-signed certificate, and "." as the hierarchy separator, as a
Maildir++ server has it. Used by tests/archive and bench/migrate_imap.py.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
MASTER = "migrateur"
MASTER_PASSWORD = "Maitre-de-migration-2026"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Dovecot:
    root: Path
    imaps: int
    imap: int
    cert: Path
    passwords: dict[str, str] = field(default_factory=dict)
    generation: int = 0

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    def add_user(self, login: str, password: str) -> None:
        """A mailbox user (the passwd-file is read again when it changes)."""
        self.passwords[login] = password
        lines = "".join(f"{name}:{{PLAIN}}{secret}\n" for name, secret in self.passwords.items())
        # Replaced whole (never read half-written), with a new mtime each time,
        # then a pause past the second: Dovecot 2.3 stats a passwd-file at most
        # once per wall-clock second (db-passwd-file.c passwd_file_sync), so a
        # login in the second of an earlier lookup would see the old users.
        fresh = self.root / "users.new"
        fresh.write_text(lines)
        self.generation += 1
        stamp = time.time() + self.generation
        os.utime(fresh, (stamp, stamp))
        os.replace(fresh, self.root / "users")
        time.sleep(1.1)

    def client(self, login: str) -> IMAPClient:
        """Signed in as ``login`` over TLS, to fill or read the mailbox."""
        import ssl

        client = IMAPClient("127.0.0.1", port=self.imaps, ssl=True,
                            ssl_context=ssl.create_default_context(cafile=str(self.cert)), timeout=60)
        client.normalise_times = False
        client.login(login, self.passwords[login])
        return client

    def doveadm(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([DOVEADM, "-c", str(self.config), *args], capture_output=True, text=True,
                              check=True, timeout=600)


def _certificate(root: Path) -> tuple[Path, Path]:
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True,
    )
    return cert, key


def _write_config(server: Dovecot, key: Path) -> None:
    root = server.root
    if os.geteuid() == 0:  # Dovecot never gives mail access as root: the mail belongs to nobody
        mail_user, mail_group, login_user = "nobody", "nogroup", "dovenull"
        internal_user = "dovecot"
    else:
        me = pwd.getpwuid(os.geteuid()).pw_name
        mail_user, mail_group, login_user, internal_user = me, str(os.getegid()), me, me
    (root / "masters").write_text(f"{MASTER}:{{PLAIN}}{MASTER_PASSWORD}\n")
    server.config.write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{server.cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_uid = {mail_user}
mail_gid = {mail_group}
mail_location = maildir:{root}/home/%u/Maildir
namespace inbox {{
  inbox = yes
  separator = .
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
  mailbox Junk {{
    special_use = \\Junk
  }}
}}
passdb {{
  driver = passwd-file
  args = {root}/masters
  master = yes
  pass = yes
}}
passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = static
  args = home={root}/home/%u
}}
protocol imap {{
  mail_max_userip_connections = 200
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {server.imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {server.imaps}
    ssl = yes
  }}
}}
""")


@contextlib.contextmanager
def running_dovecot(parent: Path | None = None) -> Iterator[Dovecot]:
    """A Dovecot on two free ports (imap with STARTTLS, imaps), stopped and
    removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="academail-migration-dovecot-", dir=parent))
    root.chmod(0o755)  # the mail user (nobody when run as root) walks into home/
    (root / "home").mkdir()
    if os.geteuid() == 0:
        shutil.chown(root / "home", "nobody", "nogroup")
    cert, key = _certificate(root)
    server = Dovecot(root, _free_port(), _free_port(), cert)
    server.add_user("placeholder", "placeholder")
    _write_config(server, key)
    # The master daemonizes and keeps its standard streams: no pipe to wait on.
    with (root / "start.log").open("wb") as errors:
        started = subprocess.run([DOVECOT, "-c", str(server.config)], stdin=subprocess.DEVNULL,
                                 stdout=errors, stderr=errors, timeout=60)
    if started.returncode:
        raise RuntimeError(f"dovecot did not start: {(root / 'start.log').read_text()}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", server.imaps), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    raise RuntimeError(f"dovecot did not listen: {log[-2000:]}") from None
                time.sleep(0.1)
        yield server
    finally:
        subprocess.run([DOVECOT, "-c", str(server.config), "stop"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=60)
        pidfile = root / "run" / "master.pid"
        deadline = time.monotonic() + 15
        while pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
