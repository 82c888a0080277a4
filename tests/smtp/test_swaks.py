"""A third-party client: swaks, as an administrator would test the MX."""

from __future__ import annotations

import shutil
import subprocess

from academail.store.messages import search_messages
from academail.store.models import Mailbox, Message
from academail.store.search import terms


def test_swaks_delivers_with_starttls(mx, make_account):
    assert shutil.which("swaks"), "swaks is installed by `make test` (make system-deps)"
    account = make_account()
    result = subprocess.run(
        [
            "swaks", "--server", f"{mx.host}:{mx.port}", "--to", account.address,
            "--from", "secretariat@college-exemple.fr", "--tls",
            "--header", "Subject: Convocation au conseil pédagogique",
            "--body", "Merci de confirmer votre présence à la réunion.",
        ],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "250 2.0.0 OK: stored as" in result.stdout
    box = Mailbox.objects.get(account=account, special_use="inbox")
    assert Message.objects.filter(mailbox=box).count() == 1
    assert terms("présence") == ["presence"]
    assert len(search_messages(account.pk, "presence reunion")) == 1
