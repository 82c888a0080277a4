"""What the tests of every network server share: free loopback ports, an
event loop in its own thread, ``serving``, which runs a protocol's real
listeners in that thread, and ``per_module``, which keeps one such server for
all the tests of a module (starting a server per test cost more than the
tests) while the fixture that hands it out stays function-scoped, so any test
module can import that fixture alone."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import pytest

Server = asyncio.base_events.Server
T = TypeVar("T")
_SERVERS = pytest.StashKey[dict[str, Any]]()
PASSWORD = "Corr3ct-cheval-batterie"


def with_password(account):
    """``account`` (active, from ``make_account``) with ``PASSWORD``, what a mail client signs in with."""
    account.set_password(PASSWORD)
    account.save()
    return account


def read_line(file) -> bytes:
    """One line from ``file``, with the literals it announces (``{n}`` at
    its end: RFC 9051 §4.3 for IMAP, RFC 5804 §4 for ManageSieve) read inline."""
    line = file.readline()
    out = line
    while m := re.search(rb"\{(\d+)\}\r\n$", line):
        out += file.read(int(m.group(1)))
        line = file.readline()
        out += line
    return out


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for an ``academail`` subprocess of a test: ours, with
    ``DATABASE_URL`` naming this run's test database (SQLite file or PostgreSQL)."""
    import os

    from django.db import connection

    env = dict(os.environ)
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{s['NAME']}"
    else:
        env["DATABASE_URL"] = f"postgres://{s['USER']}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"
    env.update(extra or {})
    return env


def free_port() -> int:
    """A loopback port free at the time of asking (never a fixed one: other
    test runs share the machine)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoopThread:
    """An asyncio event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        # Executor threads hold database connections; ending them closes those
        # (PostgreSQL refuses to drop the test database while any is open).
        self.run(self.loop.shutdown_default_executor())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@contextmanager
def serving(
    start: Callable[[], Awaitable[list[Server]]], *, stop_threads: Callable[[], None] | None = None,
) -> Iterator[asyncio.AbstractEventLoop]:
    """Run ``start()`` (which opens the listeners) in a loop thread and yield
    that loop; on exit close the listeners, cancel every connection still
    open, and stop the protocol's store threads (``stop_threads``)."""
    loops = LoopThread()

    async def main() -> list[Server]:
        return await start()

    servers = loops.run(main(), timeout=10)
    try:
        yield loops.loop
    finally:

        async def stop() -> None:
            for server in servers:
                server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        loops.run(stop(), timeout=10)
        loops.stop()
        if stop_threads is not None:
            stop_threads()


def per_module(request: pytest.FixtureRequest, name: str, make: Callable[[], AbstractContextManager[T]]) -> T:
    """The value of the context manager ``make()``, entered at the first test
    of the requesting module that asks for ``name`` and exited when the
    module's tests are done."""
    module = request.node.getparent(pytest.Module) or request.session
    running = module.stash.setdefault(_SERVERS, {})
    if name not in running:
        context = make()
        running[name] = context.__enter__()

        def stop() -> None:
            del running[name]
            context.__exit__(None, None, None)

        module.addfinalizer(stop)
    value: T = running[name]
    return value
