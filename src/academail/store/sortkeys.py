"""Sort keys of a message, stored on each ``store_message`` row so that a folder
sorted by sender or subject is read from an index (mailbox, key, uid) with
keyset pagination, like the default order by UID.

The keys are computed once per content (from the parse done at delivery), not
per recipient, and copied as they are by COPY/MOVE. Both are folded (lower
case, accents removed) so "Élodie" sorts with "elodie", and truncated: they
order, they are never shown.
"""

from __future__ import annotations

import re

from academail.store.search import fold

SORT_KEY_LENGTH = 100

# RFC 5256 §2.1 base subject, with the French prefixes people actually send
# ("TR :", "RE :", "Réf. :", "Rép :"): leading "xxx:" reply/forward markers and
# "[tag]" blobs, trailing "(fwd)", and a "[fwd: ...]" wrapper.
_LEADER = re.compile(
    r"^\s*(?:(?:re|fwd?|tr|ref|rep|aw|wg|sv|antw)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*|\[[^\[\]]*\]\s*)",
    re.IGNORECASE,
)
_TRAILER = re.compile(r"\s*\(fwd\)\s*$", re.IGNORECASE)
_FWD_WRAPPER = re.compile(r"^\[fwd:\s*(.*)\]$", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"\s+")


def base_subject(subject: str) -> str:
    """The RFC 5256 base subject, folded: "Re: [CA] TR : Réunion" -> "reunion".

    A subject that is only markers ("Re:") keeps its text rather than becoming
    empty, so it still sorts somewhere sensible."""
    text = _SPACES.sub(" ", fold(subject)).strip().replace("ref.", "ref")
    while True:
        previous = text
        text = _TRAILER.sub("", text)
        while True:
            stripped = _LEADER.sub("", text, count=1)
            if stripped == text:
                break
            if not stripped.strip():
                break  # "[tag]" alone is the subject
            text = stripped
        wrapped = _FWD_WRAPPER.match(text)
        if wrapped:
            text = wrapped.group(1).strip()
        if text == previous:
            break
    return text.strip()[:SORT_KEY_LENGTH]


def sender_key(name: str, address: str) -> str:
    """The display name when there is one, else the address, folded."""
    name = _SPACES.sub(" ", name.replace('"', "")).strip()
    return fold(name or address).strip()[:SORT_KEY_LENGTH]


def subject_key(subject: str) -> str:
    return base_subject(subject)


__all__ = ["SORT_KEY_LENGTH", "base_subject", "sender_key", "subject_key"]
