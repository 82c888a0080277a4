"""The asyncio line-protocol server shared by IMAP and ManageSieve: one
``LineConnection`` with its write fast path and bounded write buffer,
``linger`` (so a closing BYE is not wiped out by a TCP reset), bounded line
reading, literal framing parameterised by the protocol's literal syntax and
limits, STARTTLS, the serve loop and the close; the per-address connection
counters; and the store thread pool in which blocking store and accounts
calls run.

A protocol subclasses ``LineConnection`` and keeps only what is its own: the
grammar (``handle``), the greeting, the limits (``read_timeout``,
``literal_limit``, ``max_per_address``) and the words of its refusals. The
limits are read through methods at each connection or each command, so a
protocol module's constants stay the one place to change them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from django.db import close_old_connections

from academail.server.deflate import DeflateWriter, inflate
from academail.server.proxyproto import (
    proxy_protocol_enabled,
    read_proxy_header,
    start_tls_listener,
)
from academail.server.tls import start_tls_after
from academail.store.threads import StoreThreads

T = TypeVar("T")
SessionT = TypeVar("SessionT")
CommandT = TypeVar("CommandT")

MAX_DISCARD = 1024 * 1024  # an over-long line is skipped up to this, then the client is dropped
# Before dropping a client that sent too much, what it is still sending is read
# and thrown away for a moment: closing with unread input makes the kernel send
# a reset, which can destroy the BYE in flight before the client reads it.
LINGER_SECONDS = 2.0
LINGER_BYTES = 4 * 1024 * 1024
WRITE_BUFFER_HIGH = 256 * 1024
WRITE_BUFFER_LOW = WRITE_BUFFER_HIGH // 4  # asyncio's default low-water mark for that high one
WRITE_TIMEOUT_SECONDS = 60.0
MAX_LITERAL_DIGITS = 20


class Disconnect(Exception):
    """The connection is over (client gone, too slow, too big, or told BYE)."""


class ConnectionCounter:
    """Live connections by key (an address or an account id). Counted in the
    event loop's thread only."""

    def __init__(self) -> None:
        self._counts: dict[object, int] = {}

    def acquire(self, key: object, limit: int) -> bool:
        """Count one more connection for ``key`` unless ``limit`` (> 0) is reached."""
        count = self._counts.get(key, 0)
        if limit > 0 and count >= limit:
            return False
        self._counts[key] = count + 1
        return True

    def release(self, key: object) -> None:
        count = self._counts.get(key, 0) - 1
        if count > 0:
            self._counts[key] = count
        else:
            self._counts.pop(key, None)

    def count(self, key: object) -> int:
        return self._counts.get(key, 0)

    def total(self) -> int:
        """Connections open now, all addresses together (the metrics gauge)."""
        return sum(self._counts.values())


@dataclass(frozen=True)
class LiteralSyntax:
    """How a protocol announces a literal at the end of a line, and what the
    server does with one over the limit.

    ``pattern`` matches the end of a line: group 1 is the size, group 2 (may be
    empty) is "+" for a non-synchronizing literal (RFC 7888 §3, RFC 5804 §4).
    ``continuation`` is sent before reading a synchronizing literal (IMAP's
    "+ ..."); None for a protocol without one, whose literals all come at once.
    A non-synchronizing literal over the limit but at most ``skip_up_to`` bytes
    is read and dropped and the command refused; a bigger one, or more than
    ``max_literals`` in one command, ends the connection."""

    pattern: re.Pattern[bytes]
    continuation: bytes | None
    max_literals: int
    skip_up_to: int = 0


class CommandTable(Generic[SessionT]):
    """Which handler runs each parsed command: one entry per command class,
    ``handler(session, command)`` receiving the command as its real type (the
    parser makes one class per command, or per family of commands that share
    a handler). Checked by mypy at ``add``; a class without a handler is a
    KeyError at ``dispatch``, caught by the protocol's tests."""

    def __init__(self) -> None:
        self._handlers: dict[type, Callable[[SessionT, Any], Awaitable[None]]] = {}

    def add(self, kind: type[CommandT], handler: Callable[[SessionT, CommandT], Awaitable[None]]) -> None:
        self._handlers[kind] = handler

    def handles(self, kind: type) -> bool:
        return kind in self._handlers

    async def dispatch(self, session: SessionT, command: object) -> None:
        await self._handlers[type(command)](session, command)


