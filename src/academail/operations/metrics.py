"""``/metrics``: the Prometheus exposition (prometheus_client) of the process's
counters (``academail.metrics``) plus gauges read when scraped: the outbound
queue's depth and age (from the database, so the same on every node) and the
IMAP connections open in this process.

Off by default (404). ``ACADEMAIL_METRICS_TOKEN`` asks for
``Authorization: Bearer <token>``; ``ACADEMAIL_METRICS_ALLOW`` lists the client
addresses or networks allowed. With both set, either suffices.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from academail.delivery.queue import queue_stats
from academail.imap import limits as imap_limits
from academail.metrics import REGISTRY


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
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode()):
            return True
    if settings.METRICS_ALLOW:
        try:
            address = ipaddress.ip_address(str(request.META.get("REMOTE_ADDR", "")))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOW)
    return False


def metrics_view(request: HttpRequest) -> HttpResponse:
    """404 (not 403) when refused: the page does not say it exists."""
    if not access_metrics(request):
        raise Http404
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
