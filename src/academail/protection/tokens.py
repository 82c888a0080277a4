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
from functools import lru_cache
from itertools import islice

from academail.store.search import fold

TEXT_BUDGET = 10_000  # characters of body text read
MAX_TOKENS = 500  # distinct tokens kept per message
_WORD = re.compile(r"[^\W_]{2,24}|https?://[^\s/]{1,100}|[€$£]")
_MASK = (1 << 63) - 1


def token_id(text: str) -> int:
    # No cache: two C checksums of a short string cost less than a lookup in
    # an LRU cache (measured, bench/protection.py).
    data = text.encode("utf-8", "surrogatepass")
    return ((zlib.crc32(data) << 32) | zlib.adler32(data)) & _MASK


@lru_cache(maxsize=50_000)
def _strip(word: str) -> str:
    # "réunion" and "reunion" are one token; once per distinct word.
    return fold(word)


def words(text: str) -> list[str]:
    """Case- and accent-folded words (and bare link hosts) of ``text``'s first
    ``TEXT_BUDGET`` characters."""
    return [w if w.isascii() else _strip(w) for w in _WORD.findall(text[:TEXT_BUDGET].casefold())]


def tokenize(subject: str, text: str, extra: tuple[str, ...] = ()) -> list[int]:
    """Distinct token ids of a message, at most ``MAX_TOKENS``: ``extra``
    header tokens, subject words ("s:" prefix), body words, then bigrams."""
    body = words(text)
    seen = dict.fromkeys(extra)
    seen.update(dict.fromkeys("s:" + w for w in words(subject)[:50]))
    seen.update(dict.fromkeys(body))
    if len(seen) < MAX_TOKENS:
        # Bigrams only until the budget is full: a 50 KB text has thousands.
        for first, second in zip(body, body[1:], strict=False):
            seen.setdefault(f"{first} {second}")
            if len(seen) >= MAX_TOKENS:
                break
    return [token_id(t) for t in islice(seen, MAX_TOKENS)]
