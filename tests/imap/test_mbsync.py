"""A real two-way sync with mbsync (isync) over implicit TLS, the certificate
checked by name (``localhost``) against the server's own certificate: pull the
INBOX and "Envoyés" into a Maildir, push a flag changed locally, pull a new
delivery, and see a server-side expunge remove the local file.

mbsync is a system package (Debian ``isync``): this test fails, it does not
skip, when it is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from academail.store.imap import append_messages
from academail.store.messages import do_expunge, do_set_flags
from academail.store.models import Flag, Mailbox, Message
from tests.conftest import build_message
from tests.imap.conftest import PASSWORD
from tests.imap.helpers import deliver_to

pytestmark = pytest.mark.e2e

SENT_WIRE = "Envoy&AOk-s"  # "Envoyés" in modified UTF-7 (RFC 3501 §5.1.3); isync 1.4 keeps it as is


def _config(tmp: Path, port: int, user: str) -> Path:
    maildir = tmp / "Mail"
    maildir.mkdir()
    config = tmp / "mbsyncrc"
    config.write_text(
        f"""IMAPAccount academail
Host localhost
Port {port}
User "{user}"
Pass "{PASSWORD}"
SSLType IMAPS
CertificateFile {settings.TLS_CERT_FILE}
AuthMechs PLAIN
Timeout 20

IMAPStore remote
Account academail

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel academail
Far :remote:
Near :local:
Patterns INBOX "{SENT_WIRE}"
Create Near
Sync All
Expunge Both
SyncState *
""",
        encoding="utf-8",
    )
    return config


def _mbsync(config: Path) -> str:
    binary = shutil.which("mbsync")
    assert binary, "mbsync is missing: apt-get install isync (make system-deps)"
    result = subprocess.run(
        [binary, "-c", str(config), "-a"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "HOME": str(config.parent)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _files(folder: Path) -> list[Path]:
    return sorted((folder / "cur").iterdir()) + sorted((folder / "new").iterdir())


def test_mbsync_two_way_sync(imap, user, tmp_path):
    for subject in ("Conseil de classe", "Réunion parents-profs"):
        deliver_to(user, subject=subject)
    sent = Mailbox.objects.get(account=user, special_use="sent")
    inbox = Mailbox.objects.get(account=user, special_use="inbox")
    append_messages(user.pk, sent.name, [(build_message(subject="Envoyé hier"), Flag.SEEN, "", None)])

    config = _config(tmp_path, imap.tls_port, user.identifier)
    _mbsync(config)
    local_inbox = tmp_path / "Mail" / "INBOX"
    local_sent = tmp_path / "Mail" / SENT_WIRE
    assert len(_files(local_inbox)) == 2
    (sent_file,) = _files(local_sent)
    assert b"Subject:" in sent_file.read_bytes() and b"Envoy" in sent_file.read_bytes()
    assert sent_file.name.endswith(":2,S")  # \Seen pulled as the Maildir S flag

    # Flag a message locally (Maildir info "F" and "S"), push.
    first = _files(local_inbox)[0]
    base = first.name.split(":2,")[0]
    flagged = first.with_name(base + ":2,FS")
    first.rename(first.parent.parent / "cur" / flagged.name)
    _mbsync(config)
    rows = {m.uid: m.flags for m in Message.objects.filter(mailbox=inbox)}
    assert sum(1 for f in rows.values() if f & Flag.FLAGGED and f & Flag.SEEN) == 1

    # A flag set on the server comes down too.
    other_uid = next(uid for uid, f in rows.items() if not f & Flag.FLAGGED)
    do_set_flags(user.pk, inbox.pk, [(other_uid, other_uid)], mode="add", flags=Flag.ANSWERED)
    _mbsync(config)
    assert sum(1 for p in _files(local_inbox) if "R" in p.name.split(":2,")[1]) == 1

    # A new delivery through the door arrives as a new file.
    deliver_to(user, subject="Nouveau message")
    _mbsync(config)
    files = _files(local_inbox)
    assert len(files) == 3
    assert any(b"Nouveau message" in p.read_bytes() for p in files)

    # Expunged on the server: the local file goes.
    do_set_flags(user.pk, inbox.pk, [(other_uid, other_uid)], mode="add", flags=Flag.DELETED)
    assert do_expunge(user.pk, inbox.pk) == [other_uid]
    _mbsync(config)
    files = _files(local_inbox)
    assert len(files) == 2
    assert Message.objects.filter(mailbox=inbox).count() == 2