# asyncio's SSLProtocol (Python 3.11+) gives every TLS connection its own
# 256 KiB read buffer, allocated and zeroed when the connection opens: most of
# the memory of an idle IMAP session (330 KiB each before this). The loop only
# uses that buffer between get_buffer() and buffer_updated(), which copies the
# bytes into the connection's SSL object at once, both in one synchronous call,
# so every connection of one event loop can share a single buffer.
_SHARED_TLS_BUFFERS: dict[asyncio.AbstractEventLoop, tuple[bytearray, memoryview]] = {}


def share_tls_read_buffer(transport: asyncio.BaseTransport) -> bool:
    """Point the TLS protocol behind ``transport`` at its loop's shared read
    buffer. Returns False (and changes nothing) for a plain transport or an
    asyncio without the buffered SSLProtocol."""
    protocol = getattr(transport, "_ssl_protocol", None)
    own = getattr(protocol, "_ssl_buffer", None)
    if protocol is None or not isinstance(own, bytearray) or not hasattr(protocol, "_ssl_buffer_view"):
        return False
    loop = asyncio.get_running_loop()
    shared = _SHARED_TLS_BUFFERS.get(loop)
    if shared is None:
        if len(_SHARED_TLS_BUFFERS) > 16:  # loops of finished test servers
            _SHARED_TLS_BUFFERS.clear()
        buffer = bytearray(len(own))
        shared = _SHARED_TLS_BUFFERS[loop] = (buffer, memoryview(buffer))
    if len(shared[0]) < len(own):
        return False
    protocol._ssl_buffer, protocol._ssl_buffer_view = shared
    return True


