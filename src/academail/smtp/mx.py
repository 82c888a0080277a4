"""The MX: receives mail from the Internet for the académie's domains and hands
it to the one door. Answers ``250`` only once the message is durable (the door's
batcher commits before resolving).

aiosmtpd does the protocol (pipelining, dot-stuffing, CRLF-only end of data,
which refuses the bare-LF smuggling variants); this module decides who may send
what to whom, and words the replies with enhanced status codes (RFC 3463).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from email.utils import format_datetime
from typing import Any

from aiosmtpd.proxy_protocol import ProxyData
from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from academail.delivery.authcheck import check_inbound, prepare_checks
from academail.delivery.batcher import DeliveryBatcher
from academail.delivery.dns import DnsPythonResolver, Resolver
from academail.delivery.door import (
    DeliveryRefused,
    ListAddress,
    Recipient,
    Refusal,
    check_helpdesk,
    check_list_posts,
    check_lists,
    check_recipients,
    check_relay,
)
from academail.delivery.route import deliver_batched
from academail.server.proxyproto import (
    PROXY_HEADER_TIMEOUT,
    client_from_proxy_data,
    is_trusted_proxy,
    proxy_protocol_enabled,
)
from academail.smtp import codes

log = logging.getLogger(__name__)

_RECEIVED = re.compile(rb"^received:", re.IGNORECASE | re.MULTILINE)
_PENDING_RCPT = re.compile(rb"RCPT TO:\s*<([^<>\r\n]+)>[^\r\n]*\r\n", re.IGNORECASE)

# Pipelined RCPTs resolved together (RFC 2920): one lookup for up to this many
# addresses waiting in the input buffer instead of a thread hop and queries each.
RCPT_PREFETCH = 500


def count_received(data: bytes) -> int:
    """Received header fields in the header section (loop detection, RFC 5321 §6.3)."""
    end = data.find(b"\r\n\r\n")
    return len(_RECEIVED.findall(data if end < 0 else data[: end + 2]))


def received_header(
    session: Session, envelope: Envelope, queue_id: str, recipient: str | None, *, authenticated: bool = False
) -> bytes:
    """Our trace field (RFC 5321 §4.4); "for" only for a single recipient, so the
    prefix is the same for all recipients of a circular. ``authenticated``: the
    "A" of ESMTPA/ESMTPSA (RFC 3848)."""
    peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
    helo = re.sub(r"[^A-Za-z0-9.\-\[\]:]", "", session.host_name or "unknown")[:255] or "unknown"
    protocol = "ESMTPS" if session.ssl else ("ESMTP" if session.extended_smtp else "SMTP")
    if authenticated and protocol != "SMTP":
        protocol += "A"
    if envelope.smtp_utf8:
        protocol = "UTF8" + protocol
    recipient_part = f"\r\n\tfor <{recipient}>" if recipient else ""
    date = format_datetime(timezone.localtime())
    text = (
        f"Received: from {helo} ([{peer}])\r\n\tby {settings.MAIL_HOSTNAME} (academail) "
        f"with {protocol} id {queue_id}{recipient_part};\r\n\t{date}\r\n"
    )
    return text.encode("utf-8")


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control_characters(address: str) -> bool:
    """True when an envelope address holds a control character (RFC 5321
    §4.1.2: none is allowed, quoted or not; C1 ones come from bad UTF-8)."""
    return _CONTROL_CHARACTERS.search(address) is not None


def transaction_answers(envelope: Envelope) -> dict[str, str]:
    """Replies already given to RCPTs of this transaction, by lower-cased
    address: a repeated RCPT is answered from here (RFC 5321 §3.3 lets a
    server accept a duplicate; the message is delivered once), without a
    lookup. aiosmtpd makes a new Envelope per transaction (RSET, MAIL)."""
    answers: dict[str, str] | None = getattr(envelope, "academail_answers", None)
    if answers is None:
        answers = {}
        envelope.academail_answers = answers  # type: ignore[attr-defined]
    return answers


def repeated_rcpt(envelope: Envelope, address: str) -> str | None:
    """The reply for ``address`` if this transaction already answered it: the
    same refusal, or ``250`` again (counted towards the recipient limit, not
    added to the recipients a second time)."""
    reply = transaction_answers(envelope).get(address.lower())
    if reply == codes.S250_RECIPIENT_OK:
        envelope.rcpt_tos.append(address)
    return reply


def remember_rcpt(envelope: Envelope, address: str, reply: str) -> None:
    """Keep the reply to this RCPT for a repetition (not the recipient-count
    refusal, which is about the transaction, not the address)."""
    if reply != codes.S452_TOO_MANY_RECIPIENTS:
        transaction_answers(envelope).setdefault(address.lower(), reply)


class MXHandler:
    def __init__(self, batcher: DeliveryBatcher, resolver: Resolver | None = None) -> None:
        self.batcher = batcher
        self.resolver = resolver or DnsPythonResolver(timeout=5)
        self.domains = {d.lower() for d in settings.MAIL_DOMAINS}

    async def handle_PROXY(self, server: SMTP, session: Session, envelope: Envelope, proxy_data: ProxyData) -> bool:
        return await accept_proxy(server, session, proxy_data)

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        # RFC 2034: we send enhanced codes, so say so (aiosmtpd does not list it).
        return [*responses[:-1], "250-ENHANCEDSTATUSCODES", "250-PIPELINING", responses[-1]]

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return codes.S250_SENDER_OK

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        reply = await self._rcpt(server, envelope, address, options)
        remember_rcpt(envelope, address, reply)
        return reply

    async def _rcpt(self, server: SMTP, envelope: Envelope, address: str, options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= settings.SMTP_MAX_RECIPIENTS:
            return codes.S452_TOO_MANY_RECIPIENTS
        if (repeated := repeated_rcpt(envelope, address)) is not None:
            return repeated
        domain = address.rpartition("@")[2].lower()
        if domain not in self.domains:
            return codes.S550_RELAY_DENIED
        size_hint = size_param(envelope.mail_options)
        try:
            # A bounce to an SRS address of ours goes back to the original
            # sender outside; forged or expired ones are unknown users.
            relay = check_relay(address)
            if relay is not None and relay.rpartition("@")[2].lower() not in self.domains:
                envelope.rcpt_tos.append(address)
                session_relays(envelope).append(relay)
                return codes.S250_RECIPIENT_OK
            if check_helpdesk(address):
                # Mail to the helpdesk becomes a ticket (DATA), not a mailbox's.
                envelope.rcpt_tos.append(address)
                session_helpdesk(envelope).append(address)
                return codes.S250_RECIPIENT_OK
            recipient = await self.check_recipient(server, envelope, address, size_hint)
        except DeliveryRefused as refused:
            return reply_for(refused.refusal)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        if isinstance(recipient, ListAddress):
            # A distribution list: ``lists`` takes the post (DATA), not a mailbox.
            session_lists(envelope).append(recipient.address)
        else:
            session_recipients(envelope).append(recipient)
        return codes.S250_RECIPIENT_OK

    async def check_recipient(
        self, server: SMTP, envelope: Envelope, address: str, size_hint: int
    ) -> Recipient | ListAddress:
        """``door.check_recipient`` for this RCPT, resolved together with the
        RCPTs the client pipelined behind it (RFC 2920): a circular's 10,000
        RCPTs cost a few lookups instead of one thread hop and query each.
        Answers are kept on the envelope (this transaction only) and used once,
        so none is older than the pipelined window it was read with; DATA checks
        quota again and refuses all with ``452`` if one no longer fits."""
        answers = _prefetched(envelope)
        if address not in answers:
            batch = [address]
            if isinstance(server, MXProtocol):
                batch += [
                    a for a in server.pending_rcpt_addresses(RCPT_PREFETCH - 1)
                    if a.rpartition("@")[2].lower() in self.domains and a not in answers
                ]
                batch = list(dict.fromkeys(batch))  # a repeated address is looked up once
            results = await sync_to_async(_check_recipients, thread_sensitive=False)(batch, size_hint)
            for pending, result in zip(batch, results, strict=True):
                answers.setdefault(pending, result)
        answer = answers.pop(address)
        if isinstance(answer, DeliveryRefused):
            raise answer
        return answer

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        if count_received(data) > codes.MAX_RECEIVED_HEADERS:
            return codes.S554_LOOP
        recipients = session_recipients(envelope)
        relays = session_relays(envelope)
        helpdesk = session_helpdesk(envelope)
        lists = session_lists(envelope)
        if not recipients and not relays and not helpdesk and not lists:
            return codes.S554_NO_VALID_RECIPIENTS
        if lists and not recipients and not relays and not helpdesk:
            # Only lists: a post a list would bounce is refused here instead, so no
            # DSN goes to a sender that may be forged (backscatter).
            try:
                await sync_to_async(_check_list_posts, thread_sensitive=False)(data, lists, envelope.mail_from or "")
            except DeliveryRefused as refused:
                return reply_for(refused.refusal)
        queue_id = secrets.token_hex(6).upper()
        single = recipients[0].address if len(recipients) == 1 else None
        # SPF/DKIM/DMARC (RFC 8601): the verdict goes in the per-delivery prefix,
        # above our Received field, so the blob stays the sender's bytes.
        prefix = received_header(session, envelope, queue_id, single)
        if settings.INBOUND_CHECKS:
            verdict = await check_inbound(
                data, ip=_peer_ip(session), helo=session.host_name or "", mail_from=envelope.mail_from or "",
                resolver=self.resolver,
            )
            prefix = verdict.header() + prefix
        try:
            outcomes = await deliver_batched(
                self.batcher, data, recipients, relays, prefix=prefix, envelope_from=envelope.mail_from or "",
                helpdesk=helpdesk, screen=settings.SPAM_FILTER, lists=lists,
            )
        except DeliveryRefused as refused:
            return reply_for(refused.refusal)
        except Exception:
            log.exception("storing message %s failed", queue_id)
            return codes.S451_LOCAL_ERROR
        refused_outcomes = [o for o in outcomes if not o.delivered]
        if refused_outcomes:
            return reply_for(refused_outcomes[0].refusal or Refusal.MAILBOX_FULL)
        log.info(
            "stored %s from=%s rcpts=%d lists=%d size=%d", queue_id, envelope.mail_from, len(recipients), len(lists),
            len(data),
        )
        return codes.S250_QUEUED.format(queue_id=queue_id)


async def accept_proxy(server: SMTP, session: Session, proxy_data: ProxyData) -> bool:
    """aiosmtpd's PROXY hook (``proxy_protocol_timeout``: it parsed the header
    before the greeting, server.proxyproto). Accepted only from a trusted proxy;
    the client it names becomes ``session.peer`` (throttling, journal, Received)
    and is counted against the per-address limit. False closes the connection."""
    tcp_peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
    if not is_trusted_proxy(tcp_peer):
        log.warning("PROXY header from %s, which is not a trusted proxy: closed", tcp_peer)
        return False
    client = client_from_proxy_data(tcp_peer, proxy_data)
    if client is None:
        return False
    session.peer = (client, proxy_data.src_port or 0)  # type: ignore[assignment]  # aiosmtpd annotates str; it holds peername's tuple
    if isinstance(server, MXProtocol) and not server.count_connection(client):
        await server.push(codes.S421_TOO_MANY_CONNECTIONS)
        return False
    return True


def proxy_header_timeout(*, implicit_tls: bool) -> float | None:
    """aiosmtpd's ``proxy_protocol_timeout`` for a listener: the header is read
    by aiosmtpd on plain/STARTTLS ports when ACADEMAIL_PROXY_PROTOCOL is on; on
    an implicit-TLS port it precedes the handshake, and
    ``server.proxyproto.start_tls_listener`` reads it instead."""
    return PROXY_HEADER_TIMEOUT if proxy_protocol_enabled() and not implicit_tls else None


def _peer_ip(session: Session) -> str:
    return session.peer[0] if isinstance(session.peer, tuple) else "127.0.0.1"


def check_recipient_in_thread(address: str, size_hint: int) -> Recipient | ListAddress:
    """``door.check_recipient`` from a worker thread (drops a broken connection
    first); a distribution list's address is a ``ListAddress``."""
    (result,) = _check_recipients([address], size_hint)
    if isinstance(result, DeliveryRefused):
        raise result
    return result


