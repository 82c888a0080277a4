"""The selected mailbox as one session sees it (RFC 3501 §2.3.1.2): sequence
numbers are positions in the session's UIDs (kept as runs, ``UidRuns``), which change only
when the session is allowed to tell the client (EXISTS after new mail, EXPUNGE
or VANISHED at the points RFC 3501 §7.4.1 allows), so numbers the client holds
stay valid between those points."""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator

from academail.imap.contexts import Contexts
from academail.imap.parsing.lexer import SequenceSet


class InvalidSequence(ValueError):
    pass


class UidRuns:
    """Ascending UIDs kept as runs of consecutive numbers: two small arrays
    (first UID of each run, number of UIDs before it) instead of four bytes
    per message. A mailbox's UIDs are mostly consecutive (holes come from
    expunges), so an idle session on a 50,000-message INBOX holds a few
    hundred bytes rather than 200 KB. Indexing and searching are O(log runs)."""

    __slots__ = ("_firsts", "_starts", "_len")

    def __init__(self, uids: Iterable[int] = ()) -> None:
        self._firsts: array[int] = array("I")
        self._starts: array[int] = array("I")  # index (0-based) of each run's first UID
        self._len = 0
        self.extend(uids)

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[int]:
        firsts, starts, total = self._firsts, self._starts, self._len
        for r, first in enumerate(firsts):
            end = starts[r + 1] if r + 1 < len(starts) else total
            yield from range(first, first + end - starts[r])

    def key(self) -> tuple[bytes, bytes, int]:
        """A small value equal for two equal lists of UIDs (the runs), to key
        what depends on them (``imap.threadcache``: sequence numbers)."""
        return self._firsts.tobytes(), self._starts.tobytes(), self._len

    def _run_length(self, r: int) -> int:
        end = self._starts[r + 1] if r + 1 < len(self._starts) else self._len
        return end - self._starts[r]

    def __getitem__(self, index: int) -> int:
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("uid index out of range")
        r = bisect_right(self._starts, index) - 1
        return self._firsts[r] + index - self._starts[r]

    def slice(self, start: int, stop: int) -> list[int]:
        """UIDs at indexes [start, stop), as a list."""
        out: list[int] = []
        start, stop = max(start, 0), min(stop, self._len)
        if start >= stop:
            return out
        r = bisect_right(self._starts, start) - 1
        while start < stop:
            run_end = self._starts[r] + self._run_length(r)
            upto = min(stop, run_end)
            first = self._firsts[r] + start - self._starts[r]
            out.extend(range(first, first + upto - start))
            start = upto
            r += 1
        return out

    def index_left(self, uid: int) -> int:
        """bisect_left: where ``uid`` is, or would be inserted."""
        r = bisect_right(self._firsts, uid) - 1
        if r < 0:
            return 0
        return self._starts[r] + min(uid - self._firsts[r], self._run_length(r))

    def index_right(self, uid: int) -> int:
        """bisect_right: after ``uid`` if present."""
        r = bisect_right(self._firsts, uid) - 1
        if r < 0:
            return 0
        return self._starts[r] + min(uid - self._firsts[r] + 1, self._run_length(r))

    def extend(self, uids: Iterable[int]) -> None:
        """Append UIDs (ascending, each above the last one held)."""
        firsts, starts = self._firsts, self._starts
        last = self[-1] if self._len else -1
        for uid in uids:
            if uid <= last:
                continue
            if uid != last + 1 or not firsts:
                firsts.append(uid)
                starts.append(self._len)
            self._len += 1
            last = uid


class RecentUids:
    """The UIDs that are \\Recent for this session (RFC 3501 §2.3.2): a few
    ranges [first, end), one per claim (SELECT, then each batch of new mail)."""

    __slots__ = ("ranges",)

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int]] = []

    def add(self, first: int, end: int) -> None:
        if first < end:
            self.ranges.append((first, end))

    def __contains__(self, uid: object) -> bool:
        return any(first <= uid < end for first, end in self.ranges)  # type: ignore[operator]

    def copy(self) -> RecentUids:
        other = RecentUids()
        other.ranges = list(self.ranges)
        return other


class SelectedView:
    def __init__(
        self, *, mailbox_id: int, name: str, uidvalidity: int, uids: Iterable[int], highestmodseq: int,
        uidnext: int, readonly: bool, rights: str = "", shared: bool = False, seen_for: int | None = None,
    ) -> None:
        self.mailbox_id = mailbox_id
        # Whose \Seen the session shows and searches: its own account in a
        # mailbox whose owner keeps \Seen per person (``store.seen``), read
        # at SELECT; None for the message's flag.
        self.seen_for = seen_for
        # Someone else's mailbox (RFC 2342 shared namespace): the session's
        # RFC 4314 rights there, read again before every command.
        self.shared = shared
        self.rights = rights
        self.name = name
        self.uidvalidity = uidvalidity
        self.uids = UidRuns(uids)
        self.modseq = highestmodseq  # every change up to here has been reported
        self.uidnext = uidnext
        self.readonly = readonly
        # Expunged by another session but not yet announced (not allowed then).
        self.pending_expunge: set[int] = set()
        # Flag changes this session made and already reported: uid -> modseq.
        self.reported: dict[int, int] = {}
        self.poked = False  # an event arrived for this mailbox since the last resync
        self.keywords: set[str] = set()  # keywords the client was told about in FLAGS
        self.recent = RecentUids()
        # Live searches (RFC 5267 §4.3): they end with the selection.
        self.contexts = Contexts()

    @property
    def recent_count(self) -> int:
        """Messages of the view that are \\Recent for this session."""
        return sum(self.uids.index_left(end) - self.uids.index_left(first) for first, end in self.recent.ranges)

    @property
    def exists(self) -> int:
        return len(self.uids)

    @property
    def last_uid(self) -> int:
        return self.uids[-1] if self.uids else 0

    def seq_of(self, uid: int) -> int | None:
        i = self.uids.index_left(uid)
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
                spans.append((self.uids.index_left(lo), self.uids.index_right(hi)))
        else:
            spans = []
            for lo, hi in sequence.resolve(self.exists):
                if hi > self.exists:
                    raise InvalidSequence(f"sequence number {hi} > {self.exists} messages")
                spans.append((lo - 1, hi))
        return _union(self.uids, spans)

    def add(self, uids: Iterable[int]) -> None:
        self.uids.extend(uids)

    def remove(self, uids: Iterable[int]) -> list[int]:
        """Remove ``uids``; return their sequence numbers in descending order, as
        EXPUNGE responses must be sent (each one renumbers the following ones)."""
        gone = {u for u in uids if self.seq_of(u) is not None}
        if not gone:
            return []
        seqs = sorted((i + 1 for i, u in enumerate(self.uids) if u in gone), reverse=True)
        self.uids = UidRuns(u for u in self.uids if u not in gone)
        for u in gone:
            self.reported.pop(u, None)
            self.pending_expunge.discard(u)
        return seqs


def _union(uids: UidRuns, spans: list[tuple[int, int]]) -> list[int]:
    spans.sort()
    out: list[int] = []
    end = -1
    for start, stop in spans:
        start = max(start, end)
        if start < stop:
            out.extend(uids.slice(start, stop))
            end = stop
    return out
