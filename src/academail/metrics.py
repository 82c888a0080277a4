"""The process's Prometheus counters (prometheus_client), in a module that
imports nothing of academail, so any package can count without a cycle. The
``/metrics`` page and the gauges read at scrape time are in
``academail.operations.metrics``.

Counters are per process: with several ``serve --only`` processes, scrape each
one (each runs its own web listener only with ``web``), or run one ``serve``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

# No auto_describe: it would run the scrape-time collector (a database query)
# at registration, that is when the URLconf is imported, before any migration.
REGISTRY = CollectorRegistry(auto_describe=False)

DELIVERIES = Counter(
    "academail_deliveries", "Message copies stored in a mailbox (committed)", registry=REGISTRY,
)
REFUSALS = Counter(
    "academail_refusals", "Recipients or messages refused at delivery, per reason", ["reason"], registry=REGISTRY,
)


def count_deliveries(copies: int, mailbox_full: int) -> None:
    """After a delivery commits: ``copies`` stored, ``mailbox_full`` recipients refused as full."""
    DELIVERIES.inc(copies)
    if mailbox_full:
        REFUSALS.labels("full").inc(mailbox_full)
BLOB_ERRORS = Counter(
    "academail_blob_store_errors", "Blob store operations that failed, per operation", ["operation"],
    registry=REGISTRY,
)


def count_blob_error(operation: str) -> None:
    """A blob store operation (put, get, head, delete, list, check) failed."""
    BLOB_ERRORS.labels(operation).inc()