def _check_recipients(addresses: list[str], size_hint: int) -> list[Recipient | ListAddress | DeliveryRefused]:
    """``door.check_recipients``, lists' addresses apart (one more query for the batch)."""
    close_old_connections()  # worker threads keep connections; drop broken ones
    lists = check_lists(addresses)
    others = [a for a in addresses if a.strip().lower() not in lists]
    checked = dict(zip(others, check_recipients(others, size_hint=size_hint), strict=True))
    return [ListAddress(a.strip().lower()) if a.strip().lower() in lists else checked[a] for a in addresses]


def _check_list_posts(raw: bytes, lists: list[str], mail_from: str) -> None:
    close_old_connections()  # worker threads keep connections; drop broken ones
    check_list_posts(raw, lists, mail_from=mail_from)


def _prefetched(envelope: Envelope) -> dict[str, Recipient | ListAddress | DeliveryRefused]:
    """Answers for RCPTs read ahead in this transaction, by address as given."""
    answers: dict[str, Recipient | ListAddress | DeliveryRefused] | None = getattr(
        envelope, "academail_prefetched", None
    )
    if answers is None:
        answers = {}
        envelope.academail_prefetched = answers  # type: ignore[attr-defined]
    return answers


def session_recipients(envelope: Envelope) -> list[Recipient]:
    # aiosmtpd makes a new Envelope per transaction (RSET, MAIL), so resolved
    # recipients live on it and never leak into the next transaction.
    recipients: list[Recipient] | None = getattr(envelope, "academail_recipients", None)
    if recipients is None:
        recipients = []
        envelope.academail_recipients = recipients  # type: ignore[attr-defined]
    return recipients


