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

The kept rows are also written to a file per mailbox under the data
directory (``cache/thread/<mailbox id>``), as Dovecot keeps its index on
disk, so that the first THREAD after a restart (or in another process over
the same data) starts from them and reads only what changed since; see
``save`` and ``load``. The file is only a cache: one that does not load
exactly (another version, a different mailbox, truncated, garbage) is
ignored, and a loaded one goes through the same checks as kept rows (same
UIDVALIDITY, state not ahead of the mailbox's, the message count after the
update), so it can never change an answer; when it cannot be brought up
to date the rows are read in full.

This module is only the bounded container (an ``academail.lru.LRU``
weighed in rows) and its file; the rules are in ``store.imap.thread_rows``.
Shared by the store threads: the LRU has its lock, the file times theirs."""

from __future__ import annotations

import datetime
import marshal
import os
import sys
import threading
import time
import zlib
from array import array
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection

from academail.lru import LRU
from academail.store import sortkeys


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
    """Least recently used mailboxes' rows, at most ``rows`` rows in all
    (``academail.lru``, weighed in rows); a mailbox under ``smallest``
    messages is not kept (reading it is cheap), nor one over ``rows``."""

    def __init__(self, rows: int, smallest: int) -> None:
        self.smallest = smallest
        self._kept: LRU[int, Kept] = LRU(rows, _row_count)
        self._lock = threading.Lock()  # for ``_saved``
        self._saved: dict[int, float] = {}  # mailbox id -> when its file was last written
        self.every = 30.0

    @property
    def rows(self) -> int:
        return self._kept.bound

    def get(self, mailbox_id: int) -> Kept | None:
        return self._kept.get(mailbox_id)

    def put(self, mailbox_id: int, kept: Kept) -> None:
        count = _row_count(kept)
        if count < self.smallest:
            self._kept.pop(mailbox_id)
        else:
            self._kept.put(mailbox_id, kept, count)

    def clear(self) -> None:
        self._kept.clear()
        with self._lock:
            self._saved.clear()

    def saved_due(self, mailbox_id: int, now: float) -> bool:
        """Whether a mailbox's rows, just brought up to date, are to be
        written now: at most every ``every`` seconds a mailbox (the first
        time at once); between two writes the file is only older, which the
        next process brings up to date as it would kept rows."""
        with self._lock:
            last = self._saved.get(mailbox_id)
            if last is not None and now - last < self.every:
                return False
            self._saved[mailbox_id] = now
            return True

    def __len__(self) -> int:
        return len(self._kept)


def _row_count(kept: Kept) -> int:
    return len(kept.rows.uids)


# The file: MAGIC, then the CRC-32 and the length of the marshal body (a
# truncated or altered file is refused before it is read), then the body:
# (VERSION, database, mailbox id, state, last, top, the five columns). A
# chain is written as its row keeps it (8 bytes a key) and read back into
# the same array as a row read from the database: no container for the
# garbage collector to walk (tuples of ints made threading's collections
# ~60 ms slower). ~10 MB and ~50 ms to load at 100,000 messages, against
# ~260-290 ms to read the rows from the database.
MAGIC = b"academail thread rows\n"
VERSION = 1
_HEAD = len(MAGIC) + 12


def path_of(mailbox_id: int) -> Path:
    """The file of a mailbox's rows, under the data directory."""
    return Path(settings.VAR_DIR) / "cache" / "thread" / f"{int(mailbox_id)}"


def _database() -> str:
    # The data directory serves one database; named in the file all the same
    # (a home pointed at another database never takes its files).
    return f"{connection.vendor}:{connection.settings_dict.get('NAME')}"


def _encode_last(last: tuple[Any, int] | None) -> Any:
    # The sent date is text on SQLite and a datetime on PostgreSQL (marshal
    # knows only the former): a datetime is written as ("t", ISO 8601).
    if last is None or not isinstance(last[0], datetime.datetime):
        return last
    return (("t", last[0].isoformat()), last[1])


def _decode_last(last: Any) -> tuple[Any, int] | None:
    if last is not None and isinstance(last[0], tuple):
        return (datetime.datetime.fromisoformat(last[0][1]), last[1])
    return last


