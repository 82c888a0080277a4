"""Connection limits per address and per account (RFC 5530 [LIMIT]), and the ID
command's client name recorded with the sign-in."""

from __future__ import annotations

import time

import pytest

from academail.accounts.models import JournalEntry
from academail.imap import limits
from academail.imap import responses as R
from tests.imap.conftest import PASSWORD


def _wait_released(counter: limits.ConnectionCounter, key: object, expected: int) -> None:
    deadline = time.monotonic() + 5
    while counter.count(key) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    assert counter.count(key) == expected


def test_connections_per_address_are_capped_with_bye_limit(connect, monkeypatch):
    monkeypatch.setattr(limits, "MAX_CONNECTIONS_PER_IP", 2)
    first, second = connect(), connect()
    assert first.greeting.startswith(b"* OK") and second.greeting.startswith(b"* OK")
    third = connect()
    assert third.greeting.startswith(f"* BYE [{R.CODE_LIMIT}]".encode())
    assert third.file.readline() == b""  # and the server closes
    second.cmd("LOGOUT")
    second.close()
    _wait_released(limits.by_address, "127.0.0.1", 1)
    assert connect().greeting.startswith(b"* OK")


def test_connections_per_account_are_capped_at_login(connect, user, monkeypatch):
    monkeypatch.setattr(limits, "MAX_CONNECTIONS_PER_ACCOUNT", 2)
    clients = [connect() for _ in range(3)]
    clients[0].login(user)
    clients[1].login(user)
    refused = clients[2].cmd(f'LOGIN {user.identifier} "{PASSWORD}"')
    assert refused.status == "NO" and f"[{R.CODE_LIMIT}]".encode() in refused.tagged
    # Still not authenticated: SELECT is refused, LOGIN may be tried again.
    assert clients[2].cmd("SELECT INBOX").status == "BAD"
    clients[0].cmd("LOGOUT")
    clients[0].close()
    _wait_released(limits.by_account, user.pk, 1)
    assert clients[2].cmd(f'LOGIN {user.identifier} "{PASSWORD}"').ok
    # A wrong password is told as such, not as a limit.
    other = connect()
    response = other.cmd(f"LOGIN {user.identifier} wrong")
    assert b"[AUTHENTICATIONFAILED]" in response.tagged


@pytest.mark.parametrize("before_login", [True, False])
def test_id_client_name_names_the_device(connect, user, before_login):
    client = connect()
    id_command = 'ID ("name" "Thunderbird" "version" "128.3")'
    if before_login:
        assert client.cmd(id_command).ok
    client.login(user)
    if not before_login:
        assert client.cmd(id_command).ok
    entry = JournalEntry.objects.filter(account=user).order_by("-pk").first()
    assert entry is not None
    if before_login:
        assert entry.device == "Thunderbird (IMAP)"
    else:
        assert entry.device == "Logiciel de messagerie (IMAP)"
