"""Signing in (RFC 3501 §6.2): STARTTLS, LOGIN and AUTHENTICATE PLAIN (with
SASL-IR, RFC 4959), through the accounts' one ``check_sign_in``; never in
clear text (LOGINDISABLED until TLS)."""

from __future__ import annotations

from academail.accounts.services import (
    check_sign_in,
    do_note_plaintext_refused,
    pause_before_refusal,
)
from academail.imap import limits
from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.session import Session
from academail.imap.state import State
from academail.server import sasl
from academail.store.events import bus


async def do_starttls(session: Session, command: C.StartTLS) -> None:
    if session.conn.tls or not session.conn.starttls_available:
        await session.bad(command, R.BAD_TLS_ACTIVE)
        return
    await session.conn.start_tls(f"{command.tag} OK {R.OK_STARTTLS}\r\n".encode())


async def do_login(session: Session, command: C.Login) -> None:
    if not session.conn.tls:
        # RFC 9051 §6.2.3: LOGINDISABLED; the owner's journal says why (phone diagnosis).
        await session.run(do_note_plaintext_refused, command.user, protocol="imap",
                          remote_addr=session.conn.peer, client_name=session.client_name)
        await session.no(command, R.NO_LOGIN_DISABLED, R.CODE_PRIVACYREQUIRED)
        return
    await _authenticate(session, command, command.user, command.password)


async def do_authenticate(session: Session, command: C.Authenticate) -> None:
    if not session.conn.tls:
        await session.no(command, R.NO_LOGIN_DISABLED, R.CODE_PRIVACYREQUIRED)
        return
    if command.mechanism != "PLAIN":
        await session.no(command, R.NO_MECHANISM, R.CODE_CANNOT)
        return
    initial = command.initial
    if initial is None:
        await session.conn.write(b"+ \r\n")
        initial = (await session.conn.next_line()).rstrip(b"\r\n")
    if initial == b"*":  # RFC 3501 §6.2.2: the client cancels
        await session.bad(command, R.BAD_AUTH_CANCELLED)
        return
    if initial == b"=":  # RFC 4959 §3: an empty initial response
        initial = b""
    try:
        plain = sasl.decode_plain(initial)
    except sasl.SaslError:
        await session.bad(command, "Invalid SASL PLAIN response")
        return
    if plain.acts_for_another:
        await session.no(command, R.NO_AUTH_FAILED, "AUTHORIZATIONFAILED")
        return
    await _authenticate(session, command, plain.user, plain.password)


async def _authenticate(session: Session, command: C.Command, user: str, password: str) -> None:
    result = await session.run(
        check_sign_in, user, password, protocol="imap", remote_addr=session.conn.peer, client_name=session.client_name
    )
    account = result.account
    if account is None:
        await pause_before_refusal(result)
        if result.throttled:
            # RFC 5530 §3 [UNAVAILABLE]: a temporary refusal, so the client
            # does not ask the person for their password again.
            await session.no(command, R.NO_AUTH_THROTTLED.format(seconds=result.retry_after), R.CODE_UNAVAILABLE)
        else:
            await session.no(command, R.NO_AUTH_FAILED, R.CODE_AUTHENTICATIONFAILED)
        return
    # Checked after the password, so the refusal tells nothing to someone without it.
    if not limits.by_account.acquire(account.pk, limits.MAX_CONNECTIONS_PER_ACCOUNT):
        await session.no(command, R.NO_TOO_MANY_FOR_ACCOUNT, R.CODE_LIMIT)  # RFC 5530 §3
        return
    session.counted_account = account.pk
    session.account_id = account.pk
    session.state = State.AUTHENTICATED
    session.subscription = bus.subscribe(account.pk)
    await session.ok(command, f"CAPABILITY {session.capability_line()}", f"{command.name} {R.OK_DONE}")
