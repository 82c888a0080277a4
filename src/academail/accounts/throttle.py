"""Sign-in throttling shared by the web, IMAP and SMTP (through
``services.check_sign_in``), and by the NUMEN checks of first connection and
password recovery (CNIL deliberation 2022-100, second case).

French schools put dozens of staff behind one public IPv4 address, so the
source address alone must never refuse a right password: it only slows
failures down. Failures are counted in buckets (``models.Throttle`` rows):

- ``pair:<network>:<identifier>``: one account (known or not) guessed from one
  source network (an IPv4 address, an IPv6 /64, since one host usually owns a
  whole /64). The per-account rules below; the colleagues behind the same
  address each have their own pair, so an attacker there closes only the
  pairs of the accounts it guesses;
- ``id:<identifier>``: per identifier, known or not, so the delays never tell
  whether an identifier exists: guesses spread over 1,000 addresses. Same rules;
- ``dev:<account>:<device>``: per recognised device of an account (one that has
  already signed in: a browser cookie, or an IMAP/SMTP client on its network);
- ``totp:<account>``: second-step codes of the web sign-in (``accounts.totp``);
- ``addr:<network>``: the address ceiling. It never refuses: beyond
  ``THROTTLE_ADDRESS_FREE_FAILURES`` failures within 24 h, every refusal from
  that network is answered only after ``slow_down()`` seconds (doubling every
  further ``THROTTLE_ADDRESS_FREE_FAILURES`` failures, up to
  ``THROTTLE_ADDRESS_MAX_DELAY``), while a right password is answered at once.
  Protocol code answers one command at a time per connection, so this bounds
  an attacker to (connections allowed per address) / delay guesses a second,
  each account to 25 a day, and colleagues are never refused.

A sign-in from a recognised device is checked against its own bucket only, so
a legitimate person is never locked out by attempts made from elsewhere; every
other attempt is checked against its pair and identifier buckets. After
``THROTTLE_FREE_FAILURES`` consecutive failures each further failure closes the
bucket for a delay that doubles (``THROTTLE_BASE_DELAY`` up to
``THROTTLE_MAX_DELAY``); ``THROTTLE_DAILY_FAILURES`` failures within 24 h close
it until that window ends. Consecutive failures are forgotten after a success
(pair, identifier and device buckets; never the address ceiling: an attacker's
own account must not reset it) or after ``THROTTLE_FORGET_AFTER`` seconds
without failure. Nothing here sleeps: a closed bucket answers with the seconds
to wait, and the caller refuses the attempt without checking the password; the
address ceiling answers with the seconds the caller waits (``asyncio.sleep``,
or the web's ``SlowDownMiddleware``) before sending a refusal.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from academail.accounts.models import Throttle

_DAY = timedelta(hours=24)


def network_of(remote_addr: str) -> str:
    """The network a source address stands for: the IPv4 address itself, or
    the /64 of an IPv6 address (IPv4-mapped IPv6 counts as IPv4)."""
    try:
        address = ipaddress.ip_address(remote_addr.strip())
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


ADDRESS_PREFIX = "addr:"


def address_key(remote_addr: str) -> str:
    """The address ceiling's bucket (delays only, never refuses)."""
    return f"{ADDRESS_PREFIX}{network_of(remote_addr)}"


def _short(identifier: str) -> str:
    # Long or odd identifiers are hashed so the key always fits its column.
    if len(identifier) > 64:
        return "#" + hashlib.sha256(identifier.encode()).hexdigest()
    return identifier


def identifier_key(identifier: str) -> str:
    return f"id:{_short(identifier)}"


def pair_key(remote_addr: str, identifier: str) -> str:
    return f"pair:{network_of(remote_addr)}:{_short(identifier)}"


def sign_in_buckets(remote_addr: str, identifier: str) -> list[str]:
    """The buckets of an attempt from a device not yet recognised: the address
    ceiling, the (address, account) pair and the account. ``identifier`` is the
    normalised identifier, or ``"#" + raw text`` when it cannot be one."""
    return [address_key(remote_addr), pair_key(remote_addr, identifier), identifier_key(identifier)]


def device_bucket_key(account_id: int, device_key: str) -> str:
    return f"dev:{account_id}:{device_key[:60]}"


def _delay(failures: int) -> timedelta:
    free = int(settings.THROTTLE_FREE_FAILURES)
    if failures < free:
        return timedelta(0)
    seconds = int(settings.THROTTLE_BASE_DELAY) * 2 ** min(failures - free, 20)
    return timedelta(seconds=min(seconds, int(settings.THROTTLE_MAX_DELAY)))


