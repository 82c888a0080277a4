"""Delivery worker processes: the CPU part of a delivery that decides
nothing (the MIME parse, the spam rules, the classifier's tokens, the
phishing warnings, and the classifier's token counts and probabilities)
runs in a pool of other processes, so that one ``serve`` process uses every
core instead of one GIL.

What crosses to a worker is the message's bytes, our per-delivery prefix
and the recipients' account ids (known at RCPT time); what comes back is an
``Analysis`` (the parsed message, its search index rows folded,
``spam.Look``, ``spam.Reads`` and ``classifier.Judged``), all picklable. A
worker writes nothing: no blob, no row, no DNS question. Its one database
connection is read-only (``read_only``: SQLite opened with ``mode=ro`` and
``query_only``, PostgreSQL sessions with ``default_transaction_read_only``)
and serves only the screening's reads (``spam.read``: the directory's staff
of a display name, the sender domain's history, the recipients' lists and
correspondents, the classifiers' totals, in one statement) and
``classifier.judge``, in autocommit, outside any transaction: each worker
keeps its own generation-checked cache of token counts
(``classifier.read_counts``), so a learning committed before a message's
screening starts is seen by it, in whichever process. The blob write and
every write stay in the serving process, which alone decides and commits,
so a message is durable before ``250`` exactly as without workers.

Why the counts are read here (they were not, until the trained filter was
measured): the MX's rate is bound by the serving process's GIL, and with
trained classifiers the count reads and probabilities were most of what
the filter added to it (about 5 ms of 14 a message, bench/README.md, issue
13), while the worker had a core to spare; the screening's other reads
followed for the same reason (issue 13, eighth session). A worker whose
read fails returns neither ``Reads`` nor ``Judged``; the serving process
then reads as without workers.

A worker that dies (killed, out of memory, a crash in C) breaks the pool:
the deliveries it held fail with ``WorkerCrashed`` (the MX answers
``451 4.3.0``: nothing stored, the sender retries) and the next delivery
gets a new pool. ``ACADEMAIL_DELIVERY_WORKERS`` sets the number of
processes; 0 keeps the work in the serving process (tests use it for
determinism).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, connection

from academail.mime.parse import ParsedMessage, parse_message

if TYPE_CHECKING:
    from academail.protection.classifier import Judged
    from academail.protection.spam import Look, Reads
    from academail.store.search import IndexRows

log = logging.getLogger(__name__)

T = TypeVar("T")

# The settings ``analyse`` reads, handed to each worker as the serving process
# has them (tests override them after start-up).
WORKER_SETTINGS = ("MAIL_DOMAINS", "MAIL_HOSTNAME", "PROTECTION_TRUSTED_DOMAINS")


class WorkerCrashed(RuntimeError):
    """A worker process died while it held this delivery: nothing was stored."""


@dataclass(frozen=True)
class Analysis:
    """What a worker computes from a message's bytes (picklable)."""

    parsed: ParsedMessage
    looked: Look | None  # with ``screen`` only
    index: IndexRows | None = None  # the search index rows (``search.index_rows``), should the content be new
    judged: Judged | None = None  # with ``accounts`` (and a worker whose read succeeded) only
    reads: Reads | None = None  # likewise: ``spam.read``'s rows, the totals behind ``judged`` among them


def analyse(
    raw: bytes, prefix: bytes = b"", *, screen: bool = False, accounts: Sequence[int] | None = None,
) -> Analysis:
    """Parse ``raw`` once, fold its search index rows (1.7 ms of a bench
    message's CPU, issue 21) and, with ``screen``, ``spam.look`` at it (rules,
    tokens, phishing warnings); with ``accounts`` too (the recipients'
    account ids), ``classifier.judge`` its tokens for them (reads only; no
    ``Judged`` when the read fails: the caller then reads). No write, no DNS,
    no file."""
    # Imported here: a new worker imports this module before Django's apps
    # are ready (``_start_worker``), and protection's and store's models need them.
    from academail.protection import spam
    from academail.store import search

    parsed = parse_message(raw)
    looked = spam.look(parsed, prefix, raw) if screen else None
    reads, judged = (
        _read_and_judge(parsed, looked, accounts) if looked is not None and accounts is not None else (None, None)
    )
    return Analysis(parsed, looked, search.index_rows(parsed), judged, reads)


