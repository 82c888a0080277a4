"""The ManageSieve listener (RFC 5804): what is ManageSieve's own on the shared
line server (``server.lineserver``): plain text with STARTTLS (§2.2; port
4190), the literal syntax (§4: ``{n+}``, no continuation) and its limits
(8 KiB lines; literals of at most one script's size once signed in, 8 KiB
before), idle timeouts, connections per address, the greeting and refusals,
and the parse → state check → dispatch of each command.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl

from academail.env import env_int
from academail.filters.scripts import MAX_SCRIPT_BYTES
from academail.managesieve import responses as R
from academail.managesieve.parsing import ParseError, parse_command
from academail.managesieve.session import HANDLERS, Session
from academail.managesieve.state import State, allowed
from academail.server.lineserver import (
    MAX_DISCARD,
    ConnectionCounter,
    Disconnect,
    LineConnection,
    LiteralSyntax,
    StoreThreads,
    start_line_server,
)

log = logging.getLogger(__name__)

MAX_LINE = 8 * 1024  # one line of a command, literals excluded (quoted strings are ≤ 1024 octets)
MAX_PREAUTH_LITERAL = 8 * 1024  # before sign-in, literals only carry SASL data
MAX_LITERALS = 4  # PUTSCRIPT has two strings; RENAMESCRIPT two
PREAUTH_TIMEOUT_SECONDS = 120
IDLE_TIMEOUT_SECONDS = 10 * 60
WRITE_TIMEOUT_SECONDS = 60.0
STORE_THREADS = 2
MAX_CONNECTIONS_PER_IP = env_int("ACADEMAIL_MANAGESIEVE_MAX_CONNECTIONS_PER_IP", 20)

# RFC 5804 §4: clients send literals as {n+}; {n} is accepted the same way
# (the protocol has no continuation request for literals). A refused literal is
# read and dropped up to MAX_DISCARD, then the client is dropped.
LITERALS = LiteralSyntax(
    pattern=re.compile(rb"\{(\d{1,10})(\+?)\}$"), continuation=None, max_literals=MAX_LITERALS,
    skip_up_to=MAX_DISCARD,
)

by_address = ConnectionCounter()
_threads = StoreThreads(STORE_THREADS, "sieve-store")
stop_store_threads = _threads.stop  # server shutdown: each thread's connection closed, threads ended


class Connection(LineConnection):
    protocol = "managesieve"
    log = log
    literals = LITERALS
    threads = _threads
    by_address = by_address

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, tls_context: ssl.SSLContext,
        implicit_tls: bool = False,
    ) -> None:
        super().__init__(
            reader, writer, tls_context=tls_context, implicit_tls=implicit_tls, max_line=MAX_LINE,
        )
        self.session = Session(self)

    # -- ManageSieve's words and limits -------------------------------------------
    def read_timeout(self) -> float:
        return PREAUTH_TIMEOUT_SECONDS if self.session.state is State.NOT_AUTHENTICATED else IDLE_TIMEOUT_SECONDS

    def max_per_address(self) -> int:
        return MAX_CONNECTIONS_PER_IP

    def greeting(self) -> bytes:
        # RFC 5804 §1.7: the greeting is the capability list and an OK.
        return self.session.capability_lines() + R.response("OK", R.GREETING)

    def refusal_too_many(self) -> bytes:
        return R.response("BYE", R.BYE_TOO_MANY_FROM_ADDRESS, R.CODE_TRYLATER)

    def bye_timeout(self) -> bytes:
        return R.response("BYE", R.BYE_TIMEOUT)

    def line_too_long(self, line: bytes) -> bytes:
        return R.response("NO", R.NO_LINE_TOO_LONG)

    def bye_line_too_long(self) -> bytes:
        return R.response("BYE", R.BYE_TOO_LONG)

    def literal_limit(self) -> int:
        return MAX_SCRIPT_BYTES if self.session.state is State.AUTHENTICATED else MAX_PREAUTH_LITERAL

    def literal_refused(self, first: bytes, *, synchronizing: bool, skipped: bool) -> bytes:
        # RFC 5804 §1.3: QUOTA/MAXSIZE says the script is over the size limit.
        code = R.CODE_QUOTA_MAXSIZE if self.session.state is State.AUTHENTICATED else ""
        return R.response("NO", R.NO_LITERAL_TOO_BIG, code)

    def bye_literal_too_big(self, first: bytes) -> bytes:
        return R.response("BYE", R.NO_LITERAL_TOO_BIG, R.CODE_QUOTA_MAXSIZE)

    def logged_out(self) -> bool:
        return self.session.state is State.LOGOUT

    def write_timeout(self) -> float:
        return WRITE_TIMEOUT_SECONDS

    # -- one command ---------------------------------------------------------------
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
            await HANDLERS.dispatch(session, command)
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

    def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Connection:
        return Connection(reader, writer, tls_context=tls_context)

    return await start_line_server(connection, host=host, port=port, max_line=MAX_LINE)


__all__ = ["MAX_DISCARD", "MAX_LINE", "Connection", "Disconnect", "start_managesieve", "stop_store_threads"]
