"""The account-password check of the mail protocols, cheap when repeated
(issue 18 §4), in the spirit of Dovecot's auth cache (``auth_cache_size``,
``auth_cache_ttl``): after one successful Argon2id verification, the success
is remembered for ``AUTH_CACHE_SECONDS`` so a phone reconnecting with the same
password skips the 0.1 s, 100 MiB hash.

What is remembered, per account (LRU, at most ``AUTH_CACHE_SIZE`` accounts):
an HMAC-SHA-256 of (account id, password) under a key drawn per process, so
no password is kept, even hashed without a key; and the account's stored
password hash at the time. A hit requires that stored hash to be unchanged, so
a password change or reset made by any process (the web runs apart from the
mail listeners) makes the old password go through Argon2 again, and fail, at
once. Only successes are remembered; a wrong password is never a hit and goes
through Argon2 and the caller's throttle like any other. A check already
running for the same (account, stored hash, password) is joined, not run
again: connections arriving together on a cold cache (after a restart) cost
one verification. The account's status, throttling and the journal are the
caller's (``services.check_sign_in``), checked on every attempt, hit, joined
or not. App passwords are not cached: they are a keyed hash already
(``accounts.apppasswords``).

Protocols that send credentials with every request (CalDAV/CardDAV: a phone
sync is tens of requests) remember a whole sign-in too (``remembered_sign_in``,
``DAV_LOGIN_CACHE_SECONDS``, as Radicale's ``cache_logins``), so each request
is neither journalled nor hashed: keyed the same way (protocol, identifier,
password), with the stored password hash and the app password used; a hit
needs the account still active, its password hash unchanged and that app
password not revoked, all read again at each hit. One cache, one key, one
``forget_all``.

Every Argon2 verification (and the decoy hash of an unknown identifier) runs
in one bounded pool of ``AUTH_HASH_WORKERS`` threads (the cores by default):
argon2-cffi releases the GIL, so the hashes use the cores while the asyncio
listeners keep serving, memory stays at workers × Argon2's memory cost during
a reconnect storm, and the queue drains in arrival order.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password

from academail.accounts.models import Account, AppPassword, Status
from academail.metrics import count_auth_cache

_key = secrets.token_bytes(32)  # per process: the cache never leaves memory
_lock = threading.Lock()
# account id -> (HMAC of the password, stored password hash, expiry on the monotonic clock)
_entries: OrderedDict[int, tuple[bytes, str, float]] = OrderedDict()
# (account id, stored password hash, HMAC of the password) -> the verification running
_running: dict[tuple[int, str, bytes], Future[bool]] = {}
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _hashing_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = getattr(settings, "AUTH_HASH_WORKERS", 0) or os.cpu_count() or 1
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        return _pool


def _digest(account_id: int, password: str) -> bytes:
    return hmac.new(_key, f"{account_id}\x00{password}".encode(), hashlib.sha256).digest()


def _remembered(account: Account, digest: bytes) -> bool:
    now = time.monotonic()
    with _lock:
        entry = _entries.get(account.pk)
        if entry is None:
            return False
        remembered, stored, until = entry
        if until <= now or stored != account.password:
            del _entries[account.pk]  # expired, or the password changed since
            return False
        if not hmac.compare_digest(remembered, digest):
            return False  # another password: check it (the remembered one stays)
        _entries.move_to_end(account.pk)
        return True


def _remember(account: Account, digest: bytes) -> None:
    seconds = settings.AUTH_CACHE_SECONDS
    if seconds <= 0:
        return
    with _lock:
        _entries[account.pk] = (digest, account.password, time.monotonic() + seconds)
        _entries.move_to_end(account.pk)
        while len(_entries) > settings.AUTH_CACHE_SIZE:
            _entries.popitem(last=False)


def decoy_hash(password: str) -> None:
    """The cost of a real check, for an identifier with no usable password
    (so timing does not tell which identifiers exist), in the bounded pool."""
    _hashing_pool().submit(make_password, password).result()


def password_matches(account: Account, password: str) -> bool:
    """Is ``password`` the account's password? A remembered success, or one
    Argon2 verification in the bounded pool (remembered if it succeeds).
    The same check already running for another connection (same account,
    stored hash and password) is joined rather than run again: a phone's or
    a shared mailbox's connections arriving together on a cold cache cost
    one verification, not one each. Called from a worker thread, never from
    the event loop."""
    digest = _digest(account.pk, password)
    if _remembered(account, digest):
        count_auth_cache("hit")
        return True
    key = (account.pk, account.password, digest)
    upgrades: list[str] = []
    with _lock:
        running = _running.get(key)
        if running is None:
            running = _running[key] = _hashing_pool().submit(
                check_password, password, account.password, upgrades.append
            )
            joined = False
        else:
            joined = True
    if joined:
        count_auth_cache("joined")
        return running.result()  # the same answer its own check would give; the caller journals and throttles
    count_auth_cache("miss")
    try:
        ok = running.result()
        if ok:
            _remember(account, digest)  # before the check stops being joinable: no second verification
    finally:
        with _lock:
            _running.pop(key, None)
    if ok and upgrades:
        # Django's own upgrade (hasher parameters changed), done here on the
        # caller's thread and database connection rather than in the pool.
        account.set_password(password)
        account.save(update_fields=["password"])
    return ok


# --- whole sign-ins, for protocols that authenticate every request ---------------

_SIGN_INS_MAX = 10_000
# HMAC of (protocol, identifier, password) -> (account id, app password id or 0,
# stored password hash, expiry on the monotonic clock)
_sign_ins: OrderedDict[bytes, tuple[int, int, str, float]] = OrderedDict()


def _sign_in_digest(protocol: str, identifier: str, password: str) -> bytes:
    material = f"{protocol}\x00{identifier.strip().lower()}\x00{password}".encode()
    return hmac.new(_key, material, hashlib.sha256).digest()


def remembered_sign_in(protocol: str, identifier: str, password: str) -> Account | None:
    """The account of a sign-in remembered by ``remember_sign_in``, if it still
    holds: the account active, its password hash unchanged, the app password
    used (if one was) not revoked. One or two indexed reads; no hash."""
    digest = _sign_in_digest(protocol, identifier, password)
    now = time.monotonic()
    with _lock:
        entry = _sign_ins.get(digest)
    if entry is None:
        return None
    account_id, app_password_id, stored, until = entry
    account = None
    if until > now:
        account = Account.objects.filter(pk=account_id, status=Status.ACTIVE).first()
    if account is not None and (
        account.password != stored
        or (app_password_id and not AppPassword.objects.filter(pk=app_password_id, account=account).exists())
    ):
        account = None
    if account is None:
        with _lock:
            _sign_ins.pop(digest, None)
    return account


def remember_sign_in(protocol: str, identifier: str, password: str, account: Account, app_password_id: int) -> None:
    """Remember a successful sign-in for ``DAV_LOGIN_CACHE_SECONDS``. Only
    successes: a refusal always goes through the whole check and its throttle."""
    seconds = settings.DAV_LOGIN_CACHE_SECONDS
    if seconds <= 0:
        return
    digest = _sign_in_digest(protocol, identifier, password)
    with _lock:
        _sign_ins[digest] = (account.pk, app_password_id, account.password, time.monotonic() + seconds)
        _sign_ins.move_to_end(digest)
        while len(_sign_ins) > _SIGN_INS_MAX:
            _sign_ins.popitem(last=False)


def forget_all() -> None:
    with _lock:
        _entries.clear()
        _sign_ins.clear()
