"""Brute force, through the one ``authenticate`` (web, IMAP, SMTP alike):
growing delays after 5 failures, 25 failures per 24 h, per (address,
identifier) pair and per identifier, known and unknown identifiers treated
alike, the owner never locked out from a device already known (CNIL
2022-100), and an address ceiling that slows refusals but never refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from academail.accounts import throttle
from academail.accounts.models import Throttle
from academail.accounts.services import authenticate, check_sign_in
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self, monkeypatch):
        self.now = timezone.now()
        monkeypatch.setattr(throttle.timezone, "now", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def hashes(monkeypatch):
    """Counts the password checks really made (a throttled attempt makes none)."""
    import academail.accounts.authcache as authcache
    from academail.accounts.models import Account

    calls = []
    real_check = Account.check_password
    real_verify = authcache.check_password  # the mail protocols' Argon2 check
    real_make = authcache.make_password
    monkeypatch.setattr(Account, "check_password", lambda self, raw: calls.append(raw) or real_check(self, raw))
    monkeypatch.setattr(authcache, "check_password",
                        lambda raw, *args: calls.append(raw) or real_verify(raw, *args))
    monkeypatch.setattr(authcache, "make_password", lambda raw: calls.append(raw) or real_make(raw))
    return calls


def guess(identifier="jmartin", password="Mauvais-essai1", *, protocol="smtp", addr="198.51.100.7", **kw):
    return check_sign_in(identifier, password, protocol=protocol, remote_addr=addr, **kw)


@pytest.mark.parametrize("protocol", ["smtp", "imap", "web"])
def test_delays_start_after_five_failures_and_grow(person, clock, protocol):
    for _ in range(4):
        assert guess(protocol=protocol).retry_after == 0
    guess(protocol=protocol)  # 5th failure closes the door for 2 s
    first = guess(protocol=protocol, password=PASSWORD)
    assert first.account is None and first.throttled and 1 <= first.retry_after <= 3
    clock.advance(3)
    assert guess(protocol=protocol).account is None  # 6th failure: 4 s
    assert 3 <= guess(protocol=protocol).retry_after <= 5
    clock.advance(5)
    assert guess(protocol=protocol, password=PASSWORD).account == person


def test_authenticate_keeps_its_signature_and_says_none_when_throttled(person, clock):
    for _ in range(5):
        assert authenticate("jmartin", "x", protocol="imap", remote_addr="198.51.100.7") is None
    # Right password, but refused without being checked.
    assert authenticate("jmartin", PASSWORD, protocol="imap", remote_addr="198.51.100.7") is None


def test_one_address_guessing_many_identifiers_is_bounded_per_account_and_slowed(person, clock, hashes, settings):
    # One address tries 50 identifiers, 10 times each, without waiting. The
    # address itself refuses nobody (a school's staff share it): each (address,
    # identifier) pair gets its 5 free failures, then is refused unchecked.
    settings.THROTTLE_ADDRESS_FREE_FAILURES = 100
    results = [guess(identifier=f"cible{n % 50}", addr="203.0.113.9") for n in range(10_000 // 20)]
    assert len(hashes) == 50 * 5
    assert Throttle.objects.get(key="pair:203.0.113.9:cible0").refused == 5
    # Beyond the ceiling (100 failures) every refusal from there is answered late.
    assert all(r.slow_down == 0 for r in results[:99])
    assert results[100].slow_down == settings.THROTTLE_ADDRESS_BASE_DELAY
    assert max(r.slow_down for r in results) == 2 * settings.THROTTLE_ADDRESS_BASE_DELAY
    # ... and the right password of a colleague is not refused, nor slowed.
    ok = guess(password=PASSWORD, addr="203.0.113.9")
    assert ok.account == person and ok.slow_down == 0


def test_the_address_delay_is_capped(person, clock, settings):
    settings.THROTTLE_ADDRESS_FREE_FAILURES = 2
    for n in range(40):
        last = guess(identifier=f"cible{n}", addr="203.0.113.9")
    assert last.slow_down == settings.THROTTLE_ADDRESS_MAX_DELAY
    clock.advance(24 * 3600)  # a new day, a new window
    assert guess(identifier="cible99", addr="203.0.113.9").slow_down == 0


def test_guesses_spread_over_a_thousand_addresses(person, clock, hashes):
    # Each address tries once; the attacker also waits out every short delay.
    end = clock.now + timedelta(hours=23)
    for n in range(1000):
        result = guess(addr=f"10.{n // 250}.{n % 250}.1")
        if result.throttled and clock.now + timedelta(seconds=result.retry_after) < end:
            clock.advance(result.retry_after)
    assert len(hashes) == 25  # at most 25 failures in 24 h
    assert guess(addr="192.0.2.200", password=PASSWORD).throttled
    clock.advance(24 * 3600)
    assert guess(addr="192.0.2.200", password=PASSWORD).account == person


def test_unknown_and_known_identifiers_are_throttled_alike(person, clock):
    for _ in range(5):
        guess("jmartin", addr="192.0.2.1")
        guess("inconnu", addr="192.0.2.2")
    known, unknown = guess("jmartin", addr="192.0.2.3"), guess("inconnu", addr="192.0.2.4")
    assert known.throttled and unknown.throttled
    assert abs(known.retry_after - unknown.retry_after) <= 1


def test_owner_on_a_known_device_is_never_locked_out(person, clock):
    # The owner's phone has already signed in over SMTP and IMAP from home.
    assert guess(password=PASSWORD, addr="192.0.2.10", client_name="Thunderbird").account == person
    assert guess(password=PASSWORD, protocol="imap", addr="192.0.2.10", client_name="Thunderbird").account
    # An attacker exhausts the account's daily budget from elsewhere.
    for n in range(80):
        result = guess(addr=f"203.0.113.{n}")
        if result.throttled and result.retry_after < 3600:
            clock.advance(result.retry_after)
    assert Throttle.objects.get(key="id:jmartin").window_failures == 25
    assert guess(password=PASSWORD, addr="192.0.2.99").throttled  # a new place: blocked
    for protocol in ("smtp", "imap"):
        ok = guess(password=PASSWORD, protocol=protocol, addr="192.0.2.10", client_name="Thunderbird")
        assert ok.account == person


def test_web_and_smtp_share_the_account_budget(person, clock):
    for n in range(5):
        guess(protocol="smtp", addr=f"203.0.113.{n}")
    assert guess(protocol="web", addr="198.51.100.50", device="navigateur-neuf").throttled


def test_the_web_page_says_how_long_to_wait(client, person, clock):
    for _ in range(5):
        client.post(reverse("accounts:login"), {"identifier": "jmartin", "password": "Mauvais1!"})
    page = client.post(reverse("accounts:login"), {"identifier": "jmartin", "password": PASSWORD})
    assert page.status_code == 200
    assert "Trop de tentatives" in page.content.decode()


def test_ipv6_is_throttled_per_64(person, clock, settings):
    settings.THROTTLE_ADDRESS_FREE_FAILURES = 5
    for n in range(5):
        guess("inconnu", addr=f"2001:db8:1:2::{n + 1}")
    # One host owns its /64: another address in it guesses the same pair...
    assert guess("inconnu", addr="2001:db8:1:2:ffff::1").throttled
    assert Throttle.objects.get(key="addr:2001:db8:1:2::/64").window_failures == 5
    # ... and its refusals are slowed; another /64 is a different network.
    assert guess("autre", addr="2001:db8:1:2:ffff::1").slow_down > 0
    assert guess("autre", addr="2001:db8:1:3::1").slow_down == 0


def test_success_does_not_reset_the_address(person, clock, settings):
    settings.THROTTLE_ADDRESS_FREE_FAILURES = 5
    for n in range(5):
        guess(f"cible{n}", addr="203.0.113.5")
    # The attacker's own valid account must not reset the address ceiling.
    assert guess(password=PASSWORD, addr="203.0.113.5").account == person
    assert guess("cible9", addr="203.0.113.5").slow_down > 0


def test_administrators_see_and_clear_throttles(client, person, clock):
    from academail.accounts.models import Account

    for _ in range(6):
        guess(addr="203.0.113.77")
    admin = Account.objects.create_superuser(
        "admin", "x", first_name="Ada", last_name="Admin", address="admin@ac-demo.fr", quota_bytes=1,
    )
    client.force_login(admin)
    listing = client.get(reverse("admin:accounts_throttle_changelist")).content.decode()
    assert "pair:203.0.113.77:jmartin" in listing and "id:jmartin" in listing
    keys = list(Throttle.objects.values_list("pk", flat=True))
    client.post(reverse("admin:accounts_throttle_changelist"),
                {"action": "clear", "_selected_action": keys})
    assert not Throttle.objects.exists()
    assert guess(password=PASSWORD, addr="203.0.113.77").account == person


def test_purge_forgets_idle_buckets(person, clock):
    guess(addr="203.0.113.1")
    assert throttle.do_purge_throttles(clock.now + timedelta(days=2)) == 3  # address, pair, identifier


def test_a_success_reopens_a_delayed_bucket_but_not_one_closed_for_the_day(clock, settings):
    daily = settings.THROTTLE_DAILY_FAILURES
    until = clock.now + timedelta(hours=3)
    Throttle.objects.create(key="id:delayed", failures=6, window_failures=6, blocked_until=until)
    Throttle.objects.create(key="id:daily", failures=3, window_failures=daily, blocked_until=until)
    Throttle.objects.create(key="addr:192.0.2.1", failures=6, window_failures=6)
    throttle.record_success(["id:delayed", "id:daily", "addr:192.0.2.1"])
    delayed, day = Throttle.objects.get(key="id:delayed"), Throttle.objects.get(key="id:daily")
    assert (delayed.failures, delayed.blocked_until, delayed.window_failures) == (0, None, 6)
    assert (day.failures, day.blocked_until, day.window_failures) == (0, until, daily)
    assert Throttle.objects.get(key="addr:192.0.2.1").failures == 6  # the address ceiling is never reset


def test_a_success_forgets_the_failures_it_read_and_writes_nothing_when_there_were_none(person, clock):
    # The read before the password says whether there is anything to forget:
    # with failures, the success still resets them; with none, nothing is written.
    for _ in range(3):
        assert guess(addr="192.0.2.1").account is None
    pair = Throttle.objects.get(key="pair:192.0.2.1:jmartin")
    assert pair.failures == 3
    assert guess(password=PASSWORD, addr="192.0.2.1").account == person
    pair.refresh_from_db()
    assert (pair.failures, pair.window_failures) == (0, 3)
    assert Throttle.objects.get(key="id:jmartin").failures == 0
    assert Throttle.objects.get(key="addr:192.0.2.1").failures == 3  # never reset by a success
    assert throttle.check(["pair:192.0.2.1:jmartin", "id:jmartin"]) == (0, False)
