"""The process's Prometheus counters (prometheus_client), in a module that
imports nothing of academail, so any package can count without a cycle. The
``/metrics`` page and the gauges read at scrape time are in
``academail.operations.metrics``.

Counters are per process: with several ``serve --only`` processes, scrape each
one: its web listener (``/metrics``) or, in a process without ``web``, its own
metrics listener (``ACADEMAIL_METRICS_PORT``, ``operations.metrics``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

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
DELIVERY_COMMITS = Counter(
    "academail_delivery_commits", "Group commits of the delivery writer (delivery.batcher)", registry=REGISTRY,
)
DELIVERY_JOBS = Counter(
    "academail_delivery_jobs", "Units of work (one SMTP message each) in the delivery writer's commits",
    registry=REGISTRY,
)
DELIVERY_STATEMENTS = Counter(
    "academail_delivery_statements",
    "SQL statements the delivery writer sent, BEGIN, savepoints and COMMIT included (one round trip each)",
    registry=REGISTRY,
)


def count_group_commit(jobs: int, statements: int) -> None:
    """One group commit of the delivery writer: ``jobs`` units of work, ``statements`` sent."""
    DELIVERY_COMMITS.inc()
    DELIVERY_JOBS.inc(jobs)
    DELIVERY_STATEMENTS.inc(statements)


BLOB_ERRORS = Counter(
    "academail_blob_store_errors", "Blob store operations that failed, per operation", ["operation"],
    registry=REGISTRY,
)


def count_blob_error(operation: str) -> None:
    """A blob store operation (put, get, head, delete, list, check) failed."""
    BLOB_ERRORS.labels(operation).inc()
IMAP_COMMANDS = Counter(
    "academail_imap_commands", "IMAP commands run, per command name", ["command"], registry=REGISTRY,
)
THROTTLED = Counter(
    "academail_throttled_sign_ins", "Sign-ins refused by throttling, per protocol", ["protocol"], registry=REGISTRY,
)
WEB_LATENCY = Histogram(
    "academail_web_request_seconds", "Web request duration (server side), per method and status class",
    ["method", "status"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IMAP_COMMAND_SECONDS = Histogram(
    "academail_imap_command_seconds",
    "IMAP command time in the server, from its complete line (literals included) to its tagged reply written, per command"
    " (IDLE, which lasts as long as the client wants, is not observed)",
    ["command"], registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UNTIMED_IMAP_COMMANDS = frozenset({"IDLE"})


def count_imap_command(name: str) -> None:
    """A parsed IMAP command about to run (the parser bounds the names: unknown ones never get here)."""
    IMAP_COMMANDS.labels(name).inc()


def observe_imap_command(name: str, seconds: float) -> None:
    """The server time of one IMAP command that ran (``count_imap_command``'s names)."""
    if name not in UNTIMED_IMAP_COMMANDS:
        IMAP_COMMAND_SECONDS.labels(name).observe(seconds)


def count_throttled(protocol: str) -> None:
    THROTTLED.labels(protocol).inc()


def observe_web_request(method: str, status: int, seconds: float) -> None:
    WEB_LATENCY.labels(method if method in {"GET", "POST", "HEAD"} else "other", f"{status // 100}xx").observe(seconds)


AUTH_CACHE = Counter(
    "academail_auth_cache",
    "Mail-protocol password checks, per result: hit (remembered success), miss (Argon2), joined (the same"
    " check already running for another connection, waited for)",
    ["result"], registry=REGISTRY,
)


def count_auth_cache(result: str) -> None:
    """One account-password check of a mail protocol: ``hit``, ``miss`` or ``joined`` (``accounts.authcache``)."""
    AUTH_CACHE.labels(result).inc()
