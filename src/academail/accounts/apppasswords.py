"""App passwords: one per phone or mail program, named by its owner, generated
here, shown once, valid for IMAP, SMTP submission, ManageSieve and CalDAV/CardDAV only (never for the web
sign-in), listed with their last use and revocable. ``services.check_sign_in``
tries them for ``imap``, ``smtp``, ``sieve`` and ``dav``; a password reset or "sign out everywhere"
revokes them all (``do_revoke_all``).

Hashing: HMAC-SHA-256 under a key derived from ``NUMEN_KEY`` with a per-row
salt, not Argon2. A slow hash protects secrets people choose, which are
guessable; these are drawn by the server from 26^16 ≈ 2^75 values, so even a
fast hash of a stolen row cannot be brute-forced, and the key (not in the
database) makes a stolen table alone useless. Mail programs sign in on every
connection, often several at once, and the check tries each of the account's
app passwords: Argon2 there would cost 0.1 s per row per login.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from academail.accounts import journal
from academail.accounts.models import Account, AppPassword, EventKind
from academail.accounts.secrets import keyed_hash
from academail.accounts.throttle import network_of

MAIL_PROTOCOLS = frozenset({"imap", "smtp", "sieve", "dav"})
MAX_PER_ACCOUNT = 20
NAME_MAX_LENGTH = 80
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
_GROUPS, _GROUP_LENGTH = 4, 4
_LABEL = b"app password"


class AppPasswordError(ValueError):
    """A request that cannot be honoured; ``str()`` is for the person."""


class NotFound(LookupError):
    """No such app password among the requester's own."""


@dataclass(frozen=True)
class Created:
    app_password: AppPassword
    secret: str  # shown once, "abcd efgh ijkl mnop"


def required() -> bool:
    """Does the administrator require app passwords for IMAP, SMTP and ManageSieve?"""
    return bool(getattr(settings, "REQUIRE_APP_PASSWORDS", False))


def _normalize(secret: str) -> str:
    # People type it with or without the spaces, sometimes in capitals.
    return "".join(ch for ch in secret.lower() if ch not in " -\t")


def _digest(salt: str, secret: str) -> str:
    return keyed_hash(_LABEL, salt, _normalize(secret))


def _generate() -> str:
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS))
    return " ".join(groups)


def check_create(account: Account, name: str, *, remote_addr: str = "") -> Created:
    """Create an app password named ``name`` (the device it is for)."""
    cleaned = " ".join(name.split())[:NAME_MAX_LENGTH]
    if not cleaned:
        raise AppPasswordError("Donnez un nom à ce mot de passe, par exemple « Téléphone de Julie ».")
    if AppPassword.objects.filter(account=account).count() >= MAX_PER_ACCOUNT:
        raise AppPasswordError(
            f"Vous avez déjà {MAX_PER_ACCOUNT} mots de passe d'application : révoquez ceux qui ne servent plus."
        )
    secret = _generate()
    salt = secrets.token_hex(16)
    row = AppPassword.objects.create(account=account, name=cleaned, salt=salt, digest=_digest(salt, secret))
    journal.do_record(account, EventKind.APP_PASSWORD_CREATED, protocol="web", remote_addr=remote_addr,
                      detail=cleaned)
    return Created(row, secret)


def match(account: Account, secret: str, *, protocol: str, remote_addr: str) -> AppPassword | None:
    """The app password of ``account`` equal to ``secret``, its last use
    updated; ``None`` if none is (or ``protocol`` is not a mail protocol)."""
    if protocol not in MAIL_PROTOCOLS or len(_normalize(secret)) != _GROUPS * _GROUP_LENGTH:
        return None
    found = None
    for row in AppPassword.objects.filter(account=account).only("id", "name", "salt", "digest"):
        if hmac.compare_digest(row.digest, _digest(row.salt, secret)):
            found = row
    if found is None:
        return None
    addr = remote_addr if network_of(remote_addr) != "unknown" else None
    AppPassword.objects.filter(pk=found.pk).update(
        last_used_at=timezone.now(), last_used_protocol=protocol, last_used_addr=addr
    )
    return found


def access_app_passwords(requester: Account) -> list[AppPassword]:
    return list(AppPassword.objects.filter(account=requester).order_by("-created_at", "-id"))


def do_revoke(requester: Account, app_password_id: int, *, remote_addr: str = "") -> AppPassword:
    row = AppPassword.objects.filter(account=requester, pk=app_password_id).first()
    if row is None:
        raise NotFound(app_password_id)
    row.delete()
    journal.do_record(requester, EventKind.APP_PASSWORD_REVOKED, protocol="web", remote_addr=remote_addr,
                      detail=row.name)
    return row


def do_revoke_all(account: Account) -> int:
    """Revoke every app password of the account (password reset, sign out
    everywhere); the caller journals the event that caused it."""
    deleted, _ = AppPassword.objects.filter(account=account).delete()
    return deleted
