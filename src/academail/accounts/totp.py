"""The second factor of the web sign-in: TOTP (RFC 6238) with an authenticator
app, and 10 single-use recovery codes. Optional for staff, required for the
administrator and support roles (``is_required``). Never used by IMAP or SMTP,
which have app passwords (``accounts.apppasswords``).

Our own RFC 4226/6238 code rather than django-otp: the sign-in here is a
custom two-step flow in which nobody is signed in (``login()``) before the
second factor passes, failures go to the shared ``accounts.throttle`` buckets
and the journal, and the secret is AES-GCM encrypted like the NUMEN
(``accounts.secrets``). django-otp would bring its own middleware, models that
keep the key in clear, and a verification made for an already signed-in user;
what we need from it is the 20 lines of HOTP below.

Codes are accepted one step (30 s) either side of now (RFC 6238 §5.2) and
never twice (``TotpDevice.last_counter``, §5.2 again).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.db import transaction
from django.utils import timezone

from academail.accounts import journal, throttle
from academail.accounts.models import Account, EventKind, RecoveryCode, Role, TotpDevice
from academail.accounts.secrets import decrypt_totp_secret, encrypt_totp_secret, keyed_hash

ISSUER = "Académie"
STEP = 30
DIGITS = 6
DRIFT = 1  # steps accepted either side of now
RECOVERY_CODES = 10
REQUIRED_ROLES = frozenset({str(Role.ADMIN), str(Role.SUPPORT)})
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes
_RECOVERY_LABEL = b"recovery code"


# --- RFC 4226 / RFC 6238 -------------------------------------------------------------


def hotp(secret: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 §5.3: HMAC-SHA-1, dynamic truncation, modulo 10^digits."""
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def counter_at(now: float | None = None) -> int:
    """RFC 6238 §4.2: T = floor((now - T0) / X), T0 = 0, X = 30 s."""
    return int((time.time() if now is None else now) // STEP)


def totp(secret: bytes, now: float | None = None) -> str:
    return hotp(secret, counter_at(now))


def new_secret() -> bytes:
    return secrets.token_bytes(20)  # 160 bits, RFC 4226 §4 R6 recommends it


def b32(secret: bytes) -> str:
    return base64.b32encode(secret).decode().rstrip("=")


def from_b32(text: str) -> bytes:
    text = text.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def otpauth_uri(secret: bytes, account: Account) -> str:
    """The Key URI Format authenticator apps read from the QR code."""
    label = quote(f"{ISSUER}:{account.identifier}", safe="")
    query = urlencode({"secret": b32(secret), "issuer": ISSUER, "algorithm": "SHA1",
                       "digits": DIGITS, "period": STEP}, quote_via=quote)
    return f"otpauth://totp/{label}?{query}"


# --- state of an account ----------------------------------------------------------------


def has_device(account: Account) -> bool:
    return TotpDevice.objects.filter(account=account).exists()


def is_required(account: Account) -> bool:
    return account.role in REQUIRED_ROLES


def recovery_codes_left(account: Account) -> int:
    return RecoveryCode.objects.filter(account=account, used_at__isnull=True).count()


# --- enrolment --------------------------------------------------------------------------


def _clean_code(code: str) -> str:
    return "".join(code.split())


def _matching_counter(secret: bytes, code: str, after: int, now: float | None = None) -> int | None:
    code = _clean_code(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    current = counter_at(now)
    for counter in range(current - DRIFT, current + DRIFT + 1):
        if counter > after and hmac.compare_digest(hotp(secret, counter), code):
            return counter
    return None


def check_enrol(account: Account, secret: bytes, code: str, *, remote_addr: str) -> list[str] | None:
    """Confirm an authenticator app that shows ``code`` for ``secret``: the
    device is saved (replacing any earlier one) and 10 new recovery codes are
    returned, to be shown once. ``None`` if the code is wrong."""
    counter = _matching_counter(secret, code, -1)
    if counter is None:
        return None
    with transaction.atomic():
        TotpDevice.objects.filter(account=account).delete()
        TotpDevice.objects.create(account=account, secret_ciphertext=encrypt_totp_secret(secret),
                                  last_counter=counter)
        codes = _new_recovery_codes(account)
        journal.do_record(account, EventKind.TOTP_ENABLED, protocol="web", remote_addr=remote_addr)
    return codes


def _recovery_digest(account_id: int, code: str) -> str:
    return keyed_hash(_RECOVERY_LABEL, str(account_id), _clean_code(code).lower().replace("-", ""))


def _new_recovery_codes(account: Account) -> list[str]:
    RecoveryCode.objects.filter(account=account).delete()
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.bulk_create(
        RecoveryCode(account=account, digest=_recovery_digest(account.pk, code)) for code in codes
    )
    return codes


def do_regenerate_recovery_codes(account: Account, *, remote_addr: str) -> list[str]:
    with transaction.atomic():
        codes = _new_recovery_codes(account)
    journal.do_record(account, EventKind.TOTP_ENABLED, protocol="web", remote_addr=remote_addr,
                      detail="nouveaux codes de secours")
    return codes


def do_disable(account: Account, *, remote_addr: str, detail: str = "") -> None:
    with transaction.atomic():
        TotpDevice.objects.filter(account=account).delete()
        RecoveryCode.objects.filter(account=account).delete()
    journal.do_record(account, EventKind.TOTP_DISABLED, protocol="web", remote_addr=remote_addr,
                      detail=detail)


def do_admin_reset(account: Account, *, by: Account, remote_addr: str = "") -> None:
    """An administrator removes the person's second factor (lost phone and
    recovery codes); they enrol again at their next sign-in if their role
    requires it. Journaled in the person's journal, naming the administrator."""
    from academail.accounts.devices import do_end_all

    with transaction.atomic():
        TotpDevice.objects.filter(account=account).delete()
        RecoveryCode.objects.filter(account=account).delete()
        # Sessions opened with the old factor end: the next sign-in enrols anew.
        do_end_all(account, forget_devices=False)
    journal.do_record(account, EventKind.TOTP_RESET, protocol="web", remote_addr=remote_addr,
                      detail=f"par {by.identifier}")


def do_check_role_change(account: Account) -> int:
    """Called after a role change: a person who now needs a second factor and
    has none is signed out of the web, so the next sign-in enrols it (the
    sign-in itself never lets them in without one). Returns the number of
    sessions closed."""
    from academail.accounts.devices import do_end_all

    if not is_required(account) or has_device(account):
        return 0
    return do_end_all(account, forget_devices=False)


# --- the second step of the sign-in -------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    ok: bool
    retry_after: int = 0
    recovery_used: bool = False


def buckets(account: Account, remote_addr: str) -> list[str]:
    """Where second-step failures count: the source address, and the account
    itself (whoever is here already knows the password, and a stolen password
    must not buy unlimited guesses by changing browser cookie)."""
    return [throttle.address_key(remote_addr), f"totp:{account.pk}"]


def check_second_factor(account: Account, code: str, *, remote_addr: str, device: str = "",
                        now: float | None = None) -> Verdict:
    """Accept a TOTP code or an unused recovery code for ``account``, with
    the throttle of the password step (``accounts.throttle``). The caller
    signs the person in on ``ok``."""
    keys = buckets(account, remote_addr)
    wait = throttle.retry_after(keys)
    if wait:
        return Verdict(False, retry_after=wait)
    cleaned = _clean_code(code)
    ok = recovery = False
    with transaction.atomic():
        row = TotpDevice.objects.select_for_update().filter(account=account).first()
        if row is not None and cleaned.isdigit():
            counter = _matching_counter(decrypt_totp_secret(row.secret_ciphertext), cleaned,
                                        row.last_counter, now)
            if counter is not None:
                row.last_counter = counter
                row.last_used_at = timezone.now()
                row.save(update_fields=["last_counter", "last_used_at"])
                ok = True
        elif row is not None and cleaned:
            spent = RecoveryCode.objects.filter(
                account=account, used_at__isnull=True, digest=_recovery_digest(account.pk, cleaned)
            ).update(used_at=timezone.now())
            ok = recovery = spent == 1
    if not ok:
        throttle.record_failure(keys)
        journal.do_record(account, EventKind.TOTP_FAILED, protocol="web", remote_addr=remote_addr,
                          device=device)
        return Verdict(False)
    throttle.record_success([keys[1]])
    if recovery:
        journal.do_record(account, EventKind.RECOVERY_CODE_USED, protocol="web", remote_addr=remote_addr,
                          device=device, detail=f"{recovery_codes_left(account)} code(s) restant(s)")
    return Verdict(True, recovery_used=recovery)
