"""Message submission (RFC 6409): staff phones and mail programs send here, on
587 with STARTTLS or 465 with implicit TLS (RFC 8314 §3.3). AUTH PLAIN and
LOGIN (RFC 4954, 4616) through the accounts' one sign-in check, never over a
clear channel (``538 5.7.11``); MAIL FROM and From must be the account's
address or an alias; the message is fixed (Bcc, Date, Message-ID) and routed
by ``delivery.route``: local recipients through the one door, remote ones into
the outbound queue, in one commit before ``250``, with the account's sending
limits counted in that commit (``delivery.limits``: ``250`` "held for review"
over a soft limit, ``450 4.7.1`` over a hard one).

The protocol is aiosmtpd's, as on the MX (same connection limit, same reply
wording); this module decides who may send as whom.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from aiosmtpd.proxy_protocol import ProxyData
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from asgiref.sync import sync_to_async
from django.conf import settings

from academail.accounts.services import SignInResult, check_sign_in, pause_before_refusal
from academail.delivery.batcher import DeliveryBatcher
from academail.delivery.door import DeliveryRefused, ListAddress, Recipient, Refusal, check_size
from academail.delivery.limits import Verdict
from academail.delivery.queue import is_local
from academail.delivery.route import Identity, submit_batched
from academail.delivery.submit import SenderRefused, fix_headers, identity_of, refreshed_identity
from academail.server.proxyproto import start_tls_listener
from academail.smtp import codes
from academail.smtp.mx import (
    MXProtocol,
    accept_proxy,
    check_recipient_in_thread,
    count_received,
    proxy_header_timeout,
    received_header,
    remember_rcpt,
    repeated_rcpt,
    reply_for,
    session_lists,
    size_param,
)

log = logging.getLogger(__name__)


def _passthrough(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    # aiosmtpd decodes PLAIN/LOGIN and calls a synchronous authenticator; we
    # only let the credentials through here and check them off the event loop
    # in SubmissionHandler._verify (a password hash must not block the loop).
    return AuthResult(success=True, handled=False, auth_data=data)


def _peer(session: Session) -> str:
    return session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")


def _check_password(identifier: str, password: str, remote_addr: str, client_name: str) -> tuple[Identity | None, SignInResult]:
    """The one sign-in check, from a worker thread: (identity or None, its result)."""
    from django.db import close_old_connections

    close_old_connections()
    result = check_sign_in(identifier, password, protocol="smtp", remote_addr=remote_addr, client_name=client_name)
    return (identity_of(result.account) if result.account is not None else None), result


class SubmissionHandler:
    def __init__(self, batcher: DeliveryBatcher) -> None:
        self.batcher = batcher

    # --- AUTH (RFC 4954) -----------------------------------------------------------

    async def auth_PLAIN(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._verify(server, await SMTP.auth_PLAIN(server, None, args))

    async def auth_LOGIN(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._verify(server, await SMTP.auth_LOGIN(server, None, args))

    async def _verify(self, server: SMTP, decoded: AuthResult) -> AuthResult:
        if not decoded.success or not isinstance(decoded.auth_data, LoginPassword):
            return decoded  # aiosmtpd already answered (bad base64, "*" abort)
        session = server.session
        assert session is not None
        login = decoded.auth_data.login.decode("utf-8", "replace")
        password = decoded.auth_data.password.decode("utf-8", "replace")
        try:
            identity, result = await sync_to_async(_check_password, thread_sensitive=False)(
                login, password, _peer(session), session.host_name or ""
            )
        except Exception:
            log.exception("authentication failed with an error")
            return AuthResult(success=False, handled=False, message=codes.S454_AUTH_TEMPORARY)
        if identity is None:
            await pause_before_refusal(result)
            if result.throttled:
                # RFC 4954 §6: 454 4.7.0 is the temporary authentication failure.
                return AuthResult(success=False, handled=False,
                                  message=codes.S454_AUTH_THROTTLED.format(seconds=result.retry_after))
            return AuthResult(success=False, handled=False, message=codes.S535_AUTH_INVALID)
        log.info("submission: %s authenticated from %s", identity.identifier, _peer(session))
        return AuthResult(success=True, auth_data=identity, message=codes.S235_AUTH_OK)

    # --- the transaction -------------------------------------------------------------

    async def handle_PROXY(self, server: SMTP, session: Session, envelope: Envelope, proxy_data: ProxyData) -> bool:
        return await accept_proxy(server, session, proxy_data)

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-ENHANCEDSTATUSCODES", "250-PIPELINING", responses[-1]]

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        # Rights are read again for each message, not kept from AUTH: a member
        # removed from a functional mailbox mid-session stops sending as it,
        # and a departed account stops sending at all (issue 19).
        identity = await sync_to_async(refreshed_identity, thread_sensitive=False)(_identity(session))
        if identity is None:
            return codes.S530_ACCOUNT_DISABLED
        session.auth_data = identity  # type: ignore[assignment]  # aiosmtpd types it as None after reset
        # RFC 6409 §6.1: the MSA may refuse a sender the user is not entitled to.
        if address and not identity.may_use(address):
            return codes.S553_SENDER_NOT_OWNED.format(address=address)
        if size_param(options) > settings.MAX_MESSAGE_SIZE:
            return codes.S552_TOO_BIG
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return codes.S250_SENDER_OK

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        reply = await self._rcpt(envelope, address, options)
        remember_rcpt(envelope, address, reply)
        return reply

    async def _rcpt(self, envelope: Envelope, address: str, options: list[str]) -> str:
        local, remote = _routes(envelope)
        if len(envelope.rcpt_tos) >= settings.SMTP_MAX_RECIPIENTS:
            return codes.S452_TOO_MANY_RECIPIENTS
        if (repeated := repeated_rcpt(envelope, address)) is not None:
            return repeated
        if is_local(address):
            try:
                recipient = await sync_to_async(check_recipient_in_thread, thread_sensitive=False)(
                    address, size_param(envelope.mail_options)
                )
            except DeliveryRefused as refused:
                return reply_for(refused.refusal)
            if isinstance(recipient, ListAddress):
                session_lists(envelope).append(recipient.address)
            else:
                local.append(recipient)
        else:
            remote.append(address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return codes.S250_RECIPIENT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        identity = _identity(session)
        data = envelope.original_content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        if count_received(data) > codes.MAX_RECEIVED_HEADERS:
            return codes.S554_LOOP
        local, remote = _routes(envelope)
        lists = session_lists(envelope)
        if not local and not remote and not lists:
            return codes.S554_NO_VALID_RECIPIENTS
        try:
            check_size(len(data))
            fixed = fix_headers(data, identity, mail_from=envelope.mail_from or "")
        except DeliveryRefused as refused:
            return reply_for(refused.refusal)
        except SenderRefused as refused:
            if refused.field == "Sender":
                if refused.address is None:
                    return codes.S550_SENDER_HEADER_INVALID
                return codes.S550_SENDER_HEADER_NOT_OWNED.format(address=refused.address)
            if refused.address is None:
                return codes.S550_FROM_INVALID
            return codes.S550_FROM_NOT_OWNED.format(address=refused.address)
        queue_id = secrets.token_hex(6).upper()
        single = ([r.address for r in local] + lists + remote)[0] if len(local) + len(lists) + len(remote) == 1 else None
        trace = received_header(session, envelope, queue_id, single, authenticated=True)
        try:
            submitted = await submit_batched(
                self.batcher, fixed, mail_from=envelope.mail_from or "", local=local, remote=remote,
                identity=identity, trace=trace, lists=lists,
            )
        except DeliveryRefused as refused:
            return reply_for(refused.refusal)
        except Exception:
            log.exception("submission %s failed", queue_id)
            return codes.S451_QUEUE_ERROR
        # Sending limits (delivery.limits): a temporary refusal over a hard limit;
        # over a soft one, accepted (the client must not resend) but held.
        if submitted.decision.verdict is Verdict.REFUSE:
            return codes.S450_SENDING_LIMIT
        if submitted.decision.verdict is Verdict.HOLD:
            log.info("submission %s by %s held: %s", queue_id, identity.identifier, submitted.decision.reason)
            return codes.S250_HELD.format(queue_id=queue_id)
        refused_outcomes = [o for o in submitted.outcomes if not o.delivered]
        if refused_outcomes:
            return reply_for(refused_outcomes[0].refusal or Refusal.MAILBOX_FULL)
        log.info(
            "submitted %s by %s local=%d remote=%d size=%d",
            queue_id, identity.identifier, len(local), len(remote), len(fixed),
        )
        return codes.S250_QUEUED.format(queue_id=queue_id)


def _identity(session: Session) -> Identity:
    identity = session.auth_data
    assert isinstance(identity, Identity), "aiosmtpd checks AUTH before MAIL (auth_required)"
    return identity


def _routes(envelope: Envelope) -> tuple[list[Recipient], list[str]]:
    # Per transaction, like the MX's resolved recipients (aiosmtpd makes a new Envelope on RSET/MAIL).
    routes: tuple[list[Recipient], list[str]] | None = getattr(envelope, "academail_routes", None)
    if routes is None:
        routes = ([], [])
        envelope.academail_routes = routes  # type: ignore[attr-defined]
    return routes


class SubmissionProtocol(MXProtocol):
    """The MX protocol class with implicit TLS counted as TLS for AUTH."""

    connections: dict[str, int] = {}

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None and self._original_transport is None and self.session is not None:
            # Implicit TLS (RFC 8314): aiosmtpd only knows TLS started by STARTTLS.
            self._tls_protocol = transport
            self.session.ssl = {"ssl_object": ssl_object, "cipher": ssl_object.cipher()}


async def start_submission(
    batcher: DeliveryBatcher, *, host: str, port: int, tls_context: Any, implicit_tls: bool
) -> asyncio.base_events.Server:
    """Listen for submission on (host, port): implicit TLS with ``tls_context``
    (465), or STARTTLS offered with it and AUTH refused before (587)."""
    loop = asyncio.get_running_loop()
    handler = SubmissionHandler(batcher)

    def factory() -> SubmissionProtocol:
        return SubmissionProtocol(
            handler,
            data_size_limit=settings.MAX_MESSAGE_SIZE,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=settings.MAIL_HOSTNAME,
            ident="academail",
            tls_context=None if implicit_tls else tls_context,
            require_starttls=False,
            auth_required=True,  # RFC 6409 §4.3: no anonymous submission
            auth_require_tls=True,  # RFC 4954 §4, RFC 8314 §3: credentials only over TLS
            authenticator=_passthrough,
            timeout=300,
            proxy_protocol_timeout=proxy_header_timeout(implicit_tls=implicit_tls),
            loop=loop,
        )

    if implicit_tls:  # 465: a PROXY header, when proxied, comes before the handshake (server.proxyproto)
        return await start_tls_listener(factory, host=host, port=port, tls_context=tls_context)
    return await loop.create_server(factory, host=host, port=port, reuse_address=True, reuse_port=True)
