"""Backups that restore (issue 21): ``academail backup`` while the MX is
delivering, then ``academail restore`` into a fresh ACADEMAIL_HOME. Every
message acknowledged (250) before the backup started is in the restored
installation, with its flags and its blob; the keys came back too. All through
the real command (subprocesses, SQLite, a real SMTP client)."""

from __future__ import annotations

import json
import smtplib
import subprocess
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from tests.servers import free_port
from tests.serving import academail, academail_env, running

pytestmark = pytest.mark.e2e

MAKE_ACCOUNT = """
from academail.accounts.models import Status
from academail.accounts.services import check_create_account
person = check_create_account(first_name="Julie", last_name="Martin", numen="11E9501234ABC", status=str(Status.ACTIVE))
print(person.address)
"""

# Flags the first ten messages of the inbox \\Seen and \\Flagged, the way IMAP STORE does.
SET_FLAGS = """
from academail.store.messages import do_set_flags, inbox_ids
from academail.store.models import Flag
from academail.accounts.models import Account
account = Account.objects.get()
do_set_flags(account.pk, inbox_ids([account.pk])[account.pk], [(1, 10)], mode="add", flags=Flag.SEEN | Flag.FLAGGED)
"""

REPORT = """
import hashlib, json
from academail.accounts.models import Account
from academail.store.blobs import blob_store
from academail.store.messages import inbox_ids
from academail.store.models import Message
account = Account.objects.get()
rows = Message.objects.filter(mailbox_id=inbox_ids([account.pk])[account.pk]).select_related("content")
out = {}
for m in rows:
    data = blob_store().get(m.content.sha256)
    out[m.content.message_id] = {"flags": m.flags, "blob_ok": hashlib.sha256(data).hexdigest() == m.content.sha256}
print(json.dumps(out))
"""


def _message(n: int, to: str) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = "expediteur@exemple.fr"
    message["To"] = to
    message["Subject"] = f"Message {n}"
    message["Message-ID"] = f"<sauvegarde-{n}@exemple.fr>"
    message.set_content(f"Corps du message {n}.\n" + "x" * (2000 + n))
    return message


def _shell(env: dict[str, str], code: str) -> str:
    done = subprocess.run(academail("manage", "shell", "-c", code), env=env, check=True, timeout=120,
                          capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def test_backup_while_delivering_restores_every_acknowledged_message(tmp_path: Path) -> None:
    port = free_port()
    home = tmp_path / "home"
    env = academail_env(home, ACADEMAIL_SMTP_PORT=str(port), ACADEMAIL_INBOUND_CHECKS="0",
                        ACADEMAIL_SPAM_FILTER="0")
    subprocess.run(academail("migrate", "-v", "0"), env=env, check=True, timeout=300)
    address = _shell(env, MAKE_ACCOUNT)
    acked: list[tuple[float, str]] = []  # (time of the 250, Message-ID)
    stop = threading.Event()
    errors: list[BaseException] = []

    def deliver(first: int, count: int | None = None) -> None:
        n = first
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            while (count is None and not stop.is_set()) or (count is not None and n < first + count):
                message = _message(n, address)
                client.send_message(message, from_addr="expediteur@exemple.fr", to_addrs=[address])
                acked.append((time.monotonic(), message["Message-ID"]))
                n += 1

    def deliver_until_stopped() -> None:
        try:
            deliver(1000)
        except BaseException as error:  # noqa: BLE001 (reported by the test below)
            errors.append(error)

    with running(["serve", "--only", "smtp"], env, tmp_path / "server.log", ready=b"academail ready"):
        deliver(1, 20)
        _shell(env, SET_FLAGS)
        sender = threading.Thread(target=deliver_until_stopped)
        sender.start()
        while len(acked) < 30:  # the live delivery is under way
            time.sleep(0.05)
        started = time.monotonic()
        backup = subprocess.run(academail("backup", str(tmp_path / "backup")), env=env, timeout=300,
                                capture_output=True, text=True)
        while len(acked) < sum(1 for t, _ in acked if t <= started) + 5:  # and goes on after
            time.sleep(0.05)
        stop.set()
        sender.join(60)
    assert not errors, errors
    assert backup.returncode == 0, backup.stderr
    assert "protégez-la" in backup.stdout
    assert (tmp_path / "backup").stat().st_mode & 0o777 == 0o700
    before = {mid for t, mid in acked if t <= started}
    assert len(before) >= 30

    # Never over an existing installation.
    refused = subprocess.run(academail("restore", str(tmp_path / "backup")), env=env, timeout=120,
                             capture_output=True, text=True)
    assert refused.returncode == 1 and "n'est pas vide" in refused.stderr

    fresh = tmp_path / "fresh"
    env2 = academail_env(fresh)
    restored = subprocess.run(academail("restore", str(tmp_path / "backup")), env=env2, timeout=300,
                              capture_output=True, text=True)
    assert restored.returncode == 0, restored.stderr
    found = json.loads(_shell(env2, REPORT))
    assert before <= set(found), sorted(before - set(found))
    assert all(entry["blob_ok"] for entry in found.values())
    for n in range(1, 21):
        flags = found[f"<sauvegarde-{n}@exemple.fr>"]["flags"]
        assert flags == (5 if n <= 10 else 0), (n, flags)  # \\Seen|\\Flagged on the first ten
    for key in ("secret_key", "numen_key", "srs_secret"):
        assert (fresh / key).read_text() == (home / key).read_text()
    # Messages delivered after the backup are not in it: it is a snapshot, not a mirror.
    assert len(found) < len(acked)
