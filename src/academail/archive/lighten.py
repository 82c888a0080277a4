"""Lighten old messages: remove their attachments, keeping the text and a
note of what was removed ("Espace utilisé", issue 15 §1).

The person chooses an age and a size; a background job (kind ``KIND``)
walks every folder in UID order, below the UID each folder had when the job
was queued (so a replaced message, appended with a new UID, is never taken
again), and for each message received before the cutoff with an attachment
of at least the chosen size: cuts the attachments out (``mime.strip``, the
rest unchanged byte for byte), puts the new bytes in place of the old
(``store.space.do_replace_message``: same folder, flags and date; IMAP sees
an expunge and a new message) and commits that with its checkpoint
(``jobs.runner.step``): a crash resumes after the last message done, and a
message is never lightened twice (a lightened message has no attachment of
that size left). One journal entry at the end says how much was freed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from academail.accounts.journal import do_record
from academail.accounts.models import EventKind
from academail.jobs.models import Job, JobState
from academail.jobs.runner import Clock, do_queue, latest_job, step
from academail.mime.strip import Removed, strip_attachments
from academail.store.errors import MessageNotFound
from academail.store.mailboxes import list_mailboxes
from academail.store.sizes import taille
from academail.store.space import attachment_candidates, do_replace_message, read_message_bytes

KIND = "archive.strip_attachments"
AGES = (1, 2, 3, 5)  # years: the choices offered
SIZES = (100 * 1024, 1024 * 1024, 5 * 1024 * 1024)  # octets: the choices offered
BATCH = 20


class LightenError(Exception):
    """A request that cannot be done as asked; ``message`` is French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class LightenRequest:
    years: int
    min_size: int
    confirmed: bool


def check_and_queue_lighten(account_id: int, request: LightenRequest, *, now: datetime | None = None) -> Job:
    """Check the choices and queue the job. Raises LightenError (French) or
    ``jobs.runner.JobAlreadyActive`` while one runs."""
    if request.years not in AGES or request.min_size not in SIZES:
        raise LightenError(_("Choisissez l'âge des messages et la taille des pièces jointes dans les listes."))
    if not request.confirmed:
        raise LightenError(_("Cochez la case de confirmation : les pièces jointes retirées ne pourront pas être récupérées."))
    now = now or timezone.now()
    cutoff = now - timedelta(days=365 * request.years)
    boxes = {str(b.pk): int(b.uidnext) for b in list_mailboxes(account_id)}
    return do_queue(KIND, account_id, params={
        "cutoff": cutoff.isoformat(), "min_size": request.min_size, "years": request.years, "boxes": boxes,
    })


def latest(account_id: int) -> Job | None:
    """The account's last lightening (the page shows its progress or result)."""
    return latest_job(account_id, KIND)


def _note(removed: Removed, when: datetime) -> str:
    name = removed.filename or removed.content_type
    return _(
        "Pièce jointe retirée le %(date)s pour libérer de l'espace : %(name)s (%(type)s, %(size)s). "
        "Le texte du message est conservé."
    ) % {"date": formats.date_format(timezone.localtime(when), "SHORT_DATE_FORMAT"), "name": name,
         "type": removed.content_type, "size": taille(removed.size)}


def run_lighten(job: Job, *, clock: Clock = timezone.now) -> str:
    """The job handler (``jobs.runner.HANDLERS``)."""
    account_id = int(job.account_id)
    params = job.params
    cutoff = datetime.fromisoformat(params["cutoff"])
    min_size = int(params["min_size"])
    mark = timezone.localdate(clock()).isoformat()  # the header's value: ASCII, for programs
    checkpoint = dict(job.checkpoint or {})
    done_boxes: list[str] = list(checkpoint.get("done_boxes", []))
    for box_id, below in sorted(params["boxes"].items(), key=lambda item: int(item[0])):
        if box_id in done_boxes:
            continue
        after = int(checkpoint.get("after", 0)) if checkpoint.get("box") == box_id else 0
        while True:
            try:
                uids = attachment_candidates(
                    account_id, int(box_id), after_uid=after, below_uid=int(below), received_before=cutoff,
                    min_size=min_size, limit=BATCH,
                )
            except MessageNotFound:
                uids = []  # the folder was deleted meanwhile
            if not uids:
                break
            for uid in uids:
                with step(job, clock=clock):
                    freed = _lighten_one(account_id, int(box_id), uid, min_size, mark, clock())
                    after = uid
                    checkpoint.update(box=box_id, after=after)
                    if freed:
                        checkpoint["messages"] = int(checkpoint.get("messages", 0)) + 1
                        checkpoint["freed"] = int(checkpoint.get("freed", 0)) + freed
                    job.checkpoint = checkpoint
                    job.done += 1
                    job.total = max(job.total, job.done)
        done_boxes.append(box_id)
        with step(job, clock=clock):
            checkpoint.update(done_boxes=done_boxes, box=None, after=0)
            job.checkpoint = checkpoint
    count, freed = int(checkpoint.get("messages", 0)), int(checkpoint.get("freed", 0))
    with step(job, clock=clock):
        job.state = JobState.DONE
        job.result = _("Pièces jointes retirées de %(n)d message(s) : %(size)s libérés.") % {
            "n": count, "size": taille(freed),
        }
        do_record(account_id, EventKind.ATTACHMENTS_REMOVED, protocol="web", detail=job.result[:300])
    return job.result


def _lighten_one(account_id: int, mailbox_id: int, uid: int, min_size: int, mark: str, now: datetime) -> int:
    """Lighten one message; return the octets freed (0: nothing to remove, or gone)."""
    try:
        raw = read_message_bytes(account_id, mailbox_id, uid)
    except MessageNotFound:
        return 0
    lighter, removed = strip_attachments(raw, min_size=min_size, note=lambda r: _note(r, now), mark=mark)
    if not removed:
        return 0
    try:
        do_replace_message(account_id, mailbox_id, uid, lighter)
    except MessageNotFound:
        return 0
    return len(raw) - len(lighter)


__all__ = ["AGES", "KIND", "SIZES", "LightenError", "LightenRequest", "check_and_queue_lighten", "latest", "run_lighten"]
