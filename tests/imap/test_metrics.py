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


def test_imap_command_server_time_is_observed(connect, user) -> None:
    """LOGIN's server time goes to the histogram (issue 18's "LOGIN with a cached
    credential" figure is read there); IDLE, as long as the client wants, does not."""
    login_count = _value("academail_imap_command_seconds_count", {"command": "LOGIN"})
    login_sum = _value("academail_imap_command_seconds_sum", {"command": "LOGIN"})
    idle_count = _value("academail_imap_command_seconds_count", {"command": "IDLE"})
    client = connect()
    client.login(user)
    client.send(b"i1 IDLE\r\n")
    assert client.readline().startswith(b"+")
    client.send(b"DONE\r\n")
    assert client.read_until("i1").ok
    # The server observes a command once its reply is written: NOOP's reply
    # comes after LOGIN's and IDLE's handling ended.
    assert client.cmd("NOOP").ok
    assert _value("academail_imap_command_seconds_count", {"command": "LOGIN"}) == login_count + 1
    assert _value("academail_imap_command_seconds_sum", {"command": "LOGIN"}) > login_sum
    assert _value("academail_imap_command_seconds_count", {"command": "IDLE"}) == idle_count
