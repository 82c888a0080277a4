"""The IMAP listener on asyncio streams: TLS (implicit, or STARTTLS on the plain
port), framing of commands with their literals, limits (64 KiB command lines,
literal sizes, a bounded write buffer, the 30-minute autologout of RFC 9051
§5.4), the state check before every command, and the thread pool in which store
and accounts functions run so the event loop never blocks on the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

from academail.imap import limits
from academail.imap import responses as R
from academail.imap.parsing import ParseError, parse_command
from academail.imap.parsing.commands import KNOWN_COMMANDS, read_tag
from academail.imap.session import Session
from academail.imap.state import State, allowed
from academail.server.tls import start_tls_after
from academail.store.imap import checkout
from academail.store.threads import StoreThreads

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_LINE = 64 * 1024  # one line of a command, literals excluded
MAX_DISCARD = 1024 * 1024  # an over-long line is skipped up to this, then the client is dropped
# Before dropping a client that sent too much, what it is still sending is read
# and thrown away for a moment: closing with unread input makes the kernel send
# a reset, which can destroy the BYE in flight before the client reads it.
LINGER_SECONDS = 2.0
LINGER_BYTES = 4 * 1024 * 1024
MAX_PREAUTH_LITERAL = 8 * 1024  # before login, literals only carry a user name or password
AUTOLOGOUT_SECONDS = 30 * 60  # RFC 9051 §5.4: at least 30 minutes
PREAUTH_TIMEOUT_SECONDS = 120
WRITE_BUFFER_HIGH = 256 * 1024
WRITE_BUFFER_LOW = WRITE_BUFFER_HIGH // 4  # asyncio's default low-water mark for that high one
WRITE_TIMEOUT_SECONDS = 60.0
STORE_THREADS = 8

_LITERAL_AT_END = re.compile(rb"~?\{(\d{1,20})(\+?)\}$")
_COMMAND_NAME = re.compile(rb"^[^ ]+ (?:UID )?([A-Za-z]+)", re.IGNORECASE)

_threads = StoreThreads(STORE_THREADS, "imap-store")
_store_executor = _threads.executor
stop_store_threads = _threads.stop  # server shutdown: each thread's connection closed, threads ended


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
    checkout()
    return fn(*args, **kwargs)


class Disconnect(Exception):
    """The connection is over (client gone, too slow, or told BYE)."""


class Connection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, tls: bool,
        tls_context: ssl.SSLContext, implicit_tls: bool,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.tls = tls
        self.tls_context = tls_context
        self.starttls_available = not implicit_tls
        peer = writer.get_extra_info("peername")
        self.peer = str(peer[0]) if isinstance(peer, tuple) else str(peer or "")
        self.session = Session(self)
        writer.transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)
        if tls:
            share_tls_read_buffer(writer.transport)

    # -- store calls ---------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            _store_executor(), functools.partial(_in_store_thread, fn, args, kwargs)
        )

    # -- output --------------------------------------------------------------------
    async def write(self, data: bytes) -> None:
        if self.writer.is_closing():
            raise Disconnect("closed")
        self.writer.write(data)
        if self.writer.transport.get_write_buffer_size() > WRITE_BUFFER_HIGH:
            await self.flush()

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

    async def flush(self) -> None:
        """Wait until the client has read enough; a client that never reads is
        dropped after WRITE_TIMEOUT_SECONDS instead of growing our memory."""
        transport = self.writer.transport
        if not transport.is_closing() and transport.get_write_buffer_size() <= WRITE_BUFFER_LOW:
            # Nothing to wait for: skip wait_for, which costs a task and a timer
            # handle per call (every command ends here, and every IDLE wake-up:
            # with 1,000 sessions of one account that was on the delivery ->
            # EXISTS path a thousand times).
            return
        try:
            await asyncio.wait_for(self.writer.drain(), WRITE_TIMEOUT_SECONDS)
        except TimeoutError:
            raise Disconnect("client does not read") from None
        except (ConnectionError, RuntimeError) as exc:
            raise Disconnect(str(exc)) from None

    # -- input ---------------------------------------------------------------------
    def _timeout(self) -> float:
        if self.session.state is State.NOT_AUTHENTICATED:
            return PREAUTH_TIMEOUT_SECONDS
        return AUTOLOGOUT_SECONDS

    async def read_line(self) -> bytes:
        """One line with its line end. An over-long line is answered BAD and
        skipped; a client that keeps sending without a line end is dropped."""
        discarded = 0
        while True:
            try:
                line = await asyncio.wait_for(self.reader.readuntil(b"\n"), self._timeout())
            except TimeoutError:
                with contextlib.suppress(Disconnect):
                    await self.write(f"* BYE {R.BYE_AUTOLOGOUT}\r\n".encode())
                raise Disconnect("timeout") from None
            except asyncio.IncompleteReadError:
                raise Disconnect("eof") from None
            except asyncio.LimitOverrunError as exc:
                discarded += exc.consumed
                await self.reader.readexactly(exc.consumed)
                if discarded > MAX_DISCARD:
                    await self.write(f"* BYE {R.BYE_TOO_LONG}\r\n".encode())
                    await self.linger()
                    raise Disconnect("line too long") from None
                continue
            except (ConnectionError, ssl.SSLError) as exc:
                raise Disconnect(str(exc)) from None
            if discarded or len(line) > MAX_LINE:
                tag = read_tag(line if not discarded else b"") or "*"
                await self.write(f"{tag} BAD [{R.CODE_TOOBIG}] {R.BAD_LINE_TOO_LONG}\r\n".encode())
                discarded = 0
                continue
            return line

    async def read_command(self) -> bytes | None:
        """One complete command with its literals inline (RFC 3501 §4.3, RFC 7888),
        without the final CRLF; None when the command was refused during framing."""
        line = await self.read_line()
        pieces: list[bytes] = []
        total = 0
        first = line
        limit = settings.MAX_MESSAGE_SIZE
        if self.session.state is State.NOT_AUTHENTICATED:
            limit = MAX_PREAUTH_LITERAL
        while True:
            stripped = line.rstrip(b"\r\n")
            m = _LITERAL_AT_END.search(stripped)
            if m is None:
                pieces.append(stripped)
                return b"".join(pieces)
            pieces.append(stripped + b"\r\n")
            size = int(m.group(1))
            synchronizing = not m.group(2)
            total += size
            if total > limit or len(pieces) > 1000:
                tag = read_tag(first) or "*"
                name = _COMMAND_NAME.match(first)
                is_append = bool(name and name.group(1).upper() == b"APPEND")
                if synchronizing:
                    # RFC 3501 §7.5: refuse instead of "+", the client sends nothing more.
                    status = "NO" if is_append else "BAD"
                    await self.write(f"{tag} {status} [{R.CODE_TOOBIG}] {R.BAD_LITERAL_TOO_BIG}\r\n".encode())
                    return None
                # RFC 7888 §4: a non-synchronizing literal too big: BAD, then close.
                await self.write(f"{tag} BAD [{R.CODE_TOOBIG}] {R.BAD_LITERAL_TOO_BIG}\r\n".encode())
                await self.write(f"* BYE {R.BAD_LITERAL_TOO_BIG}\r\n".encode())
                await self.linger()
                raise Disconnect("literal too big")
            if synchronizing:
                await self.write(b"+ Ready for literal data\r\n")
                await self.flush()
            try:
                data = await asyncio.wait_for(self.reader.readexactly(size), self._timeout())
            except (asyncio.IncompleteReadError, TimeoutError, ConnectionError, ssl.SSLError):
                raise Disconnect("client vanished mid-literal") from None
            pieces.append(data)
            line = await self.read_line()

    async def start_tls(self, reply: bytes) -> None:
        """Send ``reply`` (the tagged OK) and upgrade the connection at once."""
        await self.flush()
        try:
            # RFC 9051 §6.2.1: what was pipelined after STARTTLS is dropped.
            await start_tls_after(self.reader, self.writer, reply, self.tls_context)
        except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
            raise Disconnect(f"TLS handshake failed: {exc}") from None
        share_tls_read_buffer(self.writer.transport)
        self.tls = True
        self.starttls_available = False

    # -- the loop ------------------------------------------------------------------
    async def serve(self) -> None:
        session = self.session
        counted = False
        try:
            counted = limits.by_address.acquire(self.peer, limits.MAX_CONNECTIONS_PER_IP)
            if not counted:
                # RFC 3501 §7.1.5: a BYE greeting refuses the connection; RFC 5530 §3 [LIMIT].
                await self.write(f"* BYE [{R.CODE_LIMIT}] {R.BYE_TOO_MANY_FROM_ADDRESS}\r\n".encode())
                return
            await self.write(f"* OK [CAPABILITY {session.capability_line()}] {R.GREETING}\r\n".encode())
            while session.state is not State.LOGOUT:
                data = await self.read_command()
                if data is None:
                    continue
                await self.handle(data)
                await self.flush()
        except Disconnect as exc:
            log.debug("imap connection from %s ended: %s", self.peer, exc)
        except (ConnectionError, ssl.SSLError) as exc:
            log.debug("imap connection from %s lost: %s", self.peer, exc)
        finally:
            if counted:
                limits.by_address.release(self.peer)
            session.close()
            await self.close()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except (TimeoutError, asyncio.CancelledError, ConnectionError, ssl.SSLError):
            # A peer that never completes the TLS close: drop the socket.
            self.writer.transport.abort()

    async def handle(self, data: bytes) -> None:
        session = self.session
        try:
            command = parse_command(data, utf8=session.utf8)
        except ParseError as exc:
            tag = exc.tag or "*"
            word = _COMMAND_NAME.match(data)
            if word and word.group(1).upper().decode() not in KNOWN_COMMANDS:
                await self.write(f"{tag} BAD Unknown command\r\n".encode())
            else:
                await self.write(f"{tag} BAD Syntax error: {exc.text}\r\n".encode("utf-8", "replace"))
            return
        # The one state check (RFC 3501 §3): see state.ALLOWED.
        if not allowed(command.name, session.state):
            await session.bad(command, f"{R.NO_NOT_ALLOWED} ({session.state.value})")
            return
        try:
            await session.dispatch(command)
        except Disconnect:
            raise
        except Exception:
            log.exception("imap command %s failed", command.name)
            await session.no(command, R.NO_SERVER_ERROR, R.CODE_SERVERBUG)


async def start_imap(
    *, host: str, port: int, tls_context: ssl.SSLContext, implicit_tls: bool
) -> asyncio.base_events.Server:
    """Listen for IMAP on (host, port): TLS from the first byte (993) when
    ``implicit_tls``, else plain text with STARTTLS (143) and LOGINDISABLED until then."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection(
            reader, writer, tls=implicit_tls, tls_context=tls_context, implicit_tls=implicit_tls
        )
        await connection.serve()

    return await asyncio.start_server(
        client, host=host, port=port, ssl=tls_context if implicit_tls else None,
        limit=MAX_LINE + 2, reuse_address=True, reuse_port=True, ssl_handshake_timeout=30 if implicit_tls else None,
    )
