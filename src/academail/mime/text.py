"""Bytes to text for mail: content-transfer decoding (RFC 2045 §6), charset decoding
with the fallbacks real mail needs, and HTML reduced to plain text for previews and
the search index. Every function here accepts any input and never raises: a message
that cannot be read properly is still stored and shown as well as we can.
"""

from __future__ import annotations

import binascii
import codecs
import html
import re
from functools import lru_cache

# Codecs that Python knows but that are not charsets: a part labelled with one of
# them would be rendered differently from what any mail client shows.
_NOT_CHARSETS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "punycode", "idna", "undefined", "unicode_internal"}
)

# Labels seen in the wild that Python does not know, or knows under a narrower
# meaning than senders intend. Mapping latin-1 and gb2312 to their supersets is the
# WHATWG Encoding Standard practice: mislabelled windows-1252 and GBK text is common.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ks_c_5601-1987": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "x-sjis": "shift_jis",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "unicode-1-1-utf-7": "utf-7",
    "x-mac-roman": "mac_roman",
    "windows-874": "cp874",
    "utf8": "utf-8",
}

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NON_B64 = bytes(b for b in range(256) if b not in _B64_ALPHABET)

# Characters that must not reach a database text column or a terminal: NUL cannot
# be stored in PostgreSQL text/jsonb at all, the other C0 controls only confuse.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@lru_cache(maxsize=256)
def codec_for(charset: str | None) -> str | None:
    """Return a Python codec name for a MIME charset label, or None if unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").strip().lower()
    label = _CHARSET_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    # Non-text codecs (base64_codec, zlib_codec...) are flagged by the codec registry.
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("-", "_") in _NOT_CHARSETS:
        return None
    return info.name


def decode_text(data: bytes, charset: str | None, *, final: bool = True) -> str:
    """Decode bytes labelled with ``charset``; never raises.

    A known charset is tried strictly first; UTF-8 (also used for "us-ascii", which
    8-bit mailers routinely mislabel) falls back to windows-1252, which is what such
    text nearly always is in French mail. An unknown label is tried as UTF-8, then
    windows-1252. Undecodable bytes become U+FFFD. ``final=False`` drops an
    incomplete multi-byte sequence at the end, for decoding a truncated prefix.
    """
    codec = codec_for(charset)
    if codec is None or codec == "utf-8":
        if data.startswith(codecs.BOM_UTF8):
            data = data[3:]
        text = _try_decode(data, "utf-8", final)
        if text is not None:
            return text
        return _decode_replace(data, "cp1252", final)
    text = _try_decode(data, codec, final)
    if text is not None:
        return text
    return _decode_replace(data, codec, final)


def _try_decode(data: bytes, codec: str, final: bool) -> str | None:
    try:
        if final:
            return data.decode(codec)
        return codecs.getincrementaldecoder(codec)().decode(data, final=False)
    except (UnicodeDecodeError, LookupError, ValueError):
        return None


def _decode_replace(data: bytes, codec: str, final: bool) -> str:
    try:
        return codecs.getincrementaldecoder(codec)("replace").decode(data, final=final)
    except (LookupError, ValueError, UnicodeDecodeError):
        return data.decode("latin-1")


def clean_text(text: str) -> str:
    """Remove NUL and other C0 controls (keeping tab, LF and CR)."""
    return _CONTROL.sub("", text)


def b64decode_lenient(data: bytes) -> bytes:
    """Base64 as mail clients read it (RFC 2045 §6.8): characters outside the
    alphabet are ignored, missing padding is supplied, a dangling sixth bit dropped."""
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        pass
    clean = data.translate(None, _NON_B64)
    rest = len(clean) % 4
    if rest == 1:
        clean = clean[:-1]
    elif rest:
        clean += b"=" * (4 - rest)
    try:
        return binascii.a2b_base64(clean)
    except binascii.Error:
        return b""


def qp_decode(data: bytes, *, header: bool = False) -> bytes:
    """Quoted-printable (RFC 2045 §6.7; RFC 2047 §4.2 "Q" when ``header``)."""
    try:
        return binascii.a2b_qp(data, header=header)
    except (binascii.Error, ValueError):
        return data


def transfer_decode(data: bytes, encoding: str) -> bytes:
    """Undo a Content-Transfer-Encoding. Identity encodings (7bit, 8bit, binary) and
    unknown ones are returned as is: RFC 2045 §6.4 says an unknown encoding makes the
    body opaque, and the raw bytes are the best we can give."""
    if encoding == "base64":
        return b64decode_lenient(data)
    if encoding == "quoted-printable":
        return qp_decode(data)
    if encoding in ("x-uuencode", "uuencode", "x-uue"):
        return _uudecode(data)
    return data


def _uudecode(data: bytes) -> bytes:
    out = bytearray()
    started = False
    for line in data.splitlines():
        if not started:
            started = line.startswith(b"begin ")
            continue
        if line.strip() in (b"end", b"`"):
            break
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # Some encoders emit lines too long for their length byte.
            try:
                nbytes = (((line[0] - 32) & 63) * 4 + 5) // 3
                out += binascii.a2b_uu(line[:nbytes])
            except (binascii.Error, IndexError):
                continue
    return bytes(out)


# --- HTML to text -----------------------------------------------------------------

# One pass over the markup with patterns that cannot backtrack badly: each match
# either ends at the first ">" or runs to the end of the input, so the cost is linear
# even for broken markup (stdlib HTMLParser has had quadratic cases on such input).
_HTML_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*>?"
    r"|<[!?][^>]*>?",
    re.S,
)
# Elements whose content is never text a reader sees. Outlook puts <xml> islands
# and conditional comments in its HTML.
_SKIP_CONTENT = ("script", "style", "title", "template", "xml", "noscript", "head")
_CLOSE_TAG = {name: re.compile(r"</" + name + r"\b", re.I) for name in _SKIP_CONTENT}
_BLOCK = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer form h1 h2 "
    "h3 h4 h5 h6 header hr li main nav ol p pre section table td th tr ul".split()
)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document: tags, comments, scripts and styles removed,
    character references decoded. Block elements become line breaks."""
    out: list[str] = []
    pos = 0
    length = len(markup)
    while pos < length:
        m = _HTML_TOKEN.search(markup, pos)
        if m is None:
            out.append(markup[pos:])
            break
        out.append(markup[pos : m.start()])
        pos = m.end()
        name = m.group(2)
        if not name:
            continue
        name = name.lower()
        if not m.group(1) and name in _CLOSE_TAG:
            # <head> is skipped only up to its end tag; a missing </head> would
            # otherwise swallow the whole document, so it falls back to <body>.
            close = _CLOSE_TAG[name].search(markup, pos)
            if close is None and name == "head":
                close = re.compile(r"<body\b", re.I).search(markup, pos)
            pos = length if close is None else close.start()
            continue
        if name in _BLOCK:
            out.append("\n")
    return html.unescape("".join(out))


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())
