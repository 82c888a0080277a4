"""Who is calling ``/dav/``: HTTP Basic (RFC 7617) checked by the one sign-in
check of ``accounts`` (protocol ``dav``: app passwords as for IMAP, the
account password unless the administrator requires app passwords; throttling,
journal and new-device alert included).

DAV clients send their credentials with every request (a phone sync is tens of
requests). Checking each one would journal each and hash the account password
each time, so a success is remembered for ``DAV_LOGIN_CACHE_SECONDS`` (60 s by
default) by the one login cache, ``accounts.authcache.remembered_sign_in``
(keyed digest of the credentials, as Radicale's own ``cache_logins``); a hit
still needs the account active, its password unchanged and the app password
used not revoked; failures are never remembered (each goes through the
throttle).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from academail.accounts import authcache
from academail.accounts.models import Account
from academail.accounts.services import check_sign_in

PROTOCOL = "dav"


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


def check_dav_caller(authorization: str, *, remote_addr: str, client_name: str) -> DavCaller:
    """The account behind an ``Authorization`` header, through
    ``accounts.services.check_sign_in`` (or its remembered success)."""
    credentials = parse_basic(authorization)
    if credentials is None:
        return DavCaller(None)
    identifier, password = credentials
    account = authcache.remembered_sign_in(PROTOCOL, identifier, password)
    if account is not None:
        return DavCaller(account)
    result = check_sign_in(identifier, password, protocol=PROTOCOL, remote_addr=remote_addr,
                           client_name=client_name[:200])
    if result.account is None:
        return DavCaller(None, retry_after=result.retry_after, slow_down=result.slow_down)
    app_password_id = result.app_password.pk if result.app_password is not None else 0
    authcache.remember_sign_in(PROTOCOL, identifier, password, result.account, app_password_id)
    return DavCaller(result.account)