def _addresses(envelope: Envelope, name: str) -> list[str]:
    """A list of addresses kept on this transaction's envelope."""
    addresses: list[str] | None = getattr(envelope, name, None)
    if addresses is None:
        addresses = []
        setattr(envelope, name, addresses)
    return addresses


def session_helpdesk(envelope: Envelope) -> list[str]:
    """This transaction's recipients that are the helpdesk's addresses."""
    return _addresses(envelope, "academail_helpdesk")


def session_lists(envelope: Envelope) -> list[str]:
    """This transaction's recipients that are distribution lists' addresses."""
    return _addresses(envelope, "academail_lists")


def session_relays(envelope: Envelope) -> list[str]:
    """Original senders of the SRS addresses among this transaction's recipients."""
    return _addresses(envelope, "academail_relays")


def size_param(options: list[str]) -> int:
    """The SIZE= value of MAIL FROM's parameters (RFC 1870), 0 when absent or malformed."""
    for option in options:
        key, _, value = option.partition("=")
        if key.upper() == "SIZE" and value.isdigit():
            return int(value)
    return 0


def reply_for(refusal: Refusal) -> str:
    """The SMTP reply (a named constant of ``smtp.codes``) for a refusal of the door."""
    return {
        Refusal.UNKNOWN_RECIPIENT: codes.S550_UNKNOWN_RECIPIENT,
        Refusal.MAILBOX_FULL: codes.S452_MAILBOX_FULL,
        Refusal.TOO_BIG: codes.S552_TOO_BIG,
        Refusal.SPAM: codes.S550_SPAM_REJECTED,
        Refusal.LIST_POSTING: codes.S550_LIST_POSTING,
    }[refusal]


