"""Which client a web request comes from, when a reverse proxy is in front.

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only when the TCP
peer is one of ``ACADEMAIL_TRUSTED_PROXIES`` (addresses or networks; empty by
default, so nobody can choose the address that throttling and the journal
record). ``TrustedProxyMiddleware`` applies this once per request, early:
``REMOTE_ADDR`` becomes the client address (``client_address``) and the
forwarded headers of an untrusted peer are dropped, so every reader of
``REMOTE_ADDR`` or ``request.is_secure()`` (throttling, journal, sessions,
HTTPS redirect, secure cookies) sees the same answer. uvicorn's own
proxy-header handling is off (``config.serve``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest

from academail.server.proxyproto import is_trusted_proxy


def client_address(peer: str, forwarded_for: str) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy; then the
    right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy
    (entries further left were written by whoever sent the request, and can
    say anything). A malformed entry stops the walk at the last good address."""
    if not is_trusted_proxy(peer):
        return peer
    address = peer
    for entry in reversed([part.strip() for part in forwarded_for.split(",") if part.strip()]):
        try:
            ipaddress.ip_address(entry)
        except ValueError:
            break
        address = entry
        if not is_trusted_proxy(entry):
            break
    return address


_FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_FORWARDED")


def apply_trusted_proxies(request: HttpRequest) -> None:
    """Rewrite ``REMOTE_ADDR`` to the client address, or drop the forwarded
    headers of an untrusted peer. The TCP peer stays in ``META["academail.peer"]``."""
    meta = request.META
    peer = str(meta.get("REMOTE_ADDR", ""))
    meta["academail.peer"] = peer
    if is_trusted_proxy(peer):
        meta["REMOTE_ADDR"] = client_address(peer, str(meta.get("HTTP_X_FORWARDED_FOR", "")))
    else:
        for header in _FORWARDED_HEADERS:
            meta.pop(header, None)


class TrustedProxyMiddleware:
    """Runs ``apply_trusted_proxies`` before the rest of the chain (sync and
    async alike, without a thread hop)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        apply_trusted_proxies(request)
        return self.get_response(request)  # a coroutine when the chain is async
