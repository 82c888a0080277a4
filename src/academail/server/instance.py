"""One ``academail serve`` per service kind and data directory on SQLite.

On SQLite the event bus is in memory and one writer thread batches the
deliveries, so a second process serving the same kind over the same data
directory is a mistake (typically started while the first is still stopping:
with SO_REUSEPORT both bind the same ports and share the connections without
complaint). Each service kind takes an exclusive ``flock`` on
``ACADEMAIL_HOME/serve-<kind>.lock`` (the file says which process holds it);
the lock goes with the process, even after ``kill -9``.

On PostgreSQL several processes are the scale-out design (LISTEN/NOTIFY events,
row locks in the queue): no lock is taken.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings


class AlreadyRunning(SystemExit):
    """Another process holds a service kind's lock; ``str()`` says which."""


def lock_path(service: str) -> Path:
    return Path(settings.VAR_DIR) / f"serve-{service}.lock"


def take_service_locks(services: Iterable[str], *, vendor: str) -> list[int]:
    """Lock each service kind (SQLite only); returns the open descriptors, to
    keep for the life of the process. Raises ``AlreadyRunning`` with a clear
    message, having released whatever it had taken."""
    if vendor != "sqlite":
        return []
    held: list[int] = []
    for service in sorted(services):
        path = lock_path(service)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 100, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            release(held)
            raise AlreadyRunning(
                f"academail serve: another instance (pid {holder}) already runs the {service} service on "
                f"{settings.VAR_DIR}. Stop it first, or wait until it has stopped. With SQLite one "
                "instance per data directory serves each kind; run several processes only with "
                "PostgreSQL (DATABASE_URL)."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        held.append(fd)
    return held


def release(held: list[int]) -> None:
    for fd in held:
        os.close(fd)  # closing the descriptor drops the flock
    held.clear()
