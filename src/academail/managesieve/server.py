"""The ManageSieve listener (RFC 5804) on asyncio streams: plain text with
STARTTLS (§2.2; port 4190), framing of commands with their literals, limits
(8 KiB lines; literals of at most one script's size once signed in, 8 KiB
before; idle timeouts; connections per address), the state check before every command, and
the small thread pool in which accounts and filters functions run so the event
loop never blocks on the database.
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

from django.db import close_old_connections

from academail.config.env import env_int
from academail.filters.scripts import MAX_SCRIPT_BYTES
from academail.imap.limits import ConnectionCounter
from academail.managesieve import responses as R
from academail.managesieve.parsing import ParseError, parse_command
from academail.managesieve.session import Session
from academail.managesieve.state import State, allowed
from academail.server.tls import start_tls_after
from academail.store.threads import StoreThreads

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_LINE = 8 * 1024  # one line of a command, literals excluded (quoted strings are ≤ 1024 octets)
MAX_DISCARD = 1024 * 1024  # a refused literal is read and dropped up to this, then the client is dropped
MAX_PREAUTH_LITERAL = 8 * 1024  # before sign-in, literals only carry SASL data
MAX_LITERALS = 4  # PUTSCRIPT has two strings; RENAMESCRIPT two
PREAUTH_TIMEOUT_SECONDS = 120
IDLE_TIMEOUT_SECONDS = 10 * 60
WRITE_TIMEOUT_SECONDS = 60.0
STORE_THREADS = 2
MAX_CONNECTIONS_PER_IP = env_int("ACADEMAIL_MANAGESIEVE_MAX_CONNECTIONS_PER_IP", 20)

_LITERAL_AT_END = re.compile(rb"\{(\d{1,10})\+?\}$")

by_address = ConnectionCounter()
_threads = StoreThreads(STORE_THREADS, "sieve-store")
_store_executor = _threads.executor
stop_store_threads = _threads.stop  # server shutdown: each thread's connection closed, threads ended


def _in_store_thread(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    close_old_connections()  # the threads live as long as the process
    return fn(*args, **kwargs)


class Disconnect(Exception):
    """The connection is over (client gone, too slow, or too big)."""


class Connection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, tls_context: ssl.SSLContext,
        implicit_tls: bool = False,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.tls = implicit_tls
        self.tls_context = tls_context
        self.starttls_available = not implicit_tls
        peer = writer.get_extra_info("peername")
        self.peer = str(peer[0]) if isinstance(peer, tuple) else str(peer or "")
        self.session = Session(self)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_store_executor(), functools.partial(_in_store_thread, fn, args, kwargs))

    # -- output --------------------------------------------------------------------
    async def write(self, data: bytes) -> None:
        if self.writer.is_closing():
            raise Disconnect("closed")
        self.writer.write(data)

    async def flush(self) -> None:
        try:
            await asyncio.wait_for(self.writer.drain(), WRITE_TIMEOUT_SECONDS)
        except TimeoutError:
            raise Disconnect("client does not read") from None
        except (ConnectionError, RuntimeError) as exc:
            raise Disconnect(str(exc)) from None

    # -- input ---------------------------------------------------------------------
    def _timeout(self) -> float:
        return PREAUTH_TIMEOUT_SECONDS if self.session.state is State.NOT_AUTHENTICATED else IDLE_TIMEOUT_SECONDS

    async def _read(self, coro: Any) -> Any:
        try:
            return await asyncio.wait_for(coro, self._timeout())
        except TimeoutError:
            with contextlib.suppress(Disconnect):
                await self.write(R.response("BYE", R.BYE_TIMEOUT))
                await self.flush()
            raise Disconnect("timeout") from None
        except asyncio.IncompleteReadError:
            raise Disconnect("eof") from None
        except (ConnectionError, ssl.SSLError) as exc:
            raise Disconnect(str(exc)) from None

    async def read_line(self) -> bytes | None:
        """One line with its line end; None after answering NO to an over-long
        line (skipped); a client that never ends its line is dropped."""
        discarded = 0
        while True:
            try:
                line: bytes = await self._read(self.reader.readuntil(b"\n"))
            except asyncio.LimitOverrunError as exc:
                discarded += exc.consumed
                await self._read(self.reader.readexactly(exc.consumed))
                if discarded > MAX_DISCARD:
                    await self.write(R.response("BYE", R.BYE_TOO_LONG))
                    raise Disconnect("line too long") from None
                continue
            if discarded or len(line) > MAX_LINE:
                await self.write(R.response("NO", R.NO_LINE_TOO_LONG))
                return None
            return line

    async def read_command(self) -> bytes | None:
        """One command (or SASL answer) with its literals inline, without the
        final CRLF; None when it was refused during framing (answered already).

        RFC 5804 §4: clients send literals as ``{n+}``; ``{n}`` is accepted the
        same way (the protocol has no continuation request for literals)."""
        line = await self.read_line()
        if line is None:
            return None
        pieces: list[bytes] = []
        limit = MAX_SCRIPT_BYTES if self.session.state is State.AUTHENTICATED else MAX_PREAUTH_LITERAL
        refused = ""
        while True:
            stripped = line.rstrip(b"\r\n")
            m = _LITERAL_AT_END.search(stripped)
            if m is None:
                pieces.append(stripped)
                break
            pieces.append(stripped + b"\r\n")
            size = int(m.group(1))
            if size > MAX_DISCARD or len(pieces) > MAX_LITERALS * 2:
                await self.write(R.response("BYE", R.NO_LITERAL_TOO_BIG, R.CODE_QUOTA_MAXSIZE))
                raise Disconnect("literal too big")
            if size > limit:
                # The client sends the bytes without waiting ({n+}): read and drop them.
                refused = refused or R.NO_LITERAL_TOO_BIG
                await self._read(self.reader.readexactly(size))
                pieces.append(b"")
            else:
                pieces.append(await self._read(self.reader.readexactly(size)))
            next_line = await self.read_line()
            if next_line is None:
                return None
            line = next_line
        if refused:
            # RFC 5804 §1.3: QUOTA/MAXSIZE says the script is over the size limit.
            code = R.CODE_QUOTA_MAXSIZE if self.session.state is State.AUTHENTICATED else ""
            await self.write(R.response("NO", refused, code))
            return None
        return b"".join(pieces)

    async def start_tls(self, reply: bytes) -> None:
        """Send ``reply`` (the OK to STARTTLS) and upgrade the connection."""
        await self.flush()
        try:
            await start_tls_after(self.reader, self.writer, reply, self.tls_context)
        except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
            raise Disconnect(f"TLS handshake failed: {exc}") from None
        self.tls = True
        self.starttls_available = False

    # -- the loop ------------------------------------------------------------------
    async def serve(self) -> None:
        session = self.session
        counted = False
        try:
            counted = by_address.acquire(self.peer, MAX_CONNECTIONS_PER_IP)
            if not counted:
                await self.write(R.response("BYE", R.BYE_TOO_MANY_FROM_ADDRESS, R.CODE_TRYLATER))
                await self.flush()
                return
            # RFC 5804 §1.7: the greeting is the capability list and an OK.
            await self.write(session.capability_lines() + R.response("OK", R.GREETING))
            await self.flush()
            while session.state is not State.LOGOUT:
                data = await self.read_command()
                if data is not None:
                    await self.handle(data)
                await self.flush()
        except Disconnect as exc:
            log.debug("managesieve connection from %s ended: %s", self.peer, exc)
        except (ConnectionError, ssl.SSLError) as exc:
            log.debug("managesieve connection from %s lost: %s", self.peer, exc)
        finally:
            if counted:
                by_address.release(self.peer)
            await self.close()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except (TimeoutError, asyncio.CancelledError, ConnectionError, ssl.SSLError):
            self.writer.transport.abort()

    async def handle(self, data: bytes) -> None:
        session = self.session
        try:
            command = parse_command(data)
        except ParseError as exc:
            if exc.unknown:
                await session.no(R.NO_UNKNOWN_COMMAND)
            else:
                await session.no(R.NO_SYNTAX.format(detail=exc.text))
            return
        # The one state check (RFC 5804 §2): see state.ALLOWED.
        if not allowed(command.name, session.state):
            signed_in = session.state is State.AUTHENTICATED
            await session.no(R.NO_NOT_ALLOWED_AUTH if signed_in else R.NO_NOT_ALLOWED_NOT_AUTH)
            return
        try:
            await session.dispatch(command)
        except Disconnect:
            raise
        except Exception:
            log.exception("managesieve command %s failed", command.name)
            await session.no(R.NO_SERVER_ERROR, R.CODE_TRYLATER)


async def start_managesieve(
    *, host: str, port: int, tls_context: ssl.SSLContext
) -> asyncio.base_events.Server:
    """Listen for ManageSieve on (host, port): plain text, STARTTLS before
    signing in (RFC 5804 §2.2; the SASL list is empty until then)."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await Connection(reader, writer, tls_context=tls_context).serve()

    return await asyncio.start_server(
        client, host=host, port=port, limit=MAX_LINE + 2, reuse_address=True, reuse_port=True,
    )
