"""Encryption at rest and keyed hashing of the NUMEN.

Both keys derive from ``settings.NUMEN_KEY`` with HKDF under distinct labels, so
a leaked lookup hash says nothing about the ciphertext key. The hash lets
"identifier + NUMEN" checks and uniqueness run as an indexed equality, without
ever decrypting a row.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION = b"\x01"


@lru_cache(maxsize=4)
def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(
        secret.encode()
    )


def _keys() -> tuple[bytes, bytes]:
    secret = settings.NUMEN_KEY
    return _derive(secret, b"academail numen encryption"), _derive(secret, b"academail numen lookup")


def numen_hash(numen: str) -> str:
    """Keyed hash of an already normalised NUMEN, for lookups."""
    return hmac.new(_keys()[1], numen.encode(), hashlib.sha256).hexdigest()


def encrypt_numen(numen: str) -> bytes:
    nonce = os.urandom(12)
    return _VERSION + nonce + AESGCM(_keys()[0]).encrypt(nonce, numen.encode(), _VERSION)


def decrypt_numen(blob: bytes) -> str:
    blob = bytes(blob)
    if blob[:1] != _VERSION:
        raise ValueError("unknown NUMEN ciphertext version")
    return AESGCM(_keys()[0]).decrypt(blob[1:13], blob[13:], _VERSION).decode()


def mask_numen(numen: str) -> str:
    """What a list may show: the académie code and the last two characters."""
    return f"{numen[:2]}•••••••••{numen[-2:]}" if len(numen) == 13 else "•" * 13


# --- other secrets of the identity app ----------------------------------------------------
# Their own HKDF labels: a leak of one kind of key or hash says nothing of another.


def keyed_hash(label: bytes, *parts: str) -> str:
    """HMAC-SHA-256 under a key derived from ``NUMEN_KEY`` for ``label``
    (app passwords, recovery codes)."""
    key = _derive(settings.NUMEN_KEY, b"academail keyed hash " + label)
    return hmac.new(key, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()


def encrypt_totp_secret(secret: bytes) -> bytes:
    key = _derive(settings.NUMEN_KEY, b"academail totp encryption")
    nonce = os.urandom(12)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, secret, _VERSION + b"totp")


def decrypt_totp_secret(blob: bytes) -> bytes:
    blob = bytes(blob)
    if blob[:1] != _VERSION:
        raise ValueError("unknown TOTP ciphertext version")
    key = _derive(settings.NUMEN_KEY, b"academail totp encryption")
    return AESGCM(key).decrypt(blob[1:13], blob[13:], _VERSION + b"totp")
