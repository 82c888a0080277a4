"""Group commit for deliveries arriving at once.

A durable SQLite commit costs an fsync (about 1,700 a second on our machines,
see BENCHMARKS.md). The batcher's writer thread takes every delivery waiting,
stores each in its own savepoint inside one transaction, commits once, and only
then resolves the callers' futures, so SMTP still answers 250 after the message
is durable, but eight clients share one fsync. Blob writes and parsing happen
before, in a thread pool, in parallel.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import close_old_connections, connection, transaction

from academail.delivery.door import Outcome, Recipient, check_spam, do_deliver_prepared, prepare
from academail.protection.spam import Screening
from academail.store.messages import PreparedContent

log = logging.getLogger(__name__)


@dataclass
class _Job:
    prepared: PreparedContent | None  # None: nothing to store, only ``gate`` and ``also``
    recipients: Sequence[Recipient]
    prefix: bytes
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[Outcome]]
    all_or_nothing: bool
    also: Callable[[], object] | None = None
    gate: Callable[[], bool] | None = None
    envelope_from: str = ""
    screening: Screening | None = None


class DeliveryBatcher:
    def __init__(self, *, max_batch: int = 64, workers: int = 4) -> None:
        self.max_batch = max_batch
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="academail-prepare")
        self._thread = threading.Thread(target=self._run, name="academail-writer", daemon=True)
        self._thread.start()

    async def deliver(
        self,
        raw: bytes,
        recipients: Sequence[Recipient],
        *,
        prefix: bytes = b"",
        all_or_nothing: bool = False,
        also: Callable[[], object] | None = None,
        gate: Callable[[], bool] | None = None,
        envelope_from: str = "",
        screen: bool = False,
    ) -> list[Outcome]:
        """Store ``raw`` for ``recipients``; returns once durable. Raises
        DeliveryRefused (size) or any storage error.

        With ``all_or_nothing``, one refused recipient leaves the message stored
        for nobody (SMTP after DATA has one reply for the whole transaction: the
        sender retries all of them later, so nobody gets it twice).

        ``also`` runs in the same savepoint once the local copies are stored
        (submission queues the remote recipients there): the local copies and
        the queue entries commit together or not at all.

        ``gate`` runs first in that savepoint (the sending limits); when it
        returns False nothing is stored and the outcomes are empty.

        ``screen`` (mail from outside): spam verdicts, computed in the
        preparing pool rather than the writer (``door.check_spam``); raises
        DeliveryRefused (``Refusal.SPAM``) before anything is stored."""
        loop = asyncio.get_running_loop()
        prepared = await loop.run_in_executor(self._pool, prepare, raw)
        screening = None
        if screen:
            screening = await loop.run_in_executor(self._pool, _screen, prepared, prefix, envelope_from, raw)
        future: asyncio.Future[list[Outcome]] = loop.create_future()
        self._jobs.put(
            _Job(prepared, recipients, prefix, loop, future, all_or_nothing, also, gate, envelope_from, screening)
        )
        return await future

    async def run(self, also: Callable[[], object], *, gate: Callable[[], bool] | None = None) -> None:
        """Run ``also`` (unless ``gate`` returns False) in the writer's next
        group commit; returns once committed. Submission queues mail for
        outside recipients only this way: eight clients then share one commit
        instead of queueing behind each other for the database's write lock."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Outcome]] = loop.create_future()
        self._jobs.put(_Job(None, [], b"", loop, future, False, also, gate))
        await future

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=30)
        self._pool.shutdown(wait=True)

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
        results: list[tuple[_Job, list[Outcome] | BaseException]] = []
        try:
            with transaction.atomic():
                for job in batch:
                    try:
                        outcomes: list[Outcome] = []
                        with transaction.atomic():
                            if job.gate is not None and not job.gate():
                                pass
                            elif job.prepared is None:
                                if job.also is not None:
                                    job.also()
                            else:
                                outcomes = do_deliver_prepared(
                                    job.prepared, job.recipients, prefix=job.prefix, envelope_from=job.envelope_from,
                                    screening=job.screening,
                                )
                                if job.all_or_nothing and not all(o.delivered for o in outcomes):
                                    transaction.set_rollback(True)
                                elif job.also is not None:
                                    job.also()
                        results.append((job, outcomes))
                    except Exception as error:  # one bad delivery must not sink the batch
                        log.exception("delivery failed")
                        results.append((job, error))
        except Exception as error:  # the commit itself failed: nobody is acknowledged
            log.exception("delivery batch commit failed")
            results = [(job, error) for job in batch]
            connection.close()
        for job, result in results:
            job.loop.call_soon_threadsafe(_settle, job.future, result)


def _screen(prepared: PreparedContent, prefix: bytes, envelope_from: str, raw: bytes) -> Screening:
    close_old_connections()  # pool threads keep connections; drop broken ones
    return check_spam(prepared, prefix, envelope_from=envelope_from, raw=raw)


def _settle(future: asyncio.Future[list[Outcome]], result: list[Outcome] | BaseException) -> None:
    if future.done():  # the client went away meanwhile; the message is stored all the same
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
