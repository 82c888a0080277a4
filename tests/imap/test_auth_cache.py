"""The auth cache of the mail protocols (issue 18 §4, ``accounts.authcache``),
over the real IMAP server: a repeated LOGIN with the same password is a
remembered success (counted by the ``academail_auth_cache`` metric, never by
timing), and nothing that should refuse a sign-in is bypassed by it."""

from __future__ import annotations

import pytest

from academail.accounts import authcache
from academail.accounts.models import EventKind, JournalEntry
from academail.metrics import REGISTRY
from tests.imap.conftest import PASSWORD


def _count(result: str) -> float:
    return REGISTRY.get_sample_value("academail_auth_cache_total", {"result": result}) or 0.0


@pytest.fixture(autouse=True)
def _empty_cache():
    authcache.forget_all()
    yield
    authcache.forget_all()


def _login(connect, account, password: str = PASSWORD):
    client = connect()
    try:
        return client.cmd(f'LOGIN {account.identifier} "{password}"')
    finally:
        client.close()


def test_repeated_login_hits_the_cache_and_is_still_journalled(connect, user):
    hits, misses = _count("hit"), _count("miss")
    assert _login(connect, user).status == "OK"
    assert (_count("hit"), _count("miss")) == (hits, misses + 1)
    assert _login(connect, user).status == "OK"
    assert _login(connect, user).status == "OK"
    assert (_count("hit"), _count("miss")) == (hits + 2, misses + 1)
    # Every attempt, remembered or not, is in the owner's journal.
    signins = JournalEntry.objects.filter(account=user, kind__in=[EventKind.SIGNIN, EventKind.NEW_DEVICE], protocol="imap")
    assert signins.count() == 3


def test_password_change_makes_the_old_password_fail_at_once(connect, user):
    assert _login(connect, user).status == "OK"
    user.set_password("Un-tout-n0uveau-secret")
    user.save()
    hits = _count("hit")
    assert _login(connect, user).status == "NO"
    assert _count("hit") == hits
    assert _login(connect, user, "Un-tout-n0uveau-secret").status == "OK"


def test_disabled_account_fails_at_once(connect, user):
    assert _login(connect, user).status == "OK"
    user.status = "disabled"
    user.save(update_fields=["status"])
    assert _login(connect, user).status == "NO"


def test_wrong_password_after_a_cached_success_fails_and_is_throttled(connect, user, settings):
    settings.THROTTLE_FREE_FAILURES = 1
    assert _login(connect, user).status == "OK"
    assert _login(connect, user).status == "OK"  # remembered
    hits = _count("hit")
    wrong = _login(connect, user, "pas-le-bon-mot-de-passe")
    assert wrong.status == "NO" and b"AUTHENTICATIONFAILED" in wrong.tagged
    assert _count("hit") == hits
    assert JournalEntry.objects.filter(account=user, kind=EventKind.SIGNIN_FAILED, protocol="imap").count() == 1
    # The throttle saw that failure: even the remembered password now waits.
    throttled = _login(connect, user)
    assert throttled.status == "NO" and b"UNAVAILABLE" in throttled.tagged
    assert _count("hit") == hits



@pytest.fixture
def held_checks(monkeypatch):
    """Argon2 checks that wait until ``release`` is set; ``entered`` once one began."""
    import threading

    calls: list[str] = []
    entered, release = threading.Event(), threading.Event()
    real = authcache.check_password

    def held(password, encoded, *args):
        calls.append(password)
        entered.set()
        release.wait(30)
        return real(password, encoded, *args)

    monkeypatch.setattr(authcache, "check_password", held)
    yield calls, entered, release
    release.set()


@pytest.mark.parametrize("right", [True, False], ids=["right-password", "wrong-password"])
def test_logins_arriving_together_share_one_argon2_check(connect, user, held_checks, right):
    import time

    calls, entered, release = held_checks
    password = PASSWORD if right else "Pas-le-b0n-secret"
    misses, joined = _count("miss"), _count("joined")
    clients = [connect() for _ in range(4)]
    clients[0].send(f'a LOGIN {user.identifier} "{password}"\r\n'.encode())
    assert entered.wait(30)
    for client in clients[1:]:
        client.send(f'a LOGIN {user.identifier} "{password}"\r\n'.encode())
    deadline = time.monotonic() + 30
    while _count("joined") < joined + 3 and time.monotonic() < deadline:
        time.sleep(0.01)  # until the three others wait on the first check
    release.set()
    statuses = [client.read_until("a").status for client in clients]
    assert statuses == (["OK"] * 4 if right else ["NO"] * 4)
    assert len(calls) == 1
    assert (_count("miss"), _count("joined")) == (misses + 1, joined + 3)
    # Each attempt is still the caller's: journalled (and, failing, throttled).
    kinds = [EventKind.SIGNIN, EventKind.NEW_DEVICE] if right else [EventKind.SIGNIN_FAILED]
    assert JournalEntry.objects.filter(account=user, kind__in=kinds, protocol="imap").count() == 4
    # A failure shared is not remembered: the next attempt is checked again.
    assert _login(connect, user, password).status == ("OK" if right else "NO")
    assert len(calls) == (1 if right else 2)
