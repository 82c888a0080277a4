"""A fixed pool of threads for the blocking store calls of an asyncio server
(IMAP, ManageSieve): each thread keeps its own database connection for the
life of the process, and ``stop`` closes every one of them before the threads
end (PostgreSQL cannot drop a database still in use, and a server's shutdown
should leave no session behind)."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection


class StoreThreads:
    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._executor: ThreadPoolExecutor | None = None

    def executor(self) -> ThreadPoolExecutor:
        """The pool, started on first use."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix=self.name)
        return self._executor

    def stop(self) -> None:
        """Close every thread's database connection and end the threads."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        barrier = threading.Barrier(self.size)

        def close_one() -> None:
            connection.close()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)  # one call per thread: each waits for the others

        for _ in range(self.size):
            executor.submit(close_one)
        executor.shutdown(wait=True)
