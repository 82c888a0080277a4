"""``/metrics``: the Prometheus exposition (prometheus_client) of the process's
counters (``academail.metrics``) plus gauges read when scraped: the outbound
queue's depth and age (from the database, so the same on every node) and the
IMAP connections open in this process.

Off by default (404). ``ACADEMAIL_METRICS_TOKEN`` asks for
``Authorization: Bearer <token>``; ``ACADEMAIL_METRICS_ALLOW`` lists the client
addresses or networks allowed. With both set, either suffices.

A process without the web listener (``serve --only smtp``, ``--only imap``)
exposes the same page on its own port, ``ACADEMAIL_METRICS_PORT``
(``start_metrics_listener``: GET /metrics only, same access rule), so every
process is scraped, each on a port of its own. ``RequestLatencyMiddleware``
feeds the web latency histogram.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterator

from asgiref.sync import markcoroutinefunction
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from academail.accounts.slowdown import delay_of
from academail.delivery.queue import queue_stats
from academail.imap import limits as imap_limits
from academail.metrics import REGISTRY, observe_web_request

log = logging.getLogger(__name__)


class _ScrapeTime(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth, oldest = queue_stats()
        age = (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("academail_queue_depth", "Recipients waiting in the outbound queue", value=depth)
        yield GaugeMetricFamily("academail_queue_oldest_seconds", "Age of the oldest queued recipient", value=age)
        yield GaugeMetricFamily(
            "academail_imap_connections", "IMAP connections open in this process", value=imap_limits.by_address.total(),
        )


REGISTRY.register(_ScrapeTime())


def access_metrics(request: HttpRequest) -> bool:
    """Whether this request may read the metrics (never when both settings are empty)."""
    return metrics_allowed(request.headers.get("Authorization", ""), str(request.META.get("REMOTE_ADDR", "")))


def metrics_allowed(authorization: str, remote_addr: str) -> bool:
    """The one access rule, for the web page and the metrics listener."""
    token = settings.METRICS_TOKEN
    if token and authorization.startswith("Bearer ") and hmac.compare_digest(authorization[7:].encode(),
                                                                              token.encode()):
        return True
    if settings.METRICS_ALLOW:
        try:
            address = ipaddress.ip_address(remote_addr)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOW)
    return False


def metrics_view(request: HttpRequest) -> HttpResponse:
    """404 (not 403) when refused: the page does not say it exists."""
    if not access_metrics(request):
        raise Http404
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


MAX_REQUEST_HEAD = 8192
REQUEST_TIMEOUT = 5.0


async def start_metrics_listener(host: str, port: int) -> asyncio.base_events.Server:
    """``GET /metrics`` on (host, port) for a process without the web listener;
    anything else, or a refused client, is 404 (the page does not say it exists)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        remote = str(peer[0]) if isinstance(peer, tuple) else ""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
            lines = head.decode("latin-1").split("\r\n")
            method, path = (lines[0].split(" ") + ["", ""])[:2]
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            if method == "GET" and path == "/metrics" and metrics_allowed(headers.get("authorization", ""), remote):
                body = await asyncio.to_thread(generate_latest, REGISTRY)  # the queue gauges read the database
                status, content_type = "200 OK", CONTENT_TYPE_LATEST
            else:
                body, status, content_type = b"", "404 Not Found", "text/plain"
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                         "Connection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
            log.debug("metrics request from %s dropped: %r", remote, exc)
        finally:
            writer.close()

    return await asyncio.start_server(answer, host=host, port=port, limit=MAX_REQUEST_HEAD, reuse_address=True)


class RequestLatencyMiddleware:
    """Observes each web request's duration (``academail_web_request_seconds``),
    less the delay a throttled answer waits on purpose (``accounts.slowdown``).
    First in ``EDGE_MIDDLEWARE`` and async only: under ASGI (``serve``) it runs
    in the event loop, around the request's one thread hop (``config.asgi``);
    under WSGI or the test client Django adapts it to the synchronous chain."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = await self.get_response(request)
        seconds = time.perf_counter() - started - delay_of(response)
        observe_web_request(request.method or "", response.status_code, max(0.0, seconds))
        return response
