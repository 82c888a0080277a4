"""Who the client is when a TCP load balancer stands in front: the trusted-proxy
rule (``ACADEMAIL_TRUSTED_PROXIES``, shared with the web's ``config.proxies``)
and the PROXY protocol header (HAProxy's proxy-protocol.txt, v1 text and v2
binary) read before a line protocol's greeting.

Parsing is aiosmtpd's ``proxy_protocol.get_proxy`` (a dependency already, and
the parser our SMTP listeners use through aiosmtpd's ``proxy_protocol_timeout``),
so IMAP, ManageSieve and SMTP read the header with one parser. This module adds
the bounds and the trust decision:

- the header is read only when ``ACADEMAIL_PROXY_PROTOCOL`` is on; then every
  connection of the listener must start with one (HAProxy's ``accept-proxy``
  model: a header is never optional, or a client could choose whether its own
  address or the one it wrote is believed);
- the TCP peer must be a trusted proxy, else the connection is closed before
  anything is read or said (proxy-protocol.txt §2: "the receiver MUST be
  configured to only receive the protocol described in this specification
  [...] from trusted sources");
- a v1 line is at most 107 bytes (§2.1), a v2 header at most 16 + 65,535
  (its 16-bit length, §2.2); the whole header must arrive within
  ``PROXY_HEADER_TIMEOUT`` seconds; anything truncated or malformed closes the
  connection (§2: "the receiver MUST NOT try to guess whether the protocol
  header is present or not").
- v2 LOCAL (§2.2, the proxy's own health checks) and v1 UNKNOWN keep the TCP
  peer as the client address.

Implicit-TLS ports (IMAP 993, submission 465): the header comes before the
TLS handshake (proxy-protocol.txt §1: it is the first bytes of the TCP
stream), so ``start_tls_listener`` accepts in clear, reads exactly the header's
bytes from the socket (nothing of the ClientHello that may follow in the same
segment), then starts TLS on the connection and hands it to the protocol with
the client's address as its ``peername``: the protocols need no change.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
import ssl
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aiosmtpd.proxy_protocol import ProxyData, get_proxy
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger("academail.server.proxyproto")

PROXY_HEADER_TIMEOUT = 5.0  # seconds for the whole header; HAProxy sends it with the first segment
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())
    except ValueError as error:
        raise ImproperlyConfigured(f"ACADEMAIL_TRUSTED_PROXIES: {error}") from None


def is_trusted_proxy(address: str) -> bool:
    """Whether ``address`` is one of ``ACADEMAIL_TRUSTED_PROXIES`` (the one
    rule, for X-Forwarded-For on the web and PROXY headers on mail listeners)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def proxy_protocol_enabled() -> bool:
    """Whether the mail listeners expect a PROXY header on every connection."""
    return bool(getattr(settings, "PROXY_PROTOCOL", False))


