"""The THREAD answers (RFC 5256 §4) of this process's recent commands, as
Dovecot keeps ``dovecot.index.thread`` beside a mailbox: a webmail such as
Roundcube asks ``UID THREAD REFERENCES UTF-8 ALL`` again on every page of a
threaded list, and at 100,000 messages each answer costs a few hundred ms
of CPU (bench/imap_sort.py).

An entry is keyed by the mailbox's state (``store.imap.mailbox_state``:
UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT, message count), with the algorithm,
the search criterion, whose \\Seen it tests and, for sequence numbers, the
session's UIDs. Every change to a mailbox's messages or flags moves that
state in the transaction that makes it, and a message's threading data
never changes, so an entry can only ever answer for the very messages it
was computed from: nothing is invalidated by hand, and an answer is stored
only when the state read after computing it is still the one read before
(no change committed in between). A criterion that reads no flag and no
MODSEQ (``ALL``, the usual webmail's) is keyed without HIGHESTMODSEQ: the
set of messages is then (UIDVALIDITY, UIDNEXT, count), since an APPEND or
COPY raises UIDNEXT and, for one UIDNEXT, each EXPUNGE lowers the count;
so reading a message (\\Seen) does not throw its thread list away. When a
mailbox's state moves, the entries it outdates are dropped at the next
look-up, since no command can ask for them again. Bounded in entries and
in characters (``academail.lru``); shared by the store threads, the LRU
has its lock."""

from __future__ import annotations

from collections.abc import Hashable

from academail.lru import LRU

State = tuple[int, int, int, int]  # store.imap.mailbox_state
Kept = tuple[int, int | None, int, int]  # the same, HIGHESTMODSEQ None for a criterion reading no flag


class ThreadAnswers:
    """Least recently used answers, at most ``entries`` of them and
    ``chars`` characters in all (``academail.lru``, weighed in characters;
    an answer alone larger than a quarter of that is not kept)."""

    def __init__(self, entries: int, chars: int) -> None:
        self.entries = entries
        self.chars = chars
        self._answers: LRU[tuple[int, Kept, Hashable], str] = LRU(chars, len, entries=entries)

    def get(self, mailbox_id: int, state: State, query: Hashable, *, flags: bool) -> str | None:
        """The answer kept for ``query`` on the mailbox in ``state``; ``flags``:
        whether the query's criterion reads flags or MODSEQ."""
        self._see(mailbox_id, state)
        return self._answers.get((mailbox_id, _kept(state, flags), query))

    def put(self, mailbox_id: int, state: State, query: Hashable, text: str, *, flags: bool) -> None:
        if len(text) > self.chars // 4:
            return
        self._see(mailbox_id, state)
        self._answers.put((mailbox_id, _kept(state, flags), query), text)

    def clear(self) -> None:
        self._answers.clear()

    def __len__(self) -> int:
        return len(self._answers)

    def _see(self, mailbox_id: int, state: State) -> None:
        """Drop the mailbox's entries that ``state`` outdates: no command asks
        for them again (HIGHESTMODSEQ and UIDNEXT only grow, the count only
        falls for one UIDNEXT). Another thread may put between this and the
        look-up that follows: harmless, an entry answers only for its exact
        key, and the next look-up of the mailbox drops what is outdated."""
        self._answers.discard_where(lambda key: key[0] == mailbox_id and _outdated(key[1], state))


def _kept(state: State, flags: bool) -> Kept:
    return state if flags else (state[0], None, state[2], state[3])


def _outdated(kept: Kept, state: State) -> bool:
    return any(part is not None and part != now for part, now in zip(kept, state, strict=True))


# A 100,000-message answer is ~0.7 million characters: 16 MB keeps a few
# large mailboxes' answers and many small ones', and bounds the memory.
ANSWERS = ThreadAnswers(64, 16_000_000)

__all__ = ["ANSWERS", "State", "ThreadAnswers"]
