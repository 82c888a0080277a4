"""Retention: Corbeille and Indésirables keep a message ``RETENTION_DAYS``
days (30 by default, ``ACADEMAIL_RETENTION_DAYS``; 0 turns it off) after it
was put there (``Message.saved_at``: a message moved to the Corbeille today
stays a month, however old it is). Other folders are never purged: mail stays
as long as there is room.

A daily background job (``jobs``, kind ``store.retention``, no account)
walks the Corbeille and Indésirables folders of every account in mailbox id
order and expunges what is due in batches of ``BATCH`` messages, each batch
its own transaction (``store.messages.do_expunge_saved_before``: expunge
tombstones for IMAP clients, quota released, "expunge" events) committed
with the job's checkpoint (the last mailbox finished). A worker that dies
resumes at that mailbox; redoing a batch is harmless (what is left is still
due). The cutoff is fixed when the job is queued, so a job resumed the next
morning purges what was due the day it started.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from academail.jobs.models import ACTIVE_STATES, Job, JobState
from academail.jobs.runner import Clock, do_queue, step
from academail.store.messages import do_expunge_saved_before
from academail.store.models import Mailbox, SpecialUse

KIND = "store.retention"
BATCH = 500  # messages per transaction
BOXES = 200  # mailboxes read per query
PURGED_USES = (SpecialUse.TRASH, SpecialUse.JUNK)


def retention_days() -> int:
    """Days Corbeille and Indésirables keep a message; 0: never purged."""
    return max(0, int(settings.RETENTION_DAYS))


def purge_days(mailbox: Mailbox) -> int:
    """Days after which this folder's messages go (0: this folder is never purged)."""
    return retention_days() if mailbox.special_use in PURGED_USES else 0


def do_queue_retention(now: datetime) -> Job | None:
    """Queue today's purge unless retention is off or one is waiting or
    running (the worker's daily housekeeping calls this). Returns the job."""
    days = retention_days()
    if not days or Job.objects.filter(kind=KIND, state__in=ACTIVE_STATES).exists():
        return None
    cutoff = now - timedelta(days=days)
    return do_queue(KIND, None, params={"cutoff": cutoff.isoformat(), "days": days})


def _boxes(after_id: int) -> list[tuple[int, int]]:
    return list(
        Mailbox.objects.filter(special_use__in=PURGED_USES, pk__gt=after_id, messages__gt=0)
        .order_by("pk")
        .values_list("pk", "account_id")[:BOXES]
    )


def run_retention(job: Job, *, clock: Clock = timezone.now, after_batch: Callable[[Job], None] | None = None) -> str:
    """The job handler (``jobs.runner.HANDLERS``). Returns the summary."""
    cutoff = datetime.fromisoformat(str(job.params["cutoff"]))
    while True:
        point = dict(job.checkpoint)
        boxes = _boxes(int(point.get("mailbox", 0)))
        if not boxes:
            break
        for box_id, account_id in boxes:
            while True:
                with step(job, clock=clock):
                    uids = do_expunge_saved_before(account_id, box_id, cutoff, limit=BATCH)
                    point["purged"] = int(point.get("purged", 0)) + len(uids)
                    if len(uids) < BATCH:
                        point["mailbox"] = box_id  # this mailbox is done
                    job.checkpoint = dict(point)
                    job.done = int(point["purged"])
                if after_batch is not None:
                    after_batch(job)
                if len(uids) < BATCH:
                    break
    with step(job, clock=clock):
        job.state = JobState.DONE
        job.result = f"{int(job.checkpoint.get('purged', 0))} messages supprimés de la Corbeille et des Indésirables"
    return job.result


__all__ = ["BATCH", "KIND", "PURGED_USES", "do_queue_retention", "purge_days", "retention_days", "run_retention"]
