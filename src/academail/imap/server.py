"""The IMAP listener: what is IMAP's own on the shared line server
(``server.lineserver``): the literal syntax (RFC 3501 §4.3, RFC 7888 ``{n+}``,
RFC 3516 ``~{n}``) and its limits, 64 KiB command lines, the 30-minute
autologout of RFC 9051 §5.4, the greeting and refusals, the per-address cap
(``imap.limits``), and the parse → state check → dispatch of each command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import time

from django.conf import settings

from academail.imap import limits
from academail.imap import responses as R
from academail.imap.commands import HANDLERS
from academail.imap.parsing import ParseError, parse_command
from academail.imap.parsing.commands import KNOWN_COMMANDS, read_tag
from academail.imap.session import Session
from academail.imap.state import ALLOWED, SELECTED, State, allowed
from academail.metrics import count_imap_command, observe_imap_command
from academail.server.lineserver import (
    MAX_DISCARD,
    Disconnect,
    LineConnection,
    LiteralSyntax,
    StoreThreads,
    share_tls_read_buffer,
    start_line_server,
)
from academail.store.errors import NoPermission

log = logging.getLogger(__name__)
SELECTED_ONLY = frozenset(name for name, states in ALLOWED.items() if states == SELECTED)

MAX_LINE = 64 * 1024  # one line of a command, literals excluded
MAX_PREAUTH_LITERAL = 8 * 1024  # before login, literals only carry a user name or password
AUTOLOGOUT_SECONDS = 30 * 60  # RFC 9051 §5.4: at least 30 minutes
PREAUTH_TIMEOUT_SECONDS = 120
WRITE_TIMEOUT_SECONDS = 60.0
STORE_THREADS = 8

LITERALS = LiteralSyntax(
    pattern=re.compile(rb"~?\{(\d{1,20})(\+?)\}$"), continuation=b"+ Ready for literal data\r\n", max_literals=500,
)
_COMMAND_NAME = re.compile(rb"^[^ ]+ (?:UID )?([A-Za-z]+)", re.IGNORECASE)

_threads = StoreThreads(STORE_THREADS, "imap-store")
stop_store_threads = _threads.stop  # server shutdown: each thread's connection closed, threads ended


class Connection(LineConnection):
    protocol = "imap"
    log = log
    literals = LITERALS
    threads = _threads
    by_address = limits.by_address

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, tls_context: ssl.SSLContext,
        implicit_tls: bool,
    ) -> None:
        super().__init__(
            reader, writer, tls_context=tls_context, implicit_tls=implicit_tls, max_line=MAX_LINE,
        )
        self.session = Session(self)

    # -- IMAP's words and limits ---------------------------------------------------
    def read_timeout(self) -> float:
        if self.session.state is State.NOT_AUTHENTICATED:
            return PREAUTH_TIMEOUT_SECONDS
        return AUTOLOGOUT_SECONDS

    def max_per_address(self) -> int:
        return limits.MAX_CONNECTIONS_PER_IP

    def greeting(self) -> bytes:
        return f"* OK [CAPABILITY {self.session.capability_line()}] {R.seven_bit(R.GREETING)}\r\n".encode()

    def refusal_too_many(self) -> bytes:
        # RFC 3501 §7.1.5: a BYE greeting refuses the connection; RFC 5530 §3 [LIMIT].
        return f"* BYE [{R.CODE_LIMIT}] {R.seven_bit(R.BYE_TOO_MANY_FROM_ADDRESS)}\r\n".encode()

    def bye_timeout(self) -> bytes:
        return f"* BYE {R.seven_bit(R.BYE_AUTOLOGOUT)}\r\n".encode()

    def line_too_long(self, line: bytes) -> bytes:
        tag = read_tag(line) or "*"
        return f"{tag} BAD [{R.CODE_TOOBIG}] {R.BAD_LINE_TOO_LONG}\r\n".encode()

    def bye_line_too_long(self) -> bytes:
        return f"* BYE {R.seven_bit(R.BYE_TOO_LONG)}\r\n".encode()

    def literal_limit(self) -> int:
        if self.session.state is State.NOT_AUTHENTICATED:
            return MAX_PREAUTH_LITERAL
        return int(settings.MAX_MESSAGE_SIZE)

    def literal_refused(self, first: bytes, *, synchronizing: bool, skipped: bool) -> bytes:
        # RFC 7889 §4: an APPEND too big is NO [TOOBIG]; any other command BAD.
        tag = read_tag(first) or "*"
        name = _COMMAND_NAME.match(first)
        status = "NO" if name and name.group(1).upper() == b"APPEND" else "BAD"
        return f"{tag} {status} [{R.CODE_TOOBIG}] {R.BAD_LITERAL_TOO_BIG}\r\n".encode()

    def bye_literal_too_big(self, first: bytes) -> bytes:
        tag = read_tag(first) or "*"
        return (
            f"{tag} BAD [{R.CODE_TOOBIG}] {R.BAD_LITERAL_TOO_BIG}\r\n* BYE {R.BAD_LITERAL_TOO_BIG}\r\n".encode()
        )

    def logged_out(self) -> bool:
        return self.session.state is State.LOGOUT

    def finish(self) -> None:
        self.session.close()

    def write_timeout(self) -> float:
        return WRITE_TIMEOUT_SECONDS

    async def read_command(self) -> bytes | None:
        """The next command; with NOTIFY (RFC 5465) set, notifications are
        sent while waiting for it, as IDLE does (one future per wait)."""
        session = self.session
        if session.notify is None or session.subscription is None:
            return await super().read_command()
        reading = asyncio.ensure_future(super().read_command())
        try:
            while not reading.done() and session.notify is not None:
                await session.wait_event_or(reading)
                if not reading.done():
                    await session.between_commands()
                    await self.flush()
                    if session.state is State.LOGOUT:
                        return None
            return await reading
        finally:
            if not reading.done():
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reading

    # -- one command ---------------------------------------------------------------
    async def handle(self, data: bytes) -> None:
        started = time.perf_counter()  # the server time of the command (metrics), parsing included
        session = self.session
        try:
            command = parse_command(data, utf8=session.utf8)
        except ParseError as exc:
            tag = exc.tag or "*"
            word = _COMMAND_NAME.match(data)
            if word and word.group(1).upper().decode() not in KNOWN_COMMANDS:
                await self.write(f"{tag} BAD Unknown command\r\n".encode())
            else:
                await self.write(f"{tag} BAD Syntax error: {session.text(exc.text)}\r\n".encode("utf-8", "replace"))
            return
        # The one state check (RFC 3501 §3): see state.ALLOWED.
        if not allowed(command.name, session.state):
            await session.bad(command, f"{R.NO_NOT_ALLOWED} ({session.state.value})")
            return
        if session.view is not None and not await session.check_access() and command.name in SELECTED_ONLY:
            await session.no(command, R.NO_ACCESS_ENDED, R.CODE_NOPERM)
            return
        count_imap_command(command.name)
        try:
            await HANDLERS.dispatch(session, command)
        except NoPermission as exc:
            # RFC 4314 §4 / RFC 5530 §3: seen, but not allowed by the ACL.
            await session.no(command, exc.message, R.CODE_NOPERM)
        except Disconnect:
            raise
        except Exception:
            log.exception("imap command %s failed", command.name)
            await session.no(command, R.NO_SERVER_ERROR, R.CODE_SERVERBUG)
        finally:
            observe_imap_command(command.name, time.perf_counter() - started)


async def start_imap(
    *, host: str, port: int, tls_context: ssl.SSLContext, implicit_tls: bool
) -> asyncio.base_events.Server:
    """Listen for IMAP on (host, port): TLS from the first byte (993) when
    ``implicit_tls``, else plain text with STARTTLS (143) and LOGINDISABLED until then."""

    def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Connection:
        return Connection(reader, writer, tls_context=tls_context, implicit_tls=implicit_tls)

    return await start_line_server(
        connection, host=host, port=port, max_line=MAX_LINE, tls_context=tls_context if implicit_tls else None,
    )


__all__ = [
    "MAX_DISCARD", "MAX_LINE", "Connection", "Disconnect", "share_tls_read_buffer", "start_imap",
    "stop_store_threads",
]
