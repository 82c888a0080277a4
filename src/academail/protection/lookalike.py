"""Look-alike domains: typos (one or two inserted, removed, replaced or
swapped characters), the académie's name inside another domain
(``ac-demo.fr.example.com``, ``ac-demo-fr.com``), and IDN homoglyphs compared
through confusable skeletons (Unicode TR39 §4), built from the confusables
data that ``confusable_homoglyphs`` ships (the Unicode consortium's
confusables.txt), not a hand-typed table.

Bounded: names are cut to 253 characters, undecodable IDNs are compared as
they are, and the edit distance stops as soon as it exceeds 2.
"""

from __future__ import annotations

from functools import cache, lru_cache

from django.conf import settings

MAX_NAME = 253
# Latin letters and digits that TR39 itself calls confusable with one another.
_ASCII_CLASS = {"1": "l", "i": "l", "|": "l", "0": "o"}


@cache
def _skeleton_table() -> dict[str, str]:
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for char, homoglyphs in confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        for glyph in homoglyphs:
            target = glyph["c"].strip("\u200e")
            if len(target) == 1 and target.isascii() and target.isalnum():
                table[char] = target.lower()
                break
    return table


def decode_idn(domain: str) -> str:
    """Unicode form of a domain (``xn--`` labels decoded); as given when a
    label does not decode."""
    labels = []
    for label in domain[:MAX_NAME].lower().split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except (UnicodeError, ValueError):
                pass
        labels.append(label)
    return ".".join(labels)


@lru_cache(maxsize=20_000)
def skeleton(domain: str) -> str:
    """TR39-style skeleton: homoglyphs of Latin letters become those letters,
    then 1/i/l and 0/o fold together."""
    table = _skeleton_table()
    text = decode_idn(domain)
    mapped = "".join(table.get(c, c) for c in text.lower())
    return "".join(_ASCII_CLASS.get(c, c) for c in mapped)


def _within_two(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count 1), capped at 3."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > 2:
            return 3
        previous2, previous = previous, current
    return min(previous[-1], 3)


def protected_domains() -> tuple[str, ...]:
    """The académie's domains and the configured trusted ones."""
    return (*settings.MAIL_DOMAINS, *settings.PROTECTION_TRUSTED_DOMAINS)


def imitated(domain: str) -> str | None:
    """The protected domain that ``domain`` imitates, or None (None too for a
    protected domain itself and its subdomains)."""
    return _imitated(domain[:MAX_NAME].lower().rstrip("."), protected_domains())


@lru_cache(maxsize=20_000)
def _imitated(domain: str, protected: tuple[str, ...]) -> str | None:
    """``imitated`` for one list of protected domains: a newsletter's hundred
    links to three hosts cost three comparisons, and so do the next
    messages from the same senders. Keyed by the list too, so a changed
    setting is never answered from the old one."""
    if not domain:
        return None
    for real in protected:
        if domain == real or domain.endswith("." + real):
            return None
    shape = skeleton(domain)
    for real in protected:
        real_shape = skeleton(real)
        if shape == real_shape:
            return real  # homoglyphs only
        if domain.startswith(real + ".") or domain.startswith(real.replace(".", "-") + "."):
            return real  # ac-demo.fr.example.com, ac-demo-fr.com
        stem = real.rsplit(".", 1)[0]
        first = domain.split(".")[0]
        if len(stem) >= 5 and (first == stem or first == real.replace(".", "-")):
            return real  # ac-demo.com, ac-demo-fr.net: the name under another suffix
        if len(real) >= 6 and _within_two(shape, real_shape) <= (1 if len(real) < 9 else 2):
            return real  # typos
    return None
