"""Queue, claim and run background jobs (``jobs.models.Job``).

- ``do_queue`` adds a job; a second waiting or running job of the same kind for
  the same account is refused (``JobAlreadyActive``, a unique partial index).
- ``claim`` takes the oldest queued job, or a running one whose lease ran out
  (its worker died), and leases it: PostgreSQL ``SELECT ... FOR UPDATE SKIP
  LOCKED`` so several workers share the queue, SQLite's IMMEDIATE transactions
  serialise them (the pattern of ``delivery.queue.claim_due``).
- A handler (``HANDLERS``: kind -> dotted path of ``handler(job) -> str``) works
  in batches, each inside ``step(job)``: the batch's writes, the new checkpoint
  and the renewed lease commit together, after checking under the job row's lock
  that the lease is still ours. A worker that dies loses at most its open batch;
  a worker that lost its lease (too slow) has its batch rolled back
  (``LeaseLost``). Either way nothing is applied twice.
- ``run_pending`` (``academail jobs run``, tests, cron) and ``run_jobs_worker``
  (``academail serve``'s worker) run what is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from academail.jobs.models import ACTIVE_STATES, Job, JobState

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5
POLL_SECONDS = 2.0

HANDLERS: dict[str, str] = {
    "filters.apply": "academail.filters.apply.run_apply",
    "store.retention": "academail.store.retention.run_retention",
    "archive.export": "academail.archive.export.run_export",
    "archive.import": "academail.archive.importing.run_import",
    "archive.migrate": "academail.archive.migration_jobs.run_migration",
    "archive.space_count": "academail.archive.counting.run_count",
    "archive.strip_attachments": "academail.archive.lighten.run_lighten",
    "lists.digest": "academail.lists.digests.run_digests",
}

class JobError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class JobAlreadyActive(JobError):
    """A job of this kind is already waiting or running for this account."""


class JobNotFound(JobError):
    """No such job for this account (the page answers 404)."""


class LeaseLost(Exception):
    """Another worker took the job over (our lease ran out): roll back the batch."""


def new_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def do_queue(kind: str, account_id: int | None, *, params: dict[str, Any], total: int = 0) -> Job:
    """Add a job. Raises JobAlreadyActive (French) when the account already has
    one of this kind waiting or running. Precondition: none (own savepoint)."""
    if kind not in HANDLERS:
        raise ValueError(kind)
    try:
        with transaction.atomic():
            return Job.objects.create(kind=kind, account_id=account_id, params=params, total=total)
    except IntegrityError:
        raise JobAlreadyActive(
            _("Un traitement de ce type est déjà en cours pour votre compte : attendez qu'il se termine.")
        ) from None


def access_job(account_id: int, job_id: int) -> Job:
    """The job, if it belongs to ``account_id``; else JobNotFound."""
    try:
        return Job.objects.get(pk=job_id, account_id=account_id)
    except Job.DoesNotExist:
        raise JobNotFound(_("Ce traitement n'existe pas.")) from None


def latest_job(account_id: int, kind: str) -> Job | None:
    """The account's most recent job of ``kind`` (the one the page shows)."""
    return Job.objects.filter(account_id=account_id, kind=kind).order_by("-created_at", "-pk").first()


def claim(now: datetime, owner: str) -> Job | None:
    """Lease the next due job to ``owner``: the oldest queued one, or a running
    one whose worker died (lease over). Precondition: none (own short transaction)."""
    with transaction.atomic():
        due = Job.objects.filter(
            Q(state=JobState.QUEUED) | Q(state=JobState.RUNNING, lease_until__lt=now)
        ).order_by("created_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        job = due.first()
        if job is None:
            return None
        job.state = JobState.RUNNING
        job.started_at = job.started_at or now
        job.lease_until = now + LEASE
        job.lease_owner = owner
        job.attempts += 1
        job.save(update_fields=["state", "started_at", "lease_until", "lease_owner", "attempts"])
    return job


@contextlib.contextmanager
def step(job: Job, *, clock: Clock = timezone.now) -> Iterator[None]:
    """One batch of ``job``: the block's writes commit together with the job's
    ``checkpoint``, ``done``, ``total``, ``result`` and ``state`` as the block
    leaves them, and a renewed lease. Raises LeaseLost (nothing committed) if
    another worker owns the job now. Precondition: not inside a transaction."""
    with transaction.atomic():
        mine = Job.objects.filter(pk=job.pk, lease_owner=job.lease_owner, state=JobState.RUNNING)
        if connection.features.has_select_for_update:
            mine = mine.select_for_update()
        if not list(mine.values_list("pk", flat=True)):
            raise LeaseLost(job.pk)
        yield
        now = clock()
        fields: dict[str, Any] = {
            "checkpoint": job.checkpoint, "done": job.done, "total": job.total, "result": job.result,
            "state": job.state, "lease_until": now + LEASE,
        }
        if job.state in (JobState.DONE, JobState.FAILED):
            fields.update(finished_at=now, lease_until=None, lease_owner="")
        Job.objects.filter(pk=job.pk).update(**fields)


def _fail(job: Job, error: str, now: datetime) -> None:
    Job.objects.filter(pk=job.pk, lease_owner=job.lease_owner).update(
        state=JobState.FAILED,
        result=_(
            "Le traitement s'est interrompu sur une erreur. Relancez-le ; si l'erreur revient, "
            "signalez-la à l'assistance informatique."
        ), error=error[:2000], finished_at=now,
        lease_until=None, lease_owner="",
    )


def run_job(job: Job, *, clock: Clock = timezone.now) -> None:
    """Run a claimed job to its end (or its failure). Never raises but LeaseLost
    is logged, not re-raised: the new owner carries on."""
    if job.attempts > MAX_ATTEMPTS:
        _fail(job, f"gave up after {job.attempts - 1} interrupted attempts", clock())
        return
    try:
        handler: Callable[[Job], str] = import_string(HANDLERS[job.kind])
        summary = handler(job)
        if job.state not in (JobState.DONE, JobState.FAILED):
            with step(job, clock=clock):
                job.state = JobState.DONE
                job.result = summary
    except LeaseLost:
        log.warning("job %s: lease lost, another worker carries on", job.pk)
    except Exception as exc:
        log.exception("job %s failed", job.pk)
        _fail(job, f"{type(exc).__name__}: {exc}", clock())


def run_pending(*, clock: Clock = timezone.now, owner: str | None = None, limit: int | None = None) -> int:
    """Run due jobs one after the other until none is left (or ``limit``);
    return how many were run."""
    owner = owner or new_owner()
    count = 0
    while limit is None or count < limit:
        job = claim(clock(), owner)
        if job is None:
            break
        run_job(job, clock=clock)
        count += 1
    return count


def _worker_pass(owner: str) -> int:
    close_old_connections()  # a long-lived worker thread: drop a broken or stale connection
    return run_pending(owner=owner, limit=1)


async def run_jobs_worker(stop: asyncio.Event, *, poll_seconds: float = POLL_SECONDS) -> None:
    """Run due jobs until ``stop`` is set (``academail serve``'s worker). Safe in
    several processes at once (see ``claim``)."""
    owner = new_owner()
    while not stop.is_set():
        try:
            ran = await sync_to_async(_worker_pass, thread_sensitive=False)(owner)
        except Exception:
            log.exception("jobs pass failed")
            ran = 0
        if ran:
            continue
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_seconds)


def active_jobs(account_id: int, kind: str) -> bool:
    return Job.objects.filter(account_id=account_id, kind=kind, state__in=ACTIVE_STATES).exists()