def _read_and_judge(parsed: ParsedMessage, looked: Look, accounts: Sequence[int]) -> tuple[Reads | None, Judged | None]:
    """``spam.read`` (the totals with the other reads, one statement) and
    ``classifier.judge`` for ``accounts``; (None, None) when a read fails
    (the serving process then reads)."""
    from academail.protection import classifier, spam

    wanted = tuple(sorted(set(accounts)))
    try:
        reads = spam.read(parsed, looked, wanted, totals=True)
        totals = classifier.totals_in(reads.found["totals"]) if "totals" in reads.found else None
        return reads, classifier.judge(looked.tokens, wanted, totals=totals)
    except DatabaseError:
        log.exception("a delivery worker could not read the screening's rows; the serving process reads them")
        connection.close()  # the next message connects anew
        return None, None


def default_count(processes: int | None = None) -> int:
    """One worker per core but one, of this process's share of the cores
    (``processes``: the ``serve`` processes on this machine, default
    ``settings.SERVE_PROCESSES``): the serving process keeps a core for the
    event loop, the store and the commits (on 2 cores, one worker: two were
    slower, bench/README.md); none when its share is a single core, where a
    worker only adds the cost of sending the message across and one more
    process competing for the cores (two MX processes on 2 cores)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    share = cores // max(1, settings.SERVE_PROCESSES if processes is None else processes)
    return max(0, share - 1)


class Workers:
    """A pool of ``count`` worker processes (``spawn``ed: the serving process
    has threads and open connections that a fork would copy), started on
    first use and rebuilt after a crash. ``count`` 0: ``analyse`` returns
    None and the caller analyses in its own process."""

    def __init__(self, count: int) -> None:
        self.count = default_count() if count < 0 else count
        # Whether a worker can read the classifier's counts: not from a
        # database only this process sees (SQLite in memory).
        self.reads = read_only(connection.settings_dict) is not None
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                snapshot = {name: getattr(settings, name) for name in WORKER_SETTINGS if hasattr(settings, name)}
                # This process's database as it is now (a test database's name included).
                database = read_only(connection.settings_dict)
                self._pool = ProcessPoolExecutor(
                    max_workers=self.count, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker, initargs=(snapshot, database),
                )
            return self._pool

    def _drop(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    async def start(self) -> None:
        """Start every worker now (each imports Django once, about a second of
        CPU) rather than at the first deliveries; returns when they are ready."""
        if not self.count:
            return
        pool = self._current()
        await asyncio.gather(*(asyncio.wrap_future(pool.submit(os.getpid)) for _ in range(self.count)))

    async def analyse(
        self, raw: bytes, prefix: bytes = b"", *, screen: bool = False, accounts: Sequence[int] | None = None,
    ) -> Analysis | None:
        """``analyse`` in a worker process; None with no workers. ``accounts``
        is dropped when the workers cannot read the database (``reads``).
        Raises WorkerCrashed when the worker died (the pool is made anew for
        the next call)."""
        if not self.count:
            return None
        return await self.run(_analyse, raw, prefix, screen, accounts if self.reads else None)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker process (a module-level function,
        picklable arguments; the database only through ``read_only``'s
        connection, for reads). Raises WorkerCrashed when the
        worker died (the pool is made anew for the next call)."""
        pool = self._current()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, function, *args)
        except BrokenProcessPool as error:
            log.error("a delivery worker process died; starting a new pool")
            self._drop(pool)
            raise WorkerCrashed(str(error)) from error

    def map(self, function: Callable[[Any], T], items: list[Any]) -> Iterator[T]:
        """``function`` over ``items`` in the worker processes, from
        synchronous code (an import's batch): all submitted at once, the
        results yielded in order as they come, so the caller works on the
        first while the workers go on; in this process without workers.
        Raises WorkerCrashed as ``run`` does."""
        if not self.count:
            yield from (function(item) for item in items)
            return
        pool = self._current()
        try:
            yield from pool.map(function, items, chunksize=max(1, len(items) // (8 * self.count)))
        except BrokenProcessPool as error:
            log.error("a delivery worker process died; starting a new pool")
            self._drop(pool)
            raise WorkerCrashed(str(error)) from error

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


_shared: dict[int, Workers] = {}
_shared_lock = threading.Lock()


def shared() -> Workers:
    """This process's pool for deliveries outside the MX's batcher (an
    import job): ``settings.DELIVERY_WORKERS`` processes, started on first use."""
    with _shared_lock:
        wanted = settings.DELIVERY_WORKERS
        if wanted not in _shared:
            for stale in _shared.values():  # the setting changed (tests)
                stale.close()
            _shared.clear()
            _shared[wanted] = Workers(wanted)
        return _shared[wanted]


def _analyse(raw: bytes, prefix: bytes, screen: bool, accounts: Sequence[int] | None = None) -> Analysis:
    return analyse(raw, prefix, screen=screen, accounts=accounts)


def read_only(database: dict[str, Any]) -> dict[str, Any] | None:
    """A worker's settings for ``database`` (a Django ``DATABASES`` entry):
    the same database, read-only, kept open (no age, no health check: a
    failed read closes it, ``_judge``); None when another process cannot
    open it (SQLite in memory). SQLite: opened ``mode=ro`` (RFC 8089 file
    URI; Django's backend opens every name as a URI) and ``query_only``,
    with no transaction mode (a worker never opens a transaction);
    PostgreSQL: every transaction of the session read-only
    (``default_transaction_read_only``)."""
    config = {**database, "OPTIONS": dict(database.get("OPTIONS") or {}), "CONN_MAX_AGE": None,
              "CONN_HEALTH_CHECKS": False}
    options = config["OPTIONS"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = str(database["NAME"])
        if not name or name == ":memory:" or "mode=memory" in name:
            return None
        if not name.startswith("file:"):
            name = "file:" + urllib.parse.quote(str(os.path.abspath(name)))
        config["NAME"] = name + ("&" if "?" in name else "?") + "mode=ro"
        options.pop("transaction_mode", None)
        options["init_command"] = "PRAGMA query_only=ON; PRAGMA busy_timeout=30000;"
    elif database["ENGINE"] == "django.db.backends.postgresql":
        options["options"] = (str(options.get("options", "")) + " -c default_transaction_read_only=on").strip()
    else:
        return None
    return config


def _start_worker(snapshot: dict[str, Any], database: dict[str, Any] | None = None) -> None:
    """In each new worker: Django's settings and apps (the parser and the
    protection code read settings), the serving process's values of
    ``WORKER_SETTINGS``, and its database, read-only (``read_only``), or
    none at all (a database that refuses to connect)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academail.config.settings")
    django.setup()
    for name, value in snapshot.items():
        setattr(settings, name, value)
    if database is None:
        _no_database()
        return
    from django.db import connections

    connections.settings["default"] = database
    with contextlib.suppress(AttributeError):  # a wrapper made from the old settings: none yet, as a rule
        del connections["default"]


def _no_database() -> None:
    from django.db.backends.base.base import BaseDatabaseWrapper

    def refuse(self: BaseDatabaseWrapper, *args: object, **kwargs: object) -> None:
        raise RuntimeError("delivery worker processes do not touch the database")

    BaseDatabaseWrapper.connect = refuse
