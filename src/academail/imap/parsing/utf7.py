"""Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).

Decoding is strict: an unterminated shift, bad padding, a shifted run holding
only printable ASCII or two adjacent shifted runs are refused, because two
spellings of one name would let a client create look-alike folders.
"""

from __future__ import annotations

import base64
import binascii


class UTF7Error(ValueError):
    pass


def _printable(ch: str) -> bool:
    return 0x20 <= ord(ch) <= 0x7E


def encode(name: str) -> bytes:
    """``Envoyés`` -> ``Envoy&AOk-s``."""
    out: list[bytes] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append(b"&" + base64.b64encode(data).rstrip(b"=").replace(b"/", b",") + b"-")
            pending.clear()

    for ch in name:
        if _printable(ch):
            flush()
            out.append(b"&-" if ch == "&" else ch.encode("ascii"))
        else:
            pending.append(ch)
    flush()
    return b"".join(out)


def decode(data: bytes) -> str:
    """``Envoy&AOk-s`` -> ``Envoyés``; UTF7Error when not canonical modified UTF-7."""
    out: list[str] = []
    i = 0
    n = len(data)
    last_shift_end = -1
    while i < n:
        byte = data[i]
        if byte < 0x20 or byte > 0x7E:
            raise UTF7Error("8-bit or control character in a modified UTF-7 name")
        if byte != 0x26:  # "&"
            out.append(chr(byte))
            i += 1
            continue
        end = data.find(b"-", i + 1)
        if end < 0:
            raise UTF7Error("unterminated &-shift")
        chunk = data[i + 1 : end]
        if not chunk:
            out.append("&")
            i = end + 1
            continue
        if last_shift_end == i:
            raise UTF7Error("adjacent shifted runs")
        if len(chunk) % 4 == 1:
            raise UTF7Error("bad base64 length")
        try:
            raw = base64.b64decode(chunk.replace(b",", b"/") + b"=" * (-len(chunk) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise UTF7Error("bad modified base64") from None
        if len(raw) % 2:
            raise UTF7Error("odd UTF-16 length")
        try:
            text = raw.decode("utf-16-be")
        except UnicodeDecodeError:
            raise UTF7Error("bad UTF-16") from None
        if any(_printable(ch) for ch in text):
            raise UTF7Error("printable ASCII must not be shifted")
        if encode(text) != b"&" + chunk + b"-":
            raise UTF7Error("non-canonical modified base64")
        out.append(text)
        i = end + 1
        last_shift_end = i
    return "".join(out)
