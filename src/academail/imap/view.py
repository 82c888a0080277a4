"""The selected mailbox as one session sees it (RFC 3501 §2.3.1.2): sequence
numbers are positions in a compact ``array('I')`` of UIDs, which changes only
when the session is allowed to tell the client (EXISTS after new mail, EXPUNGE
or VANISHED at the points RFC 3501 §7.4.1 allows), so numbers the client holds
stay valid between those points."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from academail.imap.parsing.lexer import SequenceSet


class InvalidSequence(ValueError):
    pass


class SelectedView:
    def __init__(
        self, *, mailbox_id: int, name: str, uidvalidity: int, uids: array[int], highestmodseq: int,
        uidnext: int, readonly: bool,
    ) -> None:
        self.mailbox_id = mailbox_id
        self.name = name
        self.uidvalidity = uidvalidity
        self.uids = uids
        self.modseq = highestmodseq  # every change up to here has been reported
        self.uidnext = uidnext
        self.readonly = readonly
        # Expunged by another session but not yet announced (not allowed then).
        self.pending_expunge: set[int] = set()
        # Flag changes this session made and already reported: uid -> modseq.
        self.reported: dict[int, int] = {}
        self.poked = False  # an event arrived for this mailbox since the last resync

    @property
    def exists(self) -> int:
        return len(self.uids)

    @property
    def last_uid(self) -> int:
        return self.uids[-1] if self.uids else 0

    def seq_of(self, uid: int) -> int | None:
        i = bisect_left(self.uids, uid)
        return i + 1 if i < len(self.uids) and self.uids[i] == uid else None

    def uids_for(self, sequence: SequenceSet, *, uid: bool) -> list[int]:
        """UIDs named by a sequence set, ascending, without duplicates. For
        sequence numbers beyond EXISTS: InvalidSequence (RFC 9051 §6.4.5 BAD);
        a UID set simply skips UIDs that do not exist (RFC 3501 §6.4.8)."""
        if not self.uids:
            if uid or all(0 in r for r in sequence.ranges):
                return []
            raise InvalidSequence("no messages in this mailbox")
        if uid:
            spans = []
            for lo, hi in sequence.resolve(self.last_uid):
                spans.append((bisect_left(self.uids, lo), bisect_right(self.uids, hi)))
        else:
            spans = []
            for lo, hi in sequence.resolve(self.exists):
                if hi > self.exists:
                    raise InvalidSequence(f"sequence number {hi} > {self.exists} messages")
                spans.append((lo - 1, hi))
        return _union(self.uids, spans)

    def add(self, uids: Iterable[int]) -> None:
        last = self.last_uid
        self.uids.extend(u for u in uids if u > last)

    def remove(self, uids: Iterable[int]) -> list[int]:
        """Remove ``uids``; return their sequence numbers in descending order, as
        EXPUNGE responses must be sent (each one renumbers the following ones)."""
        gone = {u for u in uids if self.seq_of(u) is not None}
        if not gone:
            return []
        seqs = sorted((i + 1 for i, u in enumerate(self.uids) if u in gone), reverse=True)
        self.uids = array("I", (u for u in self.uids if u not in gone))
        for u in gone:
            self.reported.pop(u, None)
            self.pending_expunge.discard(u)
        return seqs


def _union(uids: array[int], spans: list[tuple[int, int]]) -> list[int]:
    spans.sort()
    out: list[int] = []
    end = -1
    for start, stop in spans:
        start = max(start, end)
        if start < stop:
            out.extend(uids[start:stop])
            end = stop
    return out