def client_from_proxy_data(peer: str, data: ProxyData) -> str | None:
    """The client address a parsed header gives, or None to refuse it: invalid,
    or a v1 line over 107 bytes (§2.1). LOCAL/UNKNOWN/UNIX sources: ``peer``."""
    if not data.valid:
        return None
    if data.version == 1 and len(data.whole_raw) > 107:
        return None
    if isinstance(data.src_addr, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(data.src_addr)
    return peer


async def read_proxy_header(reader: asyncio.StreamReader, peer: str) -> str | None:
    """Read the PROXY header of a connection from ``peer``; the client address,
    or None when the connection must be closed (untrusted peer, truncated,
    malformed, too slow). Precondition: ``proxy_protocol_enabled()``."""
    if not is_trusted_proxy(peer):
        log.warning("PROXY header expected from %s, which is not a trusted proxy: closed", peer)
        return None
    try:
        data = await asyncio.wait_for(get_proxy(reader), PROXY_HEADER_TIMEOUT)
    except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
        log.info("PROXY header from %s incomplete: %r", peer, exc)
        return None
    client = client_from_proxy_data(peer, data)
    if client is None:
        log.info("PROXY header from %s refused: %s", peer, data.error or "too long")
    return client


# proxy-protocol.txt §2.2: the v2 signature; a v1 header starts with "PROXY ".
_V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
TLS_HANDSHAKE_TIMEOUT = 30.0


async def start_tls_listener(
    factory: Callable[[], asyncio.BaseProtocol], *, host: str, port: int, tls_context: ssl.SSLContext,
) -> asyncio.base_events.Server:
    """An implicit-TLS listener: TLS from the first byte, or, when the PROXY
    protocol is on, the PROXY header first and TLS after it (``_ProxyThenTLS``;
    decided per connection, as on the other listeners)."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _ProxyThenTLS(factory, tls_context), host=host, port=port,
                                    reuse_address=True, reuse_port=True)


class _ProxyThenTLS(asyncio.Protocol):
    """Reads a connection's PROXY header straight from its socket, then starts
    TLS and gives the connection to ``factory()``'s protocol."""

    def __init__(self, factory: Callable[[], asyncio.BaseProtocol], tls_context: ssl.SSLContext) -> None:
        self.factory = factory
        self.tls_context = tls_context
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        # Before the transport's first read (asyncio adds its reader after this
        # call): the header is read from the socket itself, byte-exact.
        transport.pause_reading()
        self.task = asyncio.get_running_loop().create_task(self._accept(transport))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _accept(self, transport: asyncio.Transport) -> None:
        client = await self._client(transport) if proxy_protocol_enabled() else None
        if client is False:
            transport.abort()
            return
        app = self.factory()
        try:
            tls = await asyncio.get_running_loop().start_tls(
                transport, app, self.tls_context, server_side=True, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT)
        except (ssl.SSLError, ConnectionError, TimeoutError, OSError) as exc:
            log.debug("TLS handshake failed: %r", exc)
            return
        if tls is not None:
            app.connection_made(tls if client is None else _ClientAddress(tls, client))  # type: ignore[arg-type]

    async def _client(self, transport: asyncio.Transport) -> tuple[str, int] | bool:
        """The client's (address, port) from the PROXY header, or False to close."""
        peername = transport.get_extra_info("peername")
        peer = str(peername[0]) if isinstance(peername, tuple) else ""
        if not is_trusted_proxy(peer):
            log.warning("PROXY header expected from %s, which is not a trusted proxy: closed", peer)
            return False
        try:
            header = await asyncio.wait_for(_read_header(transport), PROXY_HEADER_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, OSError, ValueError) as exc:
            log.info("PROXY header from %s incomplete or malformed: %r", peer, exc)
            return False
        reader = asyncio.StreamReader()
        reader.feed_data(header)
        reader.feed_eof()
        data = await get_proxy(reader)
        client = client_from_proxy_data(peer, data)
        if client is None:
            log.info("PROXY header from %s refused: %s", peer, data.error or "too long")
            return False
        return client, data.src_port or 0


async def _read_header(transport: asyncio.Transport) -> bytes:
    """Exactly the bytes of one PROXY header (v1 or v2) from the transport's
    socket; ``ValueError`` if the stream starts with anything else."""
    loop = asyncio.get_running_loop()
    fileno = transport.get_extra_info("socket").fileno()
    sock = socket.socket(fileno=os.dup(fileno))  # the same kernel socket: reads consume its bytes
    sock.setblocking(False)
    try:
        head = await _recv_exact(loop, sock, 8)
        if head.startswith(b"PROXY "):  # v1, §2.1: one line of at most 107 bytes
            while not head.endswith(b"\r\n"):
                if len(head) >= 107:
                    raise ValueError("PROXY v1 line longer than 107 bytes")
                head += await _recv_exact(loop, sock, 1)
            return head
        if head == _V2_SIGNATURE[:8]:  # v2, §2.2: 16 bytes, then the length they give
            head += await _recv_exact(loop, sock, 8)
            if head[:12] != _V2_SIGNATURE:
                raise ValueError("bad PROXY v2 signature")
            return head + await _recv_exact(loop, sock, int.from_bytes(head[14:16], "big"))
        raise ValueError("no PROXY header")
    finally:
        sock.close()


async def _recv_exact(loop: asyncio.AbstractEventLoop, sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = await loop.sock_recv(sock, size - len(data))
        if not chunk:
            raise asyncio.IncompleteReadError(data, size)
        data += chunk
    return data


class _ClientAddress:
    """A transport that is ``inner`` except for its ``peername``: the client's
    address from the PROXY header, which the protocols read as usual."""

    def __init__(self, inner: asyncio.BaseTransport, peername: tuple[str, int]) -> None:
        self._inner = inner
        self._peername = peername

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return self._peername
        return self._inner.get_extra_info(name, default)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


__all__ = [
    "PROXY_HEADER_TIMEOUT", "client_from_proxy_data", "is_trusted_proxy", "proxy_protocol_enabled",
    "read_proxy_header", "start_tls_listener",
]