def retry_after(keys: Iterable[str], now: datetime | None = None) -> int:
    """Seconds before an attempt may be checked (0: go ahead): ``check``'s wait."""
    return check(keys, now)[0]


def check(keys: Iterable[str], now: datetime | None = None) -> tuple[int, bool]:
    """``(seconds before an attempt may be checked, any bucket with failures)``,
    from one read. A refused attempt (a wait above 0) is counted in
    ``refused`` for the administrators; the address ceiling never refuses
    (see ``slow_down``). A sign-in that succeeds calls ``record_success``
    only when the second is true: a phone reconnecting all day writes nothing
    here (a failure counted by another attempt after this read stays counted:
    the safe side)."""
    now = now or timezone.now()
    keys = [key for key in keys if not key.startswith(ADDRESS_PREFIX)]
    wait, failed, closed = 0, False, []
    for key, blocked_until, failures in Throttle.objects.filter(key__in=keys).values_list(
        "key", "blocked_until", "failures"
    ):
        failed = failed or failures > 0
        if blocked_until is not None and blocked_until > now:
            closed.append(key)
            wait = max(wait, int((blocked_until - now).total_seconds()) + 1)
    if closed:
        Throttle.objects.filter(key__in=closed, blocked_until__gt=now).update(refused=F("refused") + 1)
    return wait, failed


def slow_down(remote_addr: str, now: datetime | None = None) -> float:
    """Seconds to wait before answering a refused attempt from ``remote_addr``
    (0 below the address ceiling). Never a reason to refuse."""
    now = now or timezone.now()
    row = Throttle.objects.filter(key=address_key(remote_addr)).only("window_start", "window_failures").first()
    if row is None or row.window_start is None or now - row.window_start >= _DAY:
        return 0.0
    free = max(int(settings.THROTTLE_ADDRESS_FREE_FAILURES), 1)
    if row.window_failures < free:
        return 0.0
    seconds = float(settings.THROTTLE_ADDRESS_BASE_DELAY) * 2 ** min((row.window_failures - free) // free, 20)
    return min(seconds, float(settings.THROTTLE_ADDRESS_MAX_DELAY))


def record_failure(keys: Iterable[str], now: datetime | None = None) -> None:
    """Count one failure in each bucket and close those that reached a limit
    (the address ceiling only counts: it never closes)."""
    now = now or timezone.now()
    forget = timedelta(seconds=int(settings.THROTTLE_FORGET_AFTER))
    daily = int(settings.THROTTLE_DAILY_FAILURES)
    for key in keys:
        with transaction.atomic():
            Throttle.objects.get_or_create(key=key)
            row = Throttle.objects.select_for_update().get(key=key)
            if row.last_failure_at is None or now - row.last_failure_at > forget:
                row.failures = 0
            if row.window_start is None or now - row.window_start >= _DAY:
                row.window_start, row.window_failures = now, 0
            row.failures += 1
            row.window_failures += 1
            row.last_failure_at = now
            if key.startswith(ADDRESS_PREFIX):
                row.blocked_until = None
                row.save()
                continue
            until = now + _delay(row.failures)
            if row.window_failures >= daily:
                until = max(until, row.window_start + _DAY)
            row.blocked_until = until if until > now else None
            row.save()


def record_success(keys: Iterable[str]) -> None:
    """Forget the consecutive failures of these buckets, but never the 24-hour
    count: a success between guesses must not buy 25 more, and a bucket closed
    by the daily limit stays closed until its window ends. The address
    ceiling is never reset by a success (an attacker's own account would)."""
    keys = [key for key in keys if not key.startswith(ADDRESS_PREFIX)]
    daily = int(settings.THROTTLE_DAILY_FAILURES)
    # One statement (a cached LOGIN runs this every time, nearly always on no row).
    Throttle.objects.filter(key__in=keys, failures__gt=0).update(
        failures=0,
        blocked_until=Case(When(window_failures__lt=daily, then=Value(None)), default=F("blocked_until")),
    )


def do_clear(keys: Iterable[str]) -> int:
    """An administrator lifts these throttles (the admin's action)."""
    deleted, _ = Throttle.objects.filter(key__in=list(keys)).delete()
    return deleted


def do_purge_throttles(now: datetime) -> int:
    """Delete buckets with no failure for 24 h and no block left."""
    deleted, _ = (
        Throttle.objects.filter(last_failure_at__lt=now - _DAY)
        .exclude(blocked_until__gt=now)
        .delete()
    )
    return deleted
