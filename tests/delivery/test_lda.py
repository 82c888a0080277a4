"""``academail deliver`` as an MTA runs it: a subprocess, stdin, sysexits codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from academail.store.models import Message
from tests.conftest import build_message
from tests.servers import child_env


def run_deliver(args: list[str], data: bytes, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = child_env(extra_env)
    return subprocess.run(
        [sys.executable, "-m", "academail", "deliver", *args], input=data, capture_output=True, env=env, timeout=60
    )


@pytest.mark.django_db(transaction=True)
def test_lda_exit_codes(make_account):
    account = make_account()
    ok = run_deliver(["-f", "direction@college-exemple.fr", account.address], build_message())
    assert ok.returncode == 0, ok.stderr
    stored = Message.objects.get(mailbox__account=account)
    # Return-Path first (RFC 5321 §4.4), then the recipient's spam verdict (protection).
    assert bytes(stored.prefix).startswith(b"Return-Path: <direction@college-exemple.fr>\r\nX-Spam-Status: No, ")

    unknown = run_deliver(["personne@ac-demo.fr", account.address], build_message())
    assert unknown.returncode == 67
    assert "inconnue" in unknown.stderr.decode()
    assert Message.objects.filter(mailbox__account=account).count() == 1, "all or nothing"

    too_big = run_deliver([account.address], b"x" * 2000, {"ACADEMAIL_MAX_MESSAGE_SIZE": "1000"})
    assert too_big.returncode == 65

    full = make_account("Paul", "Durand", quota_bytes=1)
    assert run_deliver([full.address], build_message()).returncode == 75
    assert not Message.objects.filter(mailbox__account=full).exists()

    usage = run_deliver([], b"")
    assert usage.returncode == 2  # argparse: at least one recipient
