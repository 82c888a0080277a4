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
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from functools import lru_cache

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


__all__ = [
    "PROXY_HEADER_TIMEOUT", "client_from_proxy_data", "is_trusted_proxy", "proxy_protocol_enabled",
    "read_proxy_header",
]
