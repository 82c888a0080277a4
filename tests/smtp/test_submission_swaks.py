"""swaks with TLS and AUTH on both submission ports, to a local and a remote
address: the local one lands in the INBOX, the remote one is queued, then
reaches the loopback "remote" MX DKIM-signed."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import dkim
import pytest
from django.utils import timezone

from academail.delivery.queue import process_due
from academail.store.models import Mailbox, Message
from tests.smtp.conftest import PASSWORD


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_swaks_submits_with_auth(submission, sender, make_account, remote_internet, dkim_key, mode):
    assert shutil.which("swaks"), "swaks is installed by `make test` (make system-deps)"
    colleague = make_account("Paul", "Durand")
    port = submission.starttls_port if mode == "starttls" else submission.tls_port
    result = subprocess.run(
        [
            "swaks", "--server", f"{submission.host}:{port}", "--from", sender.address,
            "--to", f"{colleague.address},ami@exemple.org",
            "--tls" if mode == "starttls" else "--tlsc",
            "--auth", "PLAIN", "--auth-user", sender.identifier, "--auth-password", PASSWORD,
            "--header", "Subject: Compte rendu du conseil", "--body", "Voici le compte rendu.",
        ],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "235 2.7.0 Authentication successful" in result.stdout
    assert "250 2.0.0 OK: stored as" in result.stdout
    box = Mailbox.objects.get(account=colleague, special_use="inbox")
    assert Message.objects.filter(mailbox=box).count() == 1
    assert asyncio.run(process_due(remote_internet.transport(), now=timezone.now())).delivered == 1
    (received,) = remote_internet.sink.received
    record = dkim_key["academail._domainkey.ac-demo.fr."].encode()
    assert dkim.verify(received.data, dnsfunc=lambda name, timeout=5: record)