def _in_store_thread(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    close_old_connections()  # the threads live as long as the process: drop a broken or expired connection
    return fn(*args, **kwargs)


class LineConnection:
    """One client of a line protocol. Subclasses set the class attributes and
    implement the hooks below (the ``NotImplementedError`` ones); ``serve``
    runs the connection to its end and always closes it."""

    protocol: ClassVar[str]  # for the log
    log: ClassVar[logging.Logger]  # the protocol's logger: connections ending are logged at DEBUG
    literals: ClassVar[LiteralSyntax]
    threads: ClassVar[StoreThreads]
    by_address: ClassVar[ConnectionCounter]

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, tls_context: ssl.SSLContext,
        implicit_tls: bool, max_line: int,
    ) -> None:
        """``max_line``: one line of a command, literals excluded; the stream's
        limit must be a little above it (``start_server``)."""
        self.reader = reader
        self.writer = writer
        self.tls = implicit_tls
        self.tls_context = tls_context
        self.starttls_available = not implicit_tls
        self.max_line = max_line
        self.compressed = False  # COMPRESS=DEFLATE (RFC 4978) active
        self._inflating: asyncio.Task[None] | None = None
        peer = writer.get_extra_info("peername")
        self.peer = str(peer[0]) if isinstance(peer, tuple) else str(peer or "")
        writer.transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)
        if implicit_tls:
            share_tls_read_buffer(writer.transport)

    # -- the protocol's hooks ------------------------------------------------------
    def write_timeout(self) -> float:
        """Seconds a client may leave our output unread before it is dropped."""
        return WRITE_TIMEOUT_SECONDS

    def read_timeout(self) -> float:
        """Seconds a client may stay silent in its current state."""
        raise NotImplementedError

    def max_per_address(self) -> int:
        """Connections one address may hold at once (0: no limit)."""
        raise NotImplementedError

    def greeting(self) -> bytes:
        raise NotImplementedError

    def refusal_too_many(self) -> bytes:
        """The greeting that refuses a connection over ``max_per_address``."""
        raise NotImplementedError

    def bye_timeout(self) -> bytes:
        raise NotImplementedError

    def line_too_long(self, line: bytes) -> bytes:
        """The answer to an over-long line (``line`` is b"" when its start was skipped)."""
        raise NotImplementedError

    def bye_line_too_long(self) -> bytes:
        raise NotImplementedError

    def literal_limit(self) -> int:
        """The total size of the literals of one command, in the current state."""
        raise NotImplementedError

    def literal_refused(self, first: bytes, *, synchronizing: bool, skipped: bool) -> bytes:
        """The answer to a command whose literal is over the limit: before the
        client sent it (``synchronizing``), or after it was read and dropped
        (``skipped``)."""
        raise NotImplementedError

    def bye_literal_too_big(self, first: bytes) -> bytes:
        """What is said before dropping a client whose literal is too big to skip."""
        raise NotImplementedError

    def logged_out(self) -> bool:
        raise NotImplementedError

    async def handle(self, data: bytes) -> None:
        """Parse and run one command (literals inline, no final CRLF)."""
        raise NotImplementedError

    def finish(self) -> None:
        """The connection is over: release what the session holds."""

    # -- store calls ---------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in the protocol's store thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.threads.executor(), functools.partial(_in_store_thread, fn, args, kwargs)
        )

    # -- output --------------------------------------------------------------------
    async def write(self, data: bytes) -> None:
        if self.writer.is_closing():
            raise Disconnect("closed")
        self.writer.write(data)
        if self.writer.transport.get_write_buffer_size() > WRITE_BUFFER_HIGH:
            await self.flush()

    async def flush(self) -> None:
        """Wait until the client has read enough; a client that never reads is
        dropped after ``write_timeout()`` seconds instead of growing our memory."""
        transport = self.writer.transport
        if not transport.is_closing() and transport.get_write_buffer_size() <= WRITE_BUFFER_LOW:
            # Nothing to wait for: skip wait_for, which costs a task and a timer
            # handle per call (every command ends here, and every IDLE wake-up:
            # with 1,000 sessions of one account that was on the delivery ->
            # EXISTS path a thousand times).
            return
        try:
            await asyncio.wait_for(self.writer.drain(), self.write_timeout())
        except TimeoutError:
            raise Disconnect("client does not read") from None
        except (ConnectionError, RuntimeError) as exc:
            raise Disconnect(str(exc)) from None

    async def linger(self) -> None:
        """Send what is written, then read and drop the client's input for at
        most LINGER_SECONDS or LINGER_BYTES, so the close that follows is not a
        reset that could wipe out our last words."""
        with contextlib.suppress(Disconnect):
            await self.flush()
        deadline = asyncio.get_running_loop().time() + LINGER_SECONDS
        dropped = 0
        with contextlib.suppress(TimeoutError, ConnectionError, ssl.SSLError):
            while dropped < LINGER_BYTES:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                chunk = await asyncio.wait_for(self.reader.read(64 * 1024), left)
                if not chunk:
                    break
                dropped += len(chunk)

    async def last_words(self, data: bytes, reason: str) -> Disconnect:
        """Say ``data`` (a BYE), linger, and return the Disconnect to raise."""
        await self.write(data)
        await self.linger()
        return Disconnect(reason)

    # -- input ---------------------------------------------------------------------
    async def _read(self, pending: Any) -> Any:
        """Await a read of the stream within the state's timeout; a silent
        client is told BYE and dropped."""
        try:
            return await asyncio.wait_for(pending, self.read_timeout())
        except TimeoutError:
            with contextlib.suppress(Disconnect):
                await self.write(self.bye_timeout())
                await self.flush()
            raise Disconnect("timeout") from None
        except asyncio.IncompleteReadError:
            raise Disconnect("eof") from None
        except (ConnectionError, ssl.SSLError) as exc:
            raise Disconnect(str(exc)) from None

    async def read_line(self) -> bytes | None:
        """One line with its line end; None after answering an over-long line
        (skipped). A client that keeps sending without a line end is told BYE
        and dropped."""
        discarded = 0
        while True:
            try:
                line: bytes = await self._read(self.reader.readuntil(b"\n"))
            except asyncio.LimitOverrunError as exc:
                discarded += exc.consumed
                await self._read(self.reader.readexactly(exc.consumed))
                if discarded > MAX_DISCARD:
                    raise await self.last_words(self.bye_line_too_long(), "line too long") from None
                continue
            if discarded or len(line) > self.max_line:
                await self.write(self.line_too_long(b"" if discarded else line))
                return None
            return line

    async def next_line(self) -> bytes:
        """The next line that is not over-long (those are answered and skipped)."""
        while True:
            line = await self.read_line()
            if line is not None:
                return line

    async def read_command(self) -> bytes | None:
        """One complete command with its literals inline (RFC 3501 §4.3,
        RFC 7888, RFC 5804 §4), without the final CRLF; None when the command
        was refused during framing (answered already)."""
        line = await self.read_line()
        if line is None:
            return None
        syntax = self.literals
        first = line
        pieces: list[bytes] = []
        total = 0
        count = 0
        limit = self.literal_limit()
        skipped = False
        while True:
            stripped = line.rstrip(b"\r\n")
            m = syntax.pattern.search(stripped)
            if m is None:
                pieces.append(stripped)
                break
            pieces.append(stripped + b"\r\n")
            size = int(m.group(1))
            synchronizing = syntax.continuation is not None and not m.group(2)
            total += size
            count += 1
            if total > limit or count > syntax.max_literals:
                if synchronizing:
                    # RFC 3501 §7.5: refuse instead of "+", the client sends nothing more.
                    await self.write(self.literal_refused(first, synchronizing=True, skipped=False))
                    return None
                if count > syntax.max_literals or size > syntax.skip_up_to:
                    # RFC 7888 §4: a non-synchronizing literal too big: BAD (or BYE), then close.
                    raise await self.last_words(self.bye_literal_too_big(first), "literal too big")
                # Already on its way: read and drop it, refuse the command at its end.
                skipped = True
                await self._read(self.reader.readexactly(size))
                pieces.append(b"")
            else:
                if synchronizing:
                    assert syntax.continuation is not None
                    await self.write(syntax.continuation)
                    await self.flush()
                pieces.append(await self._read(self.reader.readexactly(size)))
            next_line = await self.read_line()
            if next_line is None:
                return None
            line = next_line
        if skipped:
            await self.write(self.literal_refused(first, synchronizing=False, skipped=True))
            return None
        return b"".join(pieces)

    async def start_tls(self, reply: bytes) -> None:
        """Send ``reply`` (the OK to STARTTLS) and upgrade the connection at once
        (``server.tls.start_tls_after``: what was pipelined in clear text is dropped)."""
        await self.flush()
        try:
            await start_tls_after(self.reader, self.writer, reply, self.tls_context)
        except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
            raise Disconnect(f"TLS handshake failed: {exc}") from None
        share_tls_read_buffer(self.writer.transport)
        self.tls = True
        self.starttls_available = False

    async def start_compress(self, reply: bytes) -> None:
        """RFC 4978 §3: send ``reply`` (the OK to COMPRESS) in clear, then
        deflate both ways from the next byte on (``server.deflate``); what the
        client pipelined after its command is already compressed and read so."""
        await self.write(reply)
        await self.flush()
        raw_reader = self.reader
        self.reader = asyncio.StreamReader(limit=self.max_line + 2)  # as start_line_server
        self.writer = DeflateWriter(self.writer)  # type: ignore[assignment]
        self.compressed = True
        self._inflating = asyncio.create_task(inflate(raw_reader, self.reader))

    # -- the loop ------------------------------------------------------------------
    async def serve(self) -> None:
        """Greet, then read and run commands until logout or disconnection."""
        counted = False
        try:
            if proxy_protocol_enabled() and not self.tls:
                # Behind a load balancer: the PROXY header comes before the greeting
                # (server.proxyproto); from then on the client is the address it names.
                client = await read_proxy_header(self.reader, self.peer)
                if client is None:
                    raise Disconnect("PROXY header refused")
                self.peer = client
            counted = self.by_address.acquire(self.peer, self.max_per_address())
            if not counted:
                await self.write(self.refusal_too_many())
                await self.flush()
                return
            await self.write(self.greeting())
            await self.flush()
            while not self.logged_out():
                data = await self.read_command()
                if data is not None:
                    await self.handle(data)
                await self.flush()
        except Disconnect as exc:
            self.log.debug("%s connection from %s ended: %s", self.protocol, self.peer, exc)
        except (ConnectionError, ssl.SSLError) as exc:
            self.log.debug("%s connection from %s lost: %s", self.protocol, self.peer, exc)
        finally:
            if counted:
                self.by_address.release(self.peer)
            self.finish()
            await self.close()

    async def close(self) -> None:
        if self._inflating is not None:
            self._inflating.cancel()
        with contextlib.suppress(Exception):
            self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except (TimeoutError, asyncio.CancelledError, ConnectionError, ssl.SSLError):
            # A peer that never completes the TLS close: drop the socket.
            self.writer.transport.abort()


async def start_line_server(
    connection: Callable[[asyncio.StreamReader, asyncio.StreamWriter], LineConnection], *, host: str, port: int,
    max_line: int, tls_context: ssl.SSLContext | None = None,
) -> asyncio.base_events.Server:
    """Listen on (host, port), one ``connection(reader, writer)`` served per
    client; TLS from the first byte when ``tls_context`` is given."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await connection(reader, writer).serve()

    if tls_context is None:
        return await asyncio.start_server(
            client, host=host, port=port, limit=max_line + 2, reuse_address=True, reuse_port=True,
        )
    loop = asyncio.get_running_loop()

    def stream() -> asyncio.StreamReaderProtocol:  # what asyncio.start_server makes for each connection
        return asyncio.StreamReaderProtocol(asyncio.StreamReader(limit=max_line + 2, loop=loop), client, loop=loop)

    # The PROXY header, when the listener is proxied, precedes the handshake (server.proxyproto).
    return await start_tls_listener(stream, host=host, port=port, tls_context=tls_context)


__all__ = [
    "MAX_DISCARD", "CommandTable", "ConnectionCounter", "Disconnect", "LineConnection", "LiteralSyntax", "StoreThreads",
    "share_tls_read_buffer", "start_line_server",
]
