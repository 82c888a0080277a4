"""SASL responses as IMAP and ManageSieve receive them (base64 on the wire):
PLAIN (RFC 4616) and the two steps of LOGIN (draft-murchison-sasl-login).
One decoder, so both protocols refuse the same malformed answers the same way.
(SMTP submission gets these decoded by aiosmtpd.)"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass


class SaslError(ValueError):
    """The client's response is not valid base64, or not what the mechanism expects."""


@dataclass(frozen=True)
class Plain:
    authzid: str
    user: str
    password: str = ""

    @property
    def acts_for_another(self) -> bool:
        """RFC 4616 §2: an authorisation identity other than the user's own
        (proxy authorisation, which nobody is granted here)."""
        return bool(self.authzid) and self.authzid.lower() != self.user.lower()


def decode_base64(data: bytes) -> bytes:
    """Strict base64 (RFC 4648 §4: no characters outside the alphabet)."""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise SaslError("invalid base64") from None


def decode_plain(response: bytes) -> Plain:
    """RFC 4616 §2: base64 of ``authzid NUL authcid NUL passwd``, in UTF-8."""
    try:
        authzid, authcid, password = (part.decode() for part in decode_base64(response).split(b"\x00"))
    except ValueError:  # wrong number of parts, or not UTF-8
        raise SaslError("invalid PLAIN response") from None
    return Plain(authzid, authcid, password)


def decode_login_step(response: bytes) -> str:
    """One answer of LOGIN (the user name, then the password): base64 of UTF-8."""
    try:
        return decode_base64(response).decode()
    except UnicodeDecodeError:
        raise SaslError("invalid LOGIN response") from None
