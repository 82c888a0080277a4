"""IMAP commands are counted per command name (academail_imap_commands_total)."""

from __future__ import annotations

from academail.metrics import REGISTRY


def _value(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_imap_commands_are_counted(session, user) -> None:
    before = _value("academail_imap_commands_total", {"command": "SELECT"})
    assert session.cmd("SELECT INBOX").ok
    assert session.cmd("NOOP").ok
    assert _value("academail_imap_commands_total", {"command": "SELECT"}) == before + 1
