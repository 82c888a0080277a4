"""Who is calling ``/dav/``: HTTP Basic (RFC 7617) checked by the one sign-in
check of ``accounts`` (protocol ``dav``: app passwords as for IMAP, the
account password unless the administrator requires app passwords; throttling,
journal and new-device alert included).

DAV clients send their credentials with every request (a phone sync is tens of
requests). Checking each one would journal each and hash the account password
each time, so a success is remembered for ``DAV_LOGIN_CACHE_SECONDS`` (60 s by
default) under a keyed digest of the credentials, as Radicale's own
``cache_logins`` does; failures are never remembered (each goes through the
throttle). A revoked app password or a disabled account therefore stops
working within that delay.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from academail.accounts.models import Account, Status
from academail.accounts.services import check_sign_in

PROTOCOL = "dav"
_CACHE_MAX = 10_000
_cache_key = secrets.token_bytes(32)  # per process: the cache never leaves memory
_cache: dict[str, tuple[float, int]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class DavCaller:
    """``account`` when accepted; ``retry_after`` > 0 when throttled;
    ``slow_down``: seconds to wait before answering a refusal (the address
    ceiling, ``accounts.throttle.slow_down``)."""

    account: Account | None
    retry_after: int = 0
    slow_down: float = 0.0


def parse_basic(header: str) -> tuple[str, str] | None:
    """(identifier, password) from an ``Authorization: Basic`` header, or None.
    RFC 7617 §2: user-id and password are UTF-8 here (we announce charset)."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    identifier, sep, password = decoded.partition(":")
    if not sep or not identifier or not password:
        return None
    return identifier, password


def _digest(identifier: str, password: str) -> str:
    material = f"{identifier.strip().lower()}\x00{password}".encode()
    return hmac.new(_cache_key, material, hashlib.sha256).hexdigest()


def _remembered(digest: str) -> Account | None:
    with _cache_lock:
        entry = _cache.get(digest)
    if entry is None or entry[0] < time.monotonic():
        return None
    account = Account.objects.filter(pk=entry[1], status=Status.ACTIVE).first()
    if account is None:
        with _cache_lock:
            _cache.pop(digest, None)
    return account


def _remember(digest: str, account: Account) -> None:
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            now = time.monotonic()
            for key in [key for key, (until, _) in _cache.items() if until < now]:
                del _cache[key]
            if len(_cache) >= _CACHE_MAX:
                _cache.clear()
        _cache[digest] = (time.monotonic() + settings.DAV_LOGIN_CACHE_SECONDS, account.pk)


def forget_all() -> None:
    with _cache_lock:
        _cache.clear()


def check_dav_caller(authorization: str, *, remote_addr: str, client_name: str) -> DavCaller:
    """The account behind an ``Authorization`` header, through
    ``accounts.services.check_sign_in`` (or its remembered success)."""
    credentials = parse_basic(authorization)
    if credentials is None:
        return DavCaller(None)
    identifier, password = credentials
    digest = _digest(identifier, password)
    account = _remembered(digest)
    if account is not None:
        return DavCaller(account)
    result = check_sign_in(identifier, password, protocol=PROTOCOL, remote_addr=remote_addr,
                           client_name=client_name[:200])
    if result.account is None:
        return DavCaller(None, retry_after=result.retry_after, slow_down=result.slow_down)
    _remember(digest, result.account)
    return DavCaller(result.account)
