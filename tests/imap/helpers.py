"""Helpers shared by the IMAP tests: deliver messages through the one door,
and wait for what an idling imapclient session is told."""

from __future__ import annotations

import time
from pathlib import Path

from academail.delivery.route import deliver
from tests.conftest import build_message

CORPUS = Path(__file__).resolve().parents[1] / "data" / "messages"


def deliver_to(account, raw: bytes | None = None, **fields) -> None:
    raw = raw if raw is not None else build_message(to=account.address, **fields)
    (outcome,) = deliver(raw, [account.address])
    assert outcome.delivered, outcome


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def idle_until(client, done, timeout: float = 20.0) -> list:
    """What an imapclient session in IDLE is told, until ``done(responses)``;
    AssertionError after ``timeout`` seconds of nothing that satisfies it."""
    collected: list = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        collected += client.idle_check(timeout=1)
        if done(collected):
            return collected
    raise AssertionError(f"nothing announced in {timeout} s: {collected}")
