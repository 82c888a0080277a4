"""DKIM (RFC 6376) for mail leaving the académie: the signing keys (one per
domain and selector, made by ``academail dkim-keygen``), signing with dkimpy,
and the DNS records an administrator publishes (DKIM key, SPF, DMARC).

Signing happens once per message, when it enters the outbound queue, so every
recipient gets the same signed bytes and no per-recipient work is repeated.
dkimpy canonicalises and builds the field; its RSA step is pure Python (about
18 ms per 2048-bit signature, holding the GIL), so ``_rsa_sign`` does that one
step with OpenSSL through ``cryptography`` (well under 1 ms), same bytes out.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from django.conf import settings

from academail.delivery.queue import header_section
from academail.mime.parse import parse_message

log = logging.getLogger(__name__)

# RFC 6376 §5.4.1: the fields worth signing. "from" twice oversigns it, so no
# second From can be added without breaking the signature (§8.15).
SIGNED_HEADERS = [
    b"from", b"from", b"sender", b"reply-to", b"subject", b"date", b"message-id", b"to", b"cc",
    b"mime-version", b"content-type", b"content-transfer-encoding", b"in-reply-to", b"references",
]


def key_path(domain: str, selector: str | None = None) -> Path:
    selector = selector or settings.DKIM_SELECTOR
    return Path(settings.DKIM_KEY_DIR) / f"{domain.lower()}.{selector}.key"


def generate_key(domain: str, *, selector: str | None = None, bits: int = 2048, force: bool = False) -> Path:
    """Create the RSA key for ``domain`` (owner-only file); keeps an existing one
    unless ``force``. RSA 2048, what every verifier supports (RFC 8301 §3.2)."""
    path = key_path(domain, selector)
    if path.exists() and not force:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _load_key.cache_clear()
    return path


def public_record(domain: str, selector: str | None = None) -> str:
    """The TXT value to publish at ``<selector>._domainkey.<domain>`` (RFC 6376 §3.6.1)."""
    pem = key_path(domain, selector).read_bytes()
    private = serialization.load_pem_private_key(pem, password=None)
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def dns_records(domain: str, selector: str | None = None) -> list[tuple[str, str]]:
    """(name, TXT value) to publish: DKIM key, SPF (RFC 7208) and DMARC (RFC 7489)."""
    selector = selector or settings.DKIM_SELECTOR
    return [
        (f"{selector}._domainkey.{domain}.", public_record(domain, selector)),
        (f"{domain}.", "v=spf1 mx -all"),
        (f"_dmarc.{domain}.", f"v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@{domain}"),
    ]


_HASHES: dict[str, hashes.HashAlgorithm] = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1()}  # noqa: S303


@lru_cache(maxsize=64)
def _openssl_key(modulus: int, public_exponent: int, private_exponent: int, p: int, q: int,
                 dmp1: int, dmq1: int, iqmp: int) -> rsa.RSAPrivateKey:
    public = rsa.RSAPublicNumbers(public_exponent, modulus)
    return rsa.RSAPrivateNumbers(p, q, private_exponent, dmp1, dmq1, iqmp, public).private_key()


def _rsa_sign(digest: Any, pk: dict[str, int]) -> bytes:
    """dkimpy's ``RSASSA_PKCS1_v1_5_sign(hash, private_key)`` (RFC 8017 §8.2.1)
    on OpenSSL: same input (the hash object and dkimpy's parsed key), same
    deterministic signature bytes."""
    key = _openssl_key(
        pk["modulus"], pk["publicExponent"], pk["privateExponent"], pk["prime1"], pk["prime2"],
        pk["exponent1"], pk["exponent2"], pk["coefficient"],
    )
    algorithm = _HASHES[digest.name.lower()]
    return key.sign(digest.digest(), padding.PKCS1v15(), utils.Prehashed(algorithm))


dkim.RSASSA_PKCS1_v1_5_sign = _rsa_sign  # the name dkim.DKIM.gen_header calls


@lru_cache(maxsize=64)
def _load_key(path: str, mtime: float) -> bytes:
    return Path(path).read_bytes()


def signature_for(raw: bytes, domain: str, *, also: Sequence[bytes] = ()) -> bytes:
    """A ``DKIM-Signature`` field (with CRLF) for ``raw`` signed as ``domain``,
    or b"" if the domain has no key. Relaxed/relaxed canonicalisation (§3.4):
    survives the header refolding relays do. ``also``: more fields to sign
    when the message carries them (a list's ``List-Unsubscribe`` and
    ``List-Unsubscribe-Post``, RFC 8058 §4); never signed when absent, so a
    list our users post to may still add its own."""
    path = key_path(domain)
    try:
        key = _load_key(str(path), path.stat().st_mtime)
    except FileNotFoundError:
        return b""
    try:
        return bytes(
            dkim.sign(
                raw,
                settings.DKIM_SELECTOR.encode(),
                domain.encode(),
                key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=SIGNED_HEADERS + [name.lower() for name in also],
            )
        )
    except Exception:  # a malformed message goes out unsigned rather than not at all
        log.exception("DKIM signing failed for %s", domain)
        return b""


def sign(raw: bytes) -> bytes:
    """``raw`` with a DKIM-Signature prepended for its From domain when that is
    one of ours (``MAIL_DOMAINS``, a key made by ``academail dkim-keygen``);
    unchanged otherwise. Sign the final bytes: trace fields above them are not
    signed (RFC 6376 §5.4), so they may be prepended before."""
    parsed = parse_message(header_section(raw))
    if not parsed.from_:
        return raw
    domain = parsed.from_[0].host.lower()
    if domain not in settings.MAIL_DOMAINS:
        return raw
    return signature_for(raw, domain) + raw
