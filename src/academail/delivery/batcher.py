"""Group commit for deliveries arriving at once.

A durable SQLite commit costs an fsync (about 1,700 a second on our machines,
see BENCHMARKS.md). The batcher's writer thread takes every delivery waiting,
stores each in its own savepoint inside one transaction, commits once, and only
then resolves the callers' futures, so SMTP still answers 250 after the message
is durable, but eight clients share one fsync. Blob writes happen before, in a
thread pool, in parallel; the parse, the spam look and the classifier's
reads in delivery worker processes (``delivery.workers``), on the other cores.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import close_old_connections, connection, transaction

from academail import metrics
from academail.delivery.workers import Analysis, Workers
from academail.protection.gathered import Gathered, gathering
from academail.protection.spam import do_write_gathered

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Job:
    work: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class DeliveryBatcher:
    """One writer thread committing every waiting unit of work together, and a
    thread pool for the work that needs no transaction (blob writes, parsing,
    DKIM signatures). ``delivery.route`` is its only user: ``in_pool`` for a
    route's first step, ``commit`` for its second."""

    def __init__(self, *, max_batch: int = 64, workers: int = 4, processes: int | None = None) -> None:
        """``processes``: delivery worker processes for the CPU work
        (``delivery.workers``); default ``settings.DELIVERY_WORKERS``, 0 none."""
        self.max_batch = max_batch
        self.workers = Workers(settings.DELIVERY_WORKERS if processes is None else processes)
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="academail-prepare")
        self._thread = threading.Thread(target=self._run, name="academail-writer", daemon=True)
        self._thread.start()

    async def in_pool(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` in the preparation pool (no transaction)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(_in_thread, function, *args, **kwargs))

    async def analyse(
        self, raw: bytes, prefix: bytes = b"", *, screen: bool = False, accounts: Sequence[int] | None = None,
    ) -> Analysis | None:
        """``workers.analyse`` in a worker process (``accounts``: the
        recipients whose classifiers it judges as well); None without worker
        processes (the caller's thread then parses, as it did before).
        Raises WorkerCrashed."""
        return await self.workers.analyse(raw, prefix, screen=screen, accounts=accounts)

    async def commit(self, work: Callable[[], T]) -> T:
        """Run ``work`` in its own savepoint inside the writer's next group
        commit (alone in the batch: in the transaction itself); return its
        result once that commit is durable. An exception in ``work``, or
        ``transaction.set_rollback(True)`` in a block of ``work`` that has no
        savepoint of its own, rolls back its savepoint only (its transaction,
        when alone) and is raised here (its result returned); a failed commit
        raises for every job of the batch (nobody is acknowledged)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put(_Job(work, loop, future))
        return await future

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=30)
        self._pool.shutdown(wait=True)
        self.workers.close()

    def _run(self) -> None:
        try:
            while True:
                first = self._jobs.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < self.max_batch:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    batch.append(job)
                self._commit(batch)
                if stop:
                    return
        finally:
            connection.close()

    def _commit(self, batch: list[_Job]) -> None:
        # The writer keeps its connection across batches (CONN_MAX_AGE); one that
        # broke or aged is dropped here and made anew.
        close_old_connections()
        _prepare_statements()
        results: list[tuple[_Job, Any]] = []
        # A savepoint per job keeps one bad delivery from sinking the others;
        # a job alone in its batch needs none (its failure rolls the whole
        # transaction back, which holds nothing else): two round trips fewer.
        savepoint = len(batch) > 1
        statements = _StatementCount()
        # The spam protection's per-delivery writes (sender domain counts,
        # warnings rows) of the deliveries that held, written once just before
        # the commit: a busy domain's row is then locked for the commit only,
        # not from one delivery to the end of the batch (``protection.gathered``).
        notes = Gathered()
        try:
            with connection.execute_wrapper(statements), transaction.atomic():
                for job in batch:
                    mine = Gathered()
                    try:
                        with transaction.atomic(savepoint=savepoint), gathering(mine):
                            results.append((job, job.work()))
                            if not transaction.get_rollback():  # its savepoint holds: so do its notes
                                notes.add(mine)
                    except Exception as error:  # one bad delivery must not sink the batch
                        log.exception("delivery failed")
                        results.append((job, error))
                if notes:
                    do_write_gathered(notes)
        except Exception as error:  # the commit itself failed: nobody is acknowledged
            log.exception("delivery batch commit failed")
            results = [(job, error) for job in batch]
            connection.close()
        # BEGIN and COMMIT go through the driver, not a cursor: two more.
        metrics.count_group_commit(len(batch), statements.count + 2)
        for job, result in results:
            job.loop.call_soon_threadsafe(_settle, job.future, result)


class _StatementCount:
    """A ``connection.execute_wrapper`` counting the statements it sees
    (``executemany`` counts one per row)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += len(params) if many and isinstance(params, (list, tuple)) else 1
        return execute(sql, params, many, context)


def _prepare_statements() -> None:
    """On PostgreSQL, the writer's connection binds parameters in the server
    and prepares each statement it has run ``DB_PREPARE_THRESHOLD`` times
    (psycopg's ``prepare_threshold``): the writer runs the same dozen
    statements for every delivery, and a prepared one is neither parsed nor
    planned again (docs/design.md, "Prepared statements for the delivery
    writer"). Only this connection: Django's default, client-side binding and
    no prepared statement, stays for every other one. Set again after a
    reconnection (a new psycopg connection)."""
    threshold = settings.DB_PREPARE_THRESHOLD
    if connection.vendor != "postgresql" or threshold < 0:
        return
    from django.db.backends.postgresql.base import ServerBindingCursor  # psycopg, PostgreSQL only

    connection.ensure_connection()
    raw = connection.connection
    if raw.cursor_factory is not ServerBindingCursor:
        raw.cursor_factory = ServerBindingCursor
        raw.prepare_threshold = threshold


def _in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    close_old_connections()  # pool threads keep connections (spam screening reads); drop broken ones
    return function(*args, **kwargs)


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if future.done():  # the client went away meanwhile; the message is stored all the same
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
