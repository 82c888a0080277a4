"""One transaction whose commit does not wait for the disk: for the record of
a successful mail-protocol sign-in (the device's last sighting and the
journal line), written at every reconnection of every phone.

Durability is traded only for these rows, and only against a power cut, never
a process crash: on SQLite (WAL) the commit is written to the log without an
fsync (``PRAGMA synchronous=NORMAL`` for this one transaction), and the next
ordinary commit, a delivery for instance, syncs the log with it; on
PostgreSQL ``SET LOCAL synchronous_commit = off`` (at most three WAL-writer
rounds, 600 ms by default, can be lost; never a corrupt database). Readers
see the rows at once either way. Failures, throttling and everything mail
keep the durable commit (docs/design.md, "Cheap logins").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection, transaction


@contextlib.contextmanager
def lazy_commit() -> Iterator[None]:
    """``transaction.atomic()`` committed without waiting for the disk.
    Inside an outer transaction it is a savepoint and the outer commit decides."""
    if connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    sqlite = connection.vendor == "sqlite"
    if sqlite:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=NORMAL")
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            yield
    finally:
        if sqlite:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=FULL")  # the setting of every connection (config.settings)
