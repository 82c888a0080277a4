"""Filter fixtures: run a script over a raw message without the database, and
give an account a script."""

from __future__ import annotations

from datetime import datetime

import pytest

from academail.filters.engine import ParsedView, _decision
from academail.filters.sieve import compile_script
from academail.mime.parse import parse_message

NOW = datetime(2026, 7, 10, 12, 0)


def raw_message(subject: str = "Conseil de classe", *, sender: str = "direction@college-exemple.fr",
                to: str = "julie.martin@ac-demo.fr", body: str = "Bonjour,\r\nLa réunion aura lieu jeudi.\r\n",
                extra: str = "") -> bytes:
    return (
        f"From: Direction <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        "Date: Thu, 26 Nov 2026 10:00:00 +0100\r\nMessage-ID: <m1@college-exemple.fr>\r\n"
        f"{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


def run(script: str, raw: bytes | None = None, *, envelope_from: str = "direction@college-exemple.fr",
        envelope_to: str = "julie.martin@ac-demo.fr", now: datetime = NOW):
    """(Outcome, FilterDecision) of ``script`` over ``raw``."""
    raw = raw if raw is not None else raw_message()
    view = ParsedView(parse_message(raw), raw=raw, envelope_from=envelope_from, envelope_to=envelope_to,
                      size=len(raw), now=now)
    outcome = compile_script(script).run(view)
    return outcome, _decision(outcome, None)


@pytest.fixture
def with_script(db):
    from django.utils import timezone

    from academail.filters.models import SieveScript

    def give(account, script: str):
        SieveScript.objects.update_or_create(account=account, defaults={"content": script, "updated_at": timezone.now()})

    return give