def _packed(chain: Any) -> bytes:
    # A chain as the database row keeps it (``sortkeys.unpack_keys`` reverses it).
    if not chain:
        return b""
    keys = chain if isinstance(chain, array) else array("q", chain)
    if sys.byteorder == "big":
        keys = array("q", keys)
        keys.byteswap()
    return keys.tobytes()


def save(mailbox_id: int, kept: Kept) -> None:
    """Write ``kept`` to the mailbox's file: to a file of this process and
    thread, then renamed over the old one (``os.replace``), so a reader,
    another process included, sees the old file or the new, whole. No fsync:
    after a crash a lost or older file is read again or brought up to date.
    A failure to write (disk full, read-only) only leaves the old file."""
    rows = kept.rows
    body = marshal.dumps((
        VERSION, _database(), int(mailbox_id), tuple(kept.state), _encode_last(kept.last), int(kept.top),
        tuple(rows.uids), tuple(rows.subjects), tuple(int(r) for r in rows.replies), tuple(rows.message_ids),
        tuple(_packed(chain) for chain in rows.references),
    ))
    path = path_of(mailbox_id)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        for directory in (path.parent.parent, path.parent):
            directory.mkdir(mode=0o700, exist_ok=True)
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            out.write(MAGIC + zlib.crc32(body).to_bytes(4, "big") + len(body).to_bytes(8, "big"))
            out.write(body)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)


def load(mailbox_id: int, make_rows: Any) -> Kept | None:
    """The rows kept in the mailbox's file, with ``make_rows`` (the
    ``store.imap.ThreadRows`` class) around the columns; None when there is
    none or it is not exactly one written by ``save`` of this version for
    this mailbox. The caller checks the state against the mailbox's."""
    try:
        data = path_of(mailbox_id).read_bytes()
    except OSError:
        return None
    if len(data) < _HEAD or not data.startswith(MAGIC):
        return None
    crc = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    size = int.from_bytes(data[len(MAGIC) + 4 : _HEAD], "big")
    body = memoryview(data)[_HEAD:]
    if len(body) != size or zlib.crc32(body) != crc:
        return None
    try:
        # marshal builds only plain values (no code runs, unlike pickle) from
        # a file in the owner-only data directory (0700) written by ``save``.
        version, database, owner, state, last, top, *columns = marshal.loads(body)  # noqa: S302
        if version != VERSION or database != _database() or owner != mailbox_id or len(columns) != 5:
            return None
        state = tuple(int(value) for value in state)
        if len(state) != 4 or any(len(column) != state[3] for column in columns):
            return None
        unpack = sortkeys.unpack_keys
        columns[4] = tuple(unpack(chain) if chain else () for chain in columns[4])
        return Kept(state, make_rows(*columns), _decode_last(last), int(top))
    except (ValueError, TypeError, EOFError, IndexError):
        return None


def take_file(mailbox_id: int, make_rows: Any) -> Kept | None:
    """``load``, and keep what it loaded as this process's rows; the file
    counts as written now (it is not written again within ``ROWS.every``
    seconds: ~60 ms a write at 100,000 messages, not to be paid on the
    first THREAD after a restart)."""
    kept = load(mailbox_id, make_rows)
    if kept is not None:
        ROWS.put(mailbox_id, kept)
        ROWS.saved_due(mailbox_id, time.monotonic())
    return kept


def save_due(mailbox_id: int, kept: Kept) -> None:
    """``save`` if this mailbox's file was not written in the last
    ``ROWS.every`` seconds by this process."""
    if ROWS.saved_due(mailbox_id, time.monotonic()):
        save(mailbox_id, kept)


# ~29 MB of Python objects per 100,000 rows (tracemalloc, bench/imap_sort.py's
# mailbox; the subjects most): 200,000 rows keep two such mailboxes per
# process. Under 5,000 messages the rows are read in a few ms and not kept.
ROWS = KeptRows(200_000, 5_000)

__all__ = ["MAGIC", "ROWS", "VERSION", "Kept", "KeptRows", "load", "path_of", "save", "save_due", "take_file"]
