"""Hashed tokens for the spam classifier: the words of the subject and text,
their bigrams, and a few header tokens (sender domain, authentication
results), as rspamd's and mox's Bayes do.

Bounded whatever the input: only the first ``TEXT_BUDGET`` characters of text
are read, and at most ``MAX_TOKENS`` distinct tokens are kept. A token is a
63-bit integer (two CRC checksums of its UTF-8 text, computed in C): the
tables never hold the words themselves, and a lookup compares integers.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from functools import cache, lru_cache
from itertools import islice

from academail.store.search import fold

TEXT_BUDGET = 6_000  # characters of body text read (issue 13: bench/spam_quality.py, short and --long)
MAX_TOKENS = 300  # distinct tokens kept per message: twice the most telling the classifier combines
MAX_WORD = 24  # characters: a longer run of letters gives several words
_WORD = re.compile(r"[^\W_]{2,24}|[€$£]")
_CURRENCY = "€$£"
_MASK = (1 << 63) - 1


def token_id(text: str) -> int:
    # No cache: two C checksums of a short string cost less than a lookup in
    # an LRU cache (measured, bench/protection.py).
    data = text.encode("utf-8", "surrogatepass")
    return ((zlib.crc32(data) << 32) | zlib.adler32(data)) & _MASK


def token_ids(texts: Iterable[str]) -> list[int]:
    """``token_id`` of each text, the loop in C (``map``): a message has 300."""
    texts = list(texts)
    try:
        data = list(map(str.encode, texts))
    except UnicodeEncodeError:  # a lone surrogate (undecodable mail)
        return [token_id(t) for t in texts]
    checksums = zip(map(zlib.crc32, data), map(zlib.adler32, data), strict=True)
    return [((crc << 32) | adler) & _MASK for crc, adler in checksums]


@lru_cache(maxsize=50_000)
def _strip(word: str) -> str:
    # "réunion" and "reunion" are one token; once per distinct word.
    return fold(word)


@cache
def _word_table() -> tuple[bytes, re.Pattern[bytes]]:
    r"""``words`` as a Windows-1252 byte table (the repertoire of nearly all
    French mail): a word character (``[^\W_]``) becomes its folded byte, a
    currency sign stays, anything else becomes a space. The pattern finds the
    bytes whose folded form is not one byte (½, ª...): those texts take the
    regular expression."""
    table = bytearray(b" " * 256)
    special = []
    for byte in range(256):
        try:
            char = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            continue  # never produced by encoding
        if char in _CURRENCY:
            table[byte] = byte
        elif char.isalnum():  # what ``\w`` is for str patterns, "_" aside
            try:
                folded = fold(char).encode("cp1252")
            except UnicodeEncodeError:
                folded = b""
            if char in "œæ":
                table[byte] = byte  # two letters once folded: ``words`` unfolds them after cutting
            elif len(folded) == 1 and bytes(folded).decode("cp1252").isalnum():
                table[byte] = folded[0]
            else:
                special.append(re.escape(bytes([byte])))
    return bytes(table), re.compile(b"[" + b"".join(special) + b"]")


def words(text: str) -> list[str]:
    """Case- and accent-folded words (runs of 2 to ``MAX_WORD`` letters or
    digits, longer runs cut) and currency signs of ``text``'s first
    ``TEXT_BUDGET`` characters."""
    lowered = text[:TEXT_BUDGET].casefold()
    # The usual case in C: Windows-1252 text through one byte table, then
    # split; the regular expression and a fold per word cost twice as much.
    table, special = _word_table()
    try:
        raw = lowered.encode("cp1252")
    except UnicodeEncodeError:
        return _words_any(lowered)
    if special.search(raw):
        return _words_any(lowered)
    if any(sign in lowered for sign in _CURRENCY):
        for sign in _CURRENCY:
            lowered = lowered.replace(sign, f" {sign} ")
        raw = lowered.encode("cp1252")
    found = raw.translate(table).decode("cp1252").split()
    if max(map(len, found), default=0) > MAX_WORD:
        found = [piece for word in found for piece in _cut(word)]
    found = [w for w in found if len(w) > 1 or w in _CURRENCY]
    if "œ" in lowered or "æ" in lowered:  # kept as one letter by the table, to cut as the expression does
        return [w.replace("œ", "oe").replace("æ", "ae") for w in found]
    return found


def _cut(word: str) -> list[str]:
    return [word[i:i + MAX_WORD] for i in range(0, len(word), MAX_WORD)]


def _words_any(lowered: str) -> list[str]:
    """``words`` for text outside Windows-1252: the regular expression, and a
    fold per distinct word."""
    return [w if w.isascii() else _strip(w) for w in _WORD.findall(lowered)]


def tokenize(subject: str, text: str, extra: tuple[str, ...] = ()) -> list[int]:
    """Distinct token ids of a message, at most ``MAX_TOKENS``: ``extra``
    header tokens, subject words ("s:" prefix), body words, then bigrams."""
    body = words(text)
    seen = dict.fromkeys(extra)
    seen.update(dict.fromkeys("s:" + w for w in words(subject)[:50]))
    seen.update(dict.fromkeys(body))
    # Bigrams only until the budget is full (a 50 KB text has thousands),
    # made and deduplicated in C by slices of what is still missing.
    pairs = map(" ".join, zip(body, body[1:], strict=False))
    while len(seen) < MAX_TOKENS:
        chunk = list(islice(pairs, MAX_TOKENS - len(seen)))
        if not chunk:
            break
        seen.update(dict.fromkeys(chunk))
    return token_ids(islice(seen, MAX_TOKENS))
