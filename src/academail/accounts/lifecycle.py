"""The access life cycle of an account, as services the web pages call: the
identifier + NUMEN challenge (throttled like a sign-in), first connection
(password, then a secondary address verified by a 6-digit code, then active),
forgotten password (single-use link to the verified secondary address),
password and secondary-address changes, and "Ce n'était pas moi ?".

Each function that changes something writes the journal and sends the notices
the person is owed. Codes and link secrets are stored hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from academail.accounts import journal, throttle
from academail.accounts.devices import do_end_all
from academail.accounts.models import (
    Account,
    CodePurpose,
    EventKind,
    ResetToken,
    Status,
    VerificationCode,
)
from academail.accounts.notices import (
    send_code,
    send_password_changed,
    send_reset_link,
    send_secondary_changed,
)
from academail.accounts.numen import validate_numen
from academail.accounts.secrets import numen_hash
from academail.accounts.services import (
    SignInResult,
    clean_secondary_address,
    normalize_identifier,
)

CODE_ATTEMPTS = 5
CODES_PER_HOUR = 5
RESETS_PER_HOUR = 3
NOT_ME_MAX_AGE = 14 * 24 * 3600
_NOT_ME_SALT = "academail.accounts.not-me"


class CodeError(ValueError):
    """A verification code that cannot be accepted; ``str()`` is for the person."""


class LinkError(ValueError):
    """A reset link that is unknown, used or expired."""


# --- identifier + NUMEN -------------------------------------------------------------


def check_numen_challenge(identifier: str, numen: str, *, remote_addr: str) -> SignInResult:
    """The account named by ``identifier`` if ``numen`` is its NUMEN.

    Raises ``NumenError`` for a malformed NUMEN (precise advice, reveals nothing
    about accounts; not counted as a failure). A wrong pair counts as a sign-in
    failure in the same buckets (``throttle.sign_in_buckets``), so NUMEN guessing and
    password guessing share one budget. The returned account may be in any
    status: the caller decides what each flow allows."""
    normalized = validate_numen(numen)
    ident = normalize_identifier(identifier)
    raw = identifier.strip().lower()
    buckets = throttle.sign_in_buckets(remote_addr, ident or "#" + raw)
    wait = throttle.retry_after(buckets)
    if wait:
        return SignInResult(None, retry_after=wait, slow_down=throttle.slow_down(remote_addr))
    wanted = numen_hash(normalized)
    account = Account.objects.filter(identifier=ident).first() if ident else None
    if account is None or not account.numen_hash or not hmac.compare_digest(account.numen_hash, wanted):
        throttle.record_failure(buckets)
        return SignInResult(None, slow_down=throttle.slow_down(remote_addr))
    return SignInResult(account)


# --- codes ---------------------------------------------------------------------------


def _code_hash(account_id: int, purpose: str, address: str, code: str) -> str:
    material = f"{account_id}|{purpose}|{address}|{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), material, hashlib.sha256).hexdigest()


def do_send_code(account: Account, address: str, purpose: str) -> str:
    """Check ``address`` as a secondary address, then e-mail it a fresh code
    (earlier codes of the same purpose stop working). Returns the cleaned
    address. Raises ``AccountError`` for a bad address, ``CodeError`` when too
    many codes were sent within the hour or the mail could not leave."""
    cleaned = clean_secondary_address(address)
    if not cleaned:
        from academail.accounts.services import AccountError

        raise AccountError("Saisissez votre adresse de secours.", field="secondary_address")
    now = timezone.now()
    recent = VerificationCode.objects.filter(
        account=account, purpose=purpose, created_at__gt=now - timedelta(hours=1)
    ).count()
    if recent >= CODES_PER_HOUR:
        raise CodeError("Trop de codes envoyés en une heure : réessayez plus tard.")
    code = f"{secrets.randbelow(10**6):06d}"
    ttl = int(settings.VERIFICATION_CODE_TTL)
    with transaction.atomic():
        VerificationCode.objects.filter(account=account, purpose=purpose, used_at__isnull=True).update(
            used_at=now
        )
        VerificationCode.objects.create(
            account=account, purpose=purpose, address=cleaned,
            code_hash=_code_hash(account.pk, purpose, cleaned, code),
            expires_at=now + timedelta(seconds=ttl),
        )
    if not send_code(account, cleaned, code, minutes=ttl // 60):
        raise CodeError("Le code n'a pas pu être envoyé. Réessayez dans quelques minutes.")
    return cleaned


def check_code(account: Account, purpose: str, code: str) -> str:
    """Accept ``code`` (spaces ignored) for the latest code sent; returns the
    address it verified. Five wrong tries spend the code."""
    now = timezone.now()
    code = "".join(code.split())
    error = ""
    # The error is raised after the block: raising inside would roll back the
    # attempt counter, and unlimited tries at a 6-digit code are a brute force.
    with transaction.atomic():
        pending = (
            VerificationCode.objects.select_for_update()
            .filter(account=account, purpose=purpose, used_at__isnull=True)
            .order_by("-id")
            .first()
        )
        if pending is None or pending.expires_at <= now or pending.attempts >= CODE_ATTEMPTS:
            error = "Ce code a expiré. Demandez un nouveau code."
        elif not (len(code) == 6 and code.isdigit() and hmac.compare_digest(
            pending.code_hash, _code_hash(account.pk, purpose, pending.address, code)
        )):
            pending.attempts += 1
            pending.save(update_fields=["attempts"])
            left = CODE_ATTEMPTS - pending.attempts
            if left <= 0:
                error = "Code incorrect. Ce code n'est plus valable : demandez-en un nouveau."
            else:
                error = f"Code incorrect. Il vous reste {left} essai{'s' if left > 1 else ''}."
        else:
            pending.used_at = now
            pending.save(update_fields=["used_at"])
            return pending.address
    raise CodeError(error)


# --- first connection --------------------------------------------------------------------


def check_set_password(account: Account, password: str) -> None:
    """Validate against the policy (raises ``ValidationError``), then set."""
    validate_password(password, account)
    account.set_password(password)
    account.save()


def do_activate(account: Account, secondary_address: str, *, remote_addr: str) -> Account:
    """A pending account whose owner chose a password and verified a secondary
    address becomes active."""
    account.secondary_address = secondary_address
    account.secondary_verified = True
    account.status = Status.ACTIVE
    account.save(update_fields=["secondary_address", "secondary_verified", "status", "updated_at"])
    journal.do_record(account, EventKind.ACTIVATED, protocol="web", remote_addr=remote_addr,
                      detail=f"adresse de secours {secondary_address}")
    return account


# --- forgotten password -----------------------------------------------------------------


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def do_request_reset(account: Account, *, base_url: str, remote_addr: str) -> bool:
    """E-mail a reset link to the verified secondary address of an active
    account. Returns False (and sends nothing) when there is none, or when
    ``RESETS_PER_HOUR`` links were already sent; the page says the same either way."""
    if account.status != Status.ACTIVE or not (account.secondary_address and account.secondary_verified):
        return False
    now = timezone.now()
    if ResetToken.objects.filter(account=account, created_at__gt=now - timedelta(hours=1)).count() >= RESETS_PER_HOUR:
        return True
    raw = secrets.token_urlsafe(32)
    ttl = int(settings.PASSWORD_RESET_TTL)
    ResetToken.objects.create(account=account, token_hash=_token_hash(raw), expires_at=now + timedelta(seconds=ttl))
    journal.do_record(account, EventKind.RESET_REQUESTED, protocol="web", remote_addr=remote_addr)
    url = base_url + reverse("accounts:reset_confirm", args=[raw])
    send_reset_link(account, url, minutes=ttl // 60)
    return True


def access_reset_token(raw: str) -> ResetToken:
    """The live token of a reset link (raises ``LinkError``)."""
    token = ResetToken.objects.select_related("account").filter(token_hash=_token_hash(raw)).first()
    if token is None or token.used_at is not None or token.expires_at <= timezone.now():
        raise LinkError("Ce lien n'est plus valable.")
    return token


def check_reset_password(raw: str, password: str, *, base_url: str, remote_addr: str) -> Account:
    """Spend the link and set the new password; every session and device of
    the account is signed out and both addresses get a notice. Raises
    ``LinkError`` or ``ValidationError`` (policy)."""
    with transaction.atomic():
        token = ResetToken.objects.select_for_update().filter(token_hash=_token_hash(raw)).first()
        if token is None or token.used_at is not None or token.expires_at <= timezone.now():
            raise LinkError("Ce lien n'est plus valable.")
        account = token.account
        check_set_password(account, password)
        now = timezone.now()
        ResetToken.objects.filter(account=account, used_at__isnull=True).update(used_at=now)
        do_end_all(account)
        journal.do_record(account, EventKind.PASSWORD_RESET, protocol="web", remote_addr=remote_addr)
    send_password_changed(account, how="par le lien « Mot de passe oublié »",
                          secure_url=not_me_url(account, base_url))
    return account


# --- changes while signed in -------------------------------------------------------------


def check_change_password(account: Account, current: str, new: str, *, keep_session_key: str | None,
                          keep_device_id: int | None, base_url: str, remote_addr: str) -> None:
    """Raises ``ValueError`` for a wrong current password, ``ValidationError``
    for the policy. Other sessions and devices are signed out."""
    if not account.check_password(current):
        raise ValueError("Le mot de passe actuel est incorrect.")
    check_set_password(account, new)
    do_end_all(account, keep_session_key=keep_session_key, keep_device_id=keep_device_id)
    journal.do_record(account, EventKind.PASSWORD_CHANGED, protocol="web", remote_addr=remote_addr)
    send_password_changed(account, how="depuis « Sécurité du compte »", secure_url=not_me_url(account, base_url))


def do_change_secondary(account: Account, address: str, *, remote_addr: str) -> None:
    old = account.secondary_address
    account.secondary_address = address
    account.secondary_verified = True
    account.save(update_fields=["secondary_address", "secondary_verified", "updated_at"])
    journal.do_record(account, EventKind.SECONDARY_CHANGED, protocol="web", remote_addr=remote_addr,
                      detail=address)
    send_secondary_changed(account, old)


def do_set_alerts(account: Account, *, new_device: bool, copy_secondary: bool, remote_addr: str) -> None:
    account.alert_new_device = new_device
    account.alert_copy_secondary = copy_secondary
    account.save(update_fields=["alert_new_device", "alert_copy_secondary", "updated_at"])
    state = "activées" if new_device else "désactivées"
    journal.do_record(account, EventKind.ALERTS_CHANGED, protocol="web", remote_addr=remote_addr,
                      detail=f"alertes {state}" + (", copie à l'adresse de secours" if copy_secondary else ""))


# --- "Ce n'était pas moi ?" ------------------------------------------------------------------


def not_me_url(account: Account, base_url: str) -> str:
    """A link, valid two weeks, that lets the owner sign out everywhere without
    signing in (the mailbox that received it is the proof)."""
    token = signing.dumps({"a": account.pk}, salt=_NOT_ME_SALT, compress=True)
    return base_url.rstrip("/") + reverse("accounts:not_me", args=[token])


def access_not_me(token: str) -> Account:
    """Raises ``LinkError`` for a bad or old link."""
    try:
        data = signing.loads(token, salt=_NOT_ME_SALT, max_age=NOT_ME_MAX_AGE)
    except signing.BadSignature:
        raise LinkError("Ce lien n'est plus valable.") from None
    account = Account.objects.filter(pk=data.get("a")).first()
    if account is None:
        raise LinkError("Ce lien n'est plus valable.")
    return account


def do_secure_account(account: Account, *, remote_addr: str) -> int:
    """Close every session, forget every device; the journal keeps the report."""
    closed = do_end_all(account)
    journal.do_record(account, EventKind.NOT_ME, protocol="web", remote_addr=remote_addr,
                      detail=f"{closed} session(s) fermée(s)")
    return closed


ACTIVATION = str(CodePurpose.ACTIVATION)
SECONDARY = str(CodePurpose.SECONDARY)
