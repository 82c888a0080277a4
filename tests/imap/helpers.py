"""Helpers shared by the IMAP tests: deliver messages through the one door."""

from __future__ import annotations

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