class MXProtocol(SMTP):
    """aiosmtpd's SMTP with our reply wording and a per-address connection limit."""

    connections: dict[str, int] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Behind a PROXY-protocol balancer the TCP peer is the balancer: the
        # client is counted once its header is read (accept_proxy).
        self.proxied = kwargs.get("proxy_protocol_timeout") is not None
        self._academail_counted = False
        self._academail_started = False  # aiosmtpd's connection_made ran (not a 421 at the door)

    def count_connection(self, address: str) -> bool:
        """Count this connection for ``address``; False over SMTP_MAX_CONNECTIONS_PER_IP."""
        count = self.connections.get(address, 0)
        if count >= settings.SMTP_MAX_CONNECTIONS_PER_IP:
            return False
        self._academail_peer = address
        self.connections[address] = count + 1
        self._academail_counted = True
        return True

    def connection_made(self, transport: Any) -> None:
        peer = transport.get_extra_info("peername")
        if not self.proxied and not self.count_connection(peer[0] if peer else "?"):
            transport.write((codes.S421_TOO_MANY_CONNECTIONS + "\r\n").encode())
            transport.close()
            return
        self._academail_started = True
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if getattr(self, "_academail_counted", False):
            left = self.connections.get(self._academail_peer, 1) - 1
            if left <= 0:
                self.connections.pop(self._academail_peer, None)
            else:
                self.connections[self._academail_peer] = left
            self._academail_counted = False
        if self._academail_started:
            # Also for a proxied connection that ended before its PROXY header was
            # accepted (not counted yet): aiosmtpd must hear of the loss.
            self._academail_started = False
            super().connection_lost(error)

    def pending_rcpt_addresses(self, limit: int) -> list[str]:
        """Addresses of the complete RCPT command lines already received and
        waiting behind the current command (RFC 2920 pipelining), up to the
        first line that is not one. A hint only: each RCPT is still parsed by
        aiosmtpd when its turn comes, and one read differently here is just
        looked up on its own."""
        buffer = bytes(self._reader._buffer)  # type: ignore[attr-defined]
        addresses: list[str] = []
        position = 0
        while len(addresses) < limit:
            match = _PENDING_RCPT.match(buffer, position)
            if match is None:
                break
            addresses.append(match.group(1).decode("utf-8", "replace"))
            position = match.end()
        return addresses

    async def smtp_MAIL(self, arg: str) -> None:
        # Checked on the raw argument, before aiosmtpd's parser folds
        # whitespace away (MX and submission alike).
        if arg and has_control_characters(arg):
            await self.push(codes.S501_SENDER_SYNTAX)
            return
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str) -> None:
        if arg and has_control_characters(arg):
            await self.push(codes.S501_RECIPIENT_SYNTAX)
            return
        await super().smtp_RCPT(arg)

    async def push(self, status: str) -> None:  # type: ignore[override]
        await super().push(codes.AIOSMTPD_REWRITES.get(status, status))

    async def smtp_DATA(self, arg: str) -> None:
        """DATA read in 64 KiB chunks rather than aiosmtpd's line by line (which
        cost ~5 ms a message, bench/deliver.py). Same rules: the data ends only at
        <CRLF>.<CRLF> (RFC 5321 §4.1.1.4), so the bare-LF smuggling variants stay
        inside the message; dot-stuffing is undone (§4.5.2); lines over 1,000
        octets (§4.5.3.1.6) and data over the size limit are read to the end,
        then refused, never kept in memory."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        data = await self._read_data()
        if data is None:  # the client went away mid-message
            return
        if isinstance(data, str):
            self._set_post_data_state()
            await self.push(data)
            return
        self.envelope.content = data
        self.envelope.original_content = data
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def _read_data(self) -> bytes | str | None:
        """The unstuffed message, or the reply refusing it, or None on disconnect."""
        limit = self.data_size_limit or 0
        buffer = bytearray(b"\r\n")  # so the end marker is found even for an empty message
        too_big = False
        while True:
            chunk = await self._reader.read(65536)
            if not chunk:
                return None
            scan_from = max(0, len(buffer) - 4)
            buffer += chunk
            end = buffer.find(b"\r\n.\r\n", scan_from)
            if end >= 0:
                leftover = bytes(buffer[end + 5 :])
                del buffer[end + 2 :]
                if leftover:  # pipelined commands after the data: read them next
                    self._reader._buffer[:0] = leftover  # type: ignore[attr-defined]
                break
            if limit and len(buffer) > limit + 2:
                # Keep reading to the end marker, but only the tail that may hold it.
                too_big = True
                del buffer[: len(buffer) - 4]
        if too_big:
            return codes.S552_TOO_BIG
        body = bytes(buffer[2:])
        if limit and len(body) > limit:
            return codes.S552_TOO_BIG
        if body and max(map(len, body.split(b"\r\n"))) > self.line_length_limit - 2:
            return codes.S500_LINE_TOO_LONG
        # RFC 5321 §4.5.2: a leading period on any line is removed.
        return (b"\r\n" + body).replace(b"\r\n.", b"\r\n")[2:]


async def start_mx(
    batcher: DeliveryBatcher, *, host: str, port: int, tls_context: Any, resolver: Resolver | None = None
) -> asyncio.base_events.Server:
    """Listen for SMTP on (host, port); STARTTLS offered with ``tls_context``.
    ``resolver``: DNS for the SPF/DKIM/DMARC checks (default: the system's)."""
    loop = asyncio.get_running_loop()
    handler = MXHandler(batcher, resolver)
    if settings.INBOUND_CHECKS:
        await asyncio.to_thread(prepare_checks)  # not on the first message

    def factory() -> MXProtocol:
        return MXProtocol(
            handler,
            data_size_limit=settings.MAX_MESSAGE_SIZE,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=settings.MAIL_HOSTNAME,
            ident="academail",
            tls_context=tls_context,
            require_starttls=False,
            timeout=300,
            proxy_protocol_timeout=proxy_header_timeout(implicit_tls=False),
            loop=loop,
        )

    return await loop.create_server(factory, host=host, port=port, reuse_address=True, reuse_port=True)
