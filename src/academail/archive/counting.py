"""The background count behind "Espace utilisé"'s messages per year and
senders using the most space (``store.space.do_count_space``): a job of kind
``KIND``, asked for by the page when it has no count or a stale one, at most
one waiting or running per account (``jobs.runner.do_queue``)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from academail.jobs.models import Job
from academail.jobs.runner import JobAlreadyActive, do_queue
from academail.store.space import do_count_space

KIND = "archive.space_count"


def do_request_count(account_id: int) -> None:
    """Queue a count unless one is waiting or running already.

    Precondition: none (``do_queue`` has its own savepoint)."""
    try:
        do_queue(KIND, account_id, params={})
    except JobAlreadyActive:
        pass


def run_count(job: Job) -> str:
    """The job handler (``jobs.runner.HANDLERS``); a rerun simply counts again."""
    count = do_count_space(int(job.account_id))
    return _("%(years)d année(s), %(senders)d expéditeur(s) comptés") % {
        "years": len(count.years), "senders": len(count.senders),
    }


__all__ = ["KIND", "do_request_count", "run_count"]
