"""A real MX on a loopback port, run in its own event loop thread, storing
through the real batcher into the test database."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from academail.delivery.batcher import DeliveryBatcher
from academail.delivery.dns import FakeResolver
from academail.server.tls import server_context
from academail.smtp.mx import MXProtocol, start_mx
from tests.servers import free_port


@dataclass
class RunningMX:
    host: str
    port: int
    batcher: DeliveryBatcher | None = None


@pytest.fixture
def mx(transactional_db, request) -> Iterator[RunningMX]:
    """``request.param`` (indirect parametrisation) may give the DNS resolver;
    by default an empty fake one (SPF/DKIM/DMARC "none", no network)."""
    with run_mx(request.param if hasattr(request, "param") else FakeResolver()) as running:
        yield running


@contextlib.contextmanager
def run_mx(resolver: FakeResolver, *, processes: int | None = None) -> Iterator[RunningMX]:
    """The MX in its own event loop thread; ``processes``: the batcher's
    delivery worker processes (default: the settings', 0 in tests).
    ``RunningMX.batcher`` is the running batcher."""
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict = {}

    async def main() -> None:
        state["batcher"] = DeliveryBatcher(processes=processes)
        await state["batcher"].workers.start()
        state["server"] = await start_mx(
            state["batcher"], host="127.0.0.1", port=port, tls_context=server_context(), resolver=resolver,
        )
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(main()), loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(60)
    try:
        yield RunningMX("127.0.0.1", port, state["batcher"])
    finally:

        async def stop() -> None:
            state["server"].close()
            await state["server"].wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        # Executor threads hold database connections; ending them closes those.
        asyncio.run_coroutine_threadsafe(loop.shutdown_default_executor(), loop).result(10)
        state["batcher"].close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        MXProtocol.connections.clear()


# --- submission and the outbound queue ----------------------------------------------

PASSWORD = "Une-phrase-de-passe-tres-longue-42!"


@dataclass
class RunningSubmission:
    host: str
    starttls_port: int
    tls_port: int


@pytest.fixture
def submission(transactional_db) -> Iterator[RunningSubmission]:
    from academail.smtp.submission import SubmissionProtocol, start_submission
    from tests.smtp.remote import LoopThread

    loops = LoopThread()
    batcher = DeliveryBatcher()
    tls = server_context()
    ports = (free_port(), free_port())

    async def start() -> list:
        return [
            await start_submission(batcher, host="127.0.0.1", port=ports[0], tls_context=tls, implicit_tls=False),
            await start_submission(batcher, host="127.0.0.1", port=ports[1], tls_context=tls, implicit_tls=True),
        ]

    servers = loops.run(start())
    yield RunningSubmission("127.0.0.1", *ports)

    async def stop() -> None:
        for server in servers:
            server.close()
            await server.wait_closed()

    loops.run(stop())
    batcher.close()
    loops.stop()
    SubmissionProtocol.connections.clear()


@pytest.fixture
def remote_internet() -> Iterator:
    from tests.smtp.remote import RemoteInternet

    internet = RemoteInternet()
    yield internet
    internet.close()


@pytest.fixture
def sender(make_account):
    """An active account with a password and an alias."""
    from academail.accounts.models import Alias

    account = make_account("Julie", "Martin")
    account.set_password(PASSWORD)
    account.save()
    Alias.objects.create(account=account, address="secretariat.college@ac-demo.fr")
    return account


@pytest.fixture
def dkim_key(settings, tmp_path):
    from academail.delivery import dkim

    settings.DKIM_KEY_DIR = tmp_path / "dkim"
    dkim.generate_key("ac-demo.fr")
    return dict(dkim.dns_records("ac-demo.fr"))
