"""Sender Rewriting Scheme (SRS, Shevek's "Sender Rewriting Scheme" paper and
Meng Weng Wong's SPF forwarding notes), compatible with libsrs2, postsrsd and
Exim's SRS: forwarded mail leaves with an envelope sender in our domain, so
SPF checks our servers, and a bounce to that address finds its way back.

- ``SRS0=HHHH=TT=domain=local@ours``: HHHH is the HMAC-SHA1 (key
  ``settings.SRS_SECRET``, made once under ``var/srs_secret``) of the
  lower-cased timestamp, domain and local part, base64, first 4 characters;
  TT the day number modulo 1024 in base32 (``A-Z2-7``).
- An address that already is SRS0 of another forwarder becomes
  ``SRS1=HHHH=forwarder==HHHH=TT=domain=local@ours`` (the hash covers the
  first forwarder and the rest), so chains do not grow; SRS1 of another
  forwarder is re-hashed, never nested.
- ``reverse`` checks hash (case-insensitively, as libsrs2: some MTAs lower-case
  local parts) and age (``SRS_MAX_AGE_DAYS``, 21 by default: later bounces are
  refused, so an SRS address cannot be used as an open relay forever).

Pure functions: no database, safe to call from protocol code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings

SEPARATORS = "=-+"
HASH_LENGTH = 4
_TIME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TIME_PRECISION = 24 * 3600  # one day
_TIME_SLOTS = 1024  # two base32 characters


class SRSError(ValueError):
    """Not a valid SRS address of ours (bad syntax, hash, or too old)."""


def is_srs(address: str) -> bool:
    local = address.rpartition("@")[0]
    return len(local) > 5 and local[:4].upper() in ("SRS0", "SRS1") and local[4] in SEPARATORS


def _secrets() -> list[str]:
    # The first signs; the others (ACADEMAIL_SRS_OLD_SECRETS) still verify during a rotation.
    return [settings.SRS_SECRET, *getattr(settings, "SRS_OLD_SECRETS", [])]


def _hash(secret: str, *parts: str) -> str:
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    for part in parts:
        # libsrs2 lower-cases ASCII only, byte by byte.
        mac.update(part.encode("utf-8", "surrogateescape").lower())
    return base64.b64encode(mac.digest()).decode()[:HASH_LENGTH]


def _check_hash(given: str, *parts: str) -> None:
    if len(given) < HASH_LENGTH:
        raise SRSError("hash too short")
    given = given[:HASH_LENGTH].lower()
    for secret in _secrets():
        if hmac.compare_digest(given, _hash(secret, *parts).lower()):
            return
    raise SRSError("hash invalid")


def timestamp(now: float | None = None) -> str:
    day = int((time.time() if now is None else now) // _TIME_PRECISION)
    return _TIME_CHARS[(day >> 5) & 31] + _TIME_CHARS[day & 31]


def _check_timestamp(stamp: str, now: float | None) -> None:
    if len(stamp) != 2:
        raise SRSError("bad timestamp")
    then = 0
    for char in stamp.upper():
        index = _TIME_CHARS.find(char)
        if index < 0:
            raise SRSError("bad timestamp character")
        then = (then << 5) | index
    today = int((time.time() if now is None else now) // _TIME_PRECISION) % _TIME_SLOTS
    while today < then:  # the day counter wrapped (or a stamp from the future: very old then)
        today += _TIME_SLOTS
    if today > then + int(settings.SRS_MAX_AGE_DAYS):
        raise SRSError("timestamp out of date")


def forward(sender: str, domain: str, *, now: float | None = None) -> str:
    """The envelope sender for ``sender``'s mail forwarded by ``domain`` (one of ours).
    The null sender stays null (RFC 5321 §4.5.5: nothing bounces a bounce)."""
    sender = sender.strip().strip("<>")
    if not sender or "@" not in sender:
        return sender
    local, _, host = sender.rpartition("@")
    secret = _secrets()[0]
    tag, sep = local[:4].upper(), local[4:5]
    if tag == "SRS1" and sep and sep in SEPARATORS:
        # SRS1=HHHH=firsthost==rest@other: keep firsthost and rest, new hash.
        try:
            _, first_host, rest = local[5:].split("=", 2)
        except ValueError:
            pass
        else:
            if first_host and rest:
                return f"SRS1={_hash(secret, first_host, rest)}={first_host}={rest}@{domain}"
    if tag == "SRS0" and sep and sep in SEPARATORS:
        rest = local[4:]  # with its separator: "=HHHH=TT=domain=local"
        return f"SRS1={_hash(secret, host, rest)}={host}={rest}@{domain}"
    stamp = timestamp(now)
    return f"SRS0={_hash(secret, stamp, host, local)}={stamp}={host}={local}@{domain}"


def reverse(address: str, *, now: float | None = None) -> str:
    """The address an SRS address of ours stands for (SRS1 gives the first
    forwarder's SRS0 address); raises SRSError when the address is not one we
    made or is older than ``SRS_MAX_AGE_DAYS``."""
    local = address.strip().strip("<>").rpartition("@")[0]
    if not is_srs(address.strip().strip("<>")):
        raise SRSError("not an SRS address")
    tag = local[:4].upper()
    if tag == "SRS1":
        try:
            given, host, rest = local[5:].split("=", 2)
        except ValueError:
            raise SRSError("malformed SRS1 address") from None
        if not host or not rest:
            raise SRSError("malformed SRS1 address")
        _check_hash(given, host, rest)
        return f"SRS0{rest}@{host}"
    try:
        given, stamp, host, user = local[5:].split("=", 3)
    except ValueError:
        raise SRSError("malformed SRS0 address") from None
    if not host or not user:
        raise SRSError("malformed SRS0 address")
    _check_timestamp(stamp, now)
    _check_hash(given, stamp, host, user)
    return f"{user}@{host}"
