"""Database connections of web requests are closed when the request ends.

``CONN_MAX_AGE`` keeps connections open for the services' long-lived threads
(the SMTP batcher's writer, IMAP's store threads, the queue and job workers):
they reconnect only when a connection broke or aged. Web requests are
different: under ASGI each request's synchronous code runs in a thread of its
own, so a connection kept after the response would linger in a dead thread
until the garbage collector finds it — on PostgreSQL, one idle server process
per past request (Django advises no persistent connections under ASGI). At
scale, PgBouncer in transaction mode between the web processes and
PostgreSQL makes the per-request connection cheap.
"""

from __future__ import annotations

from typing import Any

from django.db import connections


def close_request_connections(**_: Any) -> None:
    """``request_finished`` receiver: close this thread's connections, except
    one still inside a transaction (a test wraps its requests in one; a
    request of the running platform never ends inside one)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
