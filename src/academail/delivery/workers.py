"""Delivery worker processes: the pure CPU part of a delivery (the MIME parse,
the spam rules, the classifier's tokens, the phishing warnings) runs in a
pool of other processes, so that one ``serve`` process uses every core
instead of one GIL.

What crosses to a worker is the message's bytes and our per-delivery prefix;
what comes back is an ``Analysis`` (the parsed message, its search index
rows folded and ``spam.Look``), all picklable. Workers never open a database connection (their Django
connection refuses to, ``_no_database``), write no blob and ask no DNS: the
blob write, the classifier's counts, the domain history and the directory
lookup of a display name stay in the serving process, which alone decides
and commits, so a message is durable before ``250`` exactly as without
workers.

A worker that dies (killed, out of memory, a crash in C) breaks the pool:
the deliveries it held fail with ``WorkerCrashed`` (the MX answers
``451 4.3.0``: nothing stored, the sender retries) and the next delivery
gets a new pool. ``ACADEMAIL_DELIVERY_WORKERS`` sets the number of
processes; 0 keeps the work in the serving process (tests use it for
determinism).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings

from academail.mime.parse import ParsedMessage, parse_message

if TYPE_CHECKING:
    from academail.protection.spam import Look
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


def analyse(raw: bytes, prefix: bytes = b"", *, screen: bool = False) -> Analysis:
    """Parse ``raw`` once, fold its search index rows (1.7 ms of a bench
    message's CPU, issue 21) and, with ``screen``, ``spam.look`` at it (rules,
    tokens, phishing warnings). Pure: no database, no DNS, no file."""
    # Imported here: a new worker imports this module before Django's apps
    # are ready (``_start_worker``), and protection's and store's models need them.
    from academail.protection import spam
    from academail.store import search

    parsed = parse_message(raw)
    return Analysis(parsed, spam.look(parsed, prefix, raw) if screen else None, search.index_rows(parsed))


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
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                snapshot = {name: getattr(settings, name) for name in WORKER_SETTINGS if hasattr(settings, name)}
                self._pool = ProcessPoolExecutor(
                    max_workers=self.count, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker, initargs=(snapshot,),
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

    async def analyse(self, raw: bytes, prefix: bytes = b"", *, screen: bool = False) -> Analysis | None:
        """``analyse`` in a worker process; None with no workers. Raises
        WorkerCrashed when the worker died (the pool is made anew for the
        next call)."""
        if not self.count:
            return None
        return await self.run(_analyse, raw, prefix, screen)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker process (a module-level function,
        picklable arguments, no database). Raises WorkerCrashed when the
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


def _analyse(raw: bytes, prefix: bytes, screen: bool) -> Analysis:
    return analyse(raw, prefix, screen=screen)


def _start_worker(snapshot: dict[str, Any]) -> None:
    """In each new worker: Django's settings and apps (the parser and the
    protection code read settings), the serving process's values of
    ``WORKER_SETTINGS``, and a database that refuses to connect."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academail.config.settings")
    django.setup()
    for name, value in snapshot.items():
        setattr(settings, name, value)
    _no_database()


def _no_database() -> None:
    from django.db.backends.base.base import BaseDatabaseWrapper

    def refuse(self: BaseDatabaseWrapper, *args: object, **kwargs: object) -> None:
        raise RuntimeError("delivery worker processes do not touch the database")

    BaseDatabaseWrapper.connect = refuse
