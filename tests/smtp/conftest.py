"""A real MX on a loopback port, run in its own event loop thread, storing
through the real batcher into the test database."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from academail.delivery.batcher import DeliveryBatcher
from academail.server.tls import server_context
from academail.smtp.mx import MXProtocol, start_mx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningMX:
    host: str
    port: int


@pytest.fixture
def mx(transactional_db) -> Iterator[RunningMX]:
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict = {}

    async def main() -> None:
        state["batcher"] = DeliveryBatcher()
        state["server"] = await start_mx(state["batcher"], host="127.0.0.1", port=port, tls_context=server_context())
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(main()), loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield RunningMX("127.0.0.1", port)

    async def stop() -> None:
        state["server"].close()
        await state["server"].wait_closed()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
    state["batcher"].close()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    MXProtocol.connections.clear()
