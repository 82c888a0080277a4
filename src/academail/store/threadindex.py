"""The threading rows of large mailboxes, kept per process between THREAD
commands, in the spirit of Dovecot's ``dovecot.index.thread`` (kept, like
it, only for THREAD over all messages): every message's UID, base subject,
reply mark and thread keys, in sent order. Dovecot also keeps the links;
here the tree is still built per command (RFC 5256 §2.2: which containers
are dummies depends on the messages the command threads).

Reading those rows is the largest part of a THREAD over a whole mailbox
(~125 ms of CPU at 100,000 messages, a Python object per value), and a
webmail asks THREAD again after every change. ``store.imap.thread_rows``
keeps them with the mailbox state they were read at (UIDVALIDITY,
HIGHESTMODSEQ, UIDNEXT, message count) and the (sent date, UID) of the last
one; the next command reads only what changed since: the messages at or
above that UIDNEXT, and the UIDs expunged since that HIGHESTMODSEQ
(``store_expunged``, the QRESYNC tombstones). A message's threading data
never changes and UIDs are never reused under one UIDVALIDITY, so the kept
rows minus the expunged plus the new are the mailbox's rows; the message
count of the state checks it (a removal without a tombstone, one purged
since, makes it differ, and the rows are read again in full).

This module is only the bounded container; the rules are in
``store.imap.thread_rows``. Shared by the store threads, hence the lock."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, NamedTuple


class Kept(NamedTuple):
    """A mailbox's threading rows (``store.imap.ThreadRows``, the whole
    mailbox) at ``state`` (``store.imap.mailbox_state``), the sort key
    (sent date, UID) of the last row (a new message sorting after it is
    appended to the rows, any other makes them read again) and the highest
    UID (a session that does not know it yet cannot be given these rows)."""

    state: tuple[int, int, int, int]
    rows: Any
    last: tuple[Any, int] | None
    top: int


class KeptRows:
    """Least recently used mailboxes' rows, at most ``rows`` rows in all;
    a mailbox under ``smallest`` messages is not kept (reading it is cheap)."""

    def __init__(self, rows: int, smallest: int) -> None:
        self.rows = rows
        self.smallest = smallest
        self._data: OrderedDict[int, Kept] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, mailbox_id: int) -> Kept | None:
        with self._lock:
            kept = self._data.get(mailbox_id)
            if kept is not None:
                self._data.move_to_end(mailbox_id)
            return kept

    def put(self, mailbox_id: int, kept: Kept) -> None:
        size = len(kept.rows.uids)
        with self._lock:
            old = self._data.pop(mailbox_id, None)
            if old is not None:
                self._size -= len(old.rows.uids)
            if size < self.smallest or size > self.rows:
                return
            self._data[mailbox_id] = kept
            self._size += size
            while self._size > self.rows:
                _, dropped = self._data.popitem(last=False)
                self._size -= len(dropped.rows.uids)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._data)


# ~29 MB of Python objects per 100,000 rows (tracemalloc, bench/imap_sort.py's
# mailbox; the subjects most): 200,000 rows keep two such mailboxes per
# process. Under 5,000 messages the rows are read in a few ms and not kept.
ROWS = KeptRows(200_000, 5_000)

__all__ = ["ROWS", "Kept", "KeptRows"]
