"""Sort keys of a message, stored on each ``store_message`` row so that a folder
sorted by sender or subject is read from an index (mailbox, key, uid) with
keyset pagination, like the default order by UID; and the thread keys IMAP
THREAD (RFC 5256 §2) reads from one index (``thread_keys``).

The keys are computed once per content (from the parse done at delivery), not
per recipient, and copied as they are by COPY/MOVE. Both are folded (lower
case, accents removed) so "Élodie" sorts with "elodie", and truncated: they
order, they are never shown.
"""

from __future__ import annotations

import hashlib
import re
import sys
from array import array
from typing import NamedTuple

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


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def from_key(address: str) -> str:
    """RFC 5256 §3 FROM: the addr-mailbox (local part) of the first From
    address, for the i;ascii-casemap collation (ASCII letters lowered, no
    other change), so SORT (FROM) is an index range."""
    return address.partition("@")[0].translate(_ASCII_LOWER)[:320]


# RFC 5256 §2.2 step (5)(B)/(C): whether a subject, as written, is a reply or
# a forward: a "Re:"/"Fwd:" leader (after any "[tag]"), a "(fwd)" trailer or a
# "[Fwd: ...]" wrapper (§2.1 steps (2)-(5)), with the French markers.
_REPLY = re.compile(
    r"^\s*(?:\[[^\[\]]*\]\s*)*(?:re|fwd?|tr|ref\.?|r[eé]p|aw|wg|sv|antw)\s*(?:\[\d+\])?\s*:|\(fwd\)\s*$|^\s*\[fwd:",
    re.IGNORECASE,
)

# A References chain longer than this is not kept on the message row (an
# index entry must stay well under PostgreSQL's ~2.7 KB): the row says so
# (``THREAD_REFS_ELSEWHERE``) and THREAD reads that message's chain from its
# content instead. Real chains are a few to a few dozen ids.
MAX_THREAD_REFS = 200
THREAD_REFS_ELSEWHERE = b"\xff"  # not a multiple of 8 bytes: no chain is ever this


def is_reply(subject: str) -> bool:
    return bool(_REPLY.search(subject))


def id_hash(message_id: str) -> int:
    """A 63-bit key for one normalised Message-ID ("<id>"), never 0 (0: none).
    Threading compares ids by this key: two distinct ids of one mailbox share
    it with a probability of about n²/2⁶⁴ (1 in 10⁹ for 100,000 messages)."""
    key = int.from_bytes(hashlib.blake2b(message_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
    return (key >> 1) or 1


def reference_chain(in_reply_to: str, references: str) -> list[str]:
    """RFC 5256 §2.2 step (1)(B): the References ids, else the first
    In-Reply-To id (fields as the content row keeps them: normalised ids
    separated by spaces). The message's own id is removed by the threading,
    once it knows whether the message is a duplicate."""
    return references.split() or in_reply_to.split()[:1]


class ThreadKeys(NamedTuple):
    """What ``store_message`` keeps for THREAD: the Message-ID's key (0: none),
    whether the subject is a reply, and the chain's keys packed as
    little-endian 64-bit ints (or ``THREAD_REFS_ELSEWHERE``)."""

    message_id: int
    reply: bool
    references: bytes


def thread_keys(subject: str, message_id: str, in_reply_to: str, references: str) -> ThreadKeys:
    """The ``ThreadKeys`` of a content from its row's fields (delivery, and
    migration 0019 from existing rows: the same input, the same keys)."""
    chain = reference_chain(in_reply_to, references)
    packed = THREAD_REFS_ELSEWHERE if len(chain) > MAX_THREAD_REFS else pack_keys([id_hash(ref) for ref in chain])
    return ThreadKeys(id_hash(message_id) if message_id else 0, is_reply(subject), packed)


def pack_keys(keys: list[int]) -> bytes:
    packed = array("q", keys)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack_keys(data: bytes) -> array[int]:
    keys = array("q")
    keys.frombytes(data)
    if sys.byteorder == "big":
        keys.byteswap()
    return keys


__all__ = [
    "MAX_THREAD_REFS", "SORT_KEY_LENGTH", "THREAD_REFS_ELSEWHERE", "ThreadKeys", "base_subject", "from_key", "id_hash",
    "is_reply", "pack_keys", "reference_chain", "sender_key", "subject_key", "thread_keys", "unpack_keys",
]
