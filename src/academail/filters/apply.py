""""Appliquer aux messages existants": the account's active Sieve script run
over every message already in its INBOX, as a background job (``jobs``).

What applies to existing mail: ``fileinto`` (a real store move, the folder
created as delivery does with ``:create``; ``fileinto :copy`` or an explicit
``keep`` beside it copies instead) and the flags (``addflag``/``setflag``,
added to the message's own flags, never removing one the person set). Discard,
reject, redirect and vacation do nothing here: deleting old mail, re-sending it
or answering an out-of-office for it months later would surprise people. Only
the INBOX is sorted, as the guide advises; other folders were sorted by hand.

The job works by UID ascending in batches of ``BATCH``: the script runs outside
any transaction, then one transaction per batch applies one flag change per
distinct flag set and one move per destination folder (``store.messages``:
UID/MODSEQ, quota-neutral moves, IMAP EXPUNGE/EXISTS events on commit) together
with the job's checkpoint (the last UID done), so a resumed job never applies a
batch twice. Messages that arrive after the job was queued are left alone: the
filters ran on them at delivery.

Speed: the script reads the header fields the store keeps for every content
(subject, the envelope's addresses, Message-ID...) from the database; only a
test on another header reads the blob, and then only its header (the part map
gives its length); only a ``body`` test reads the body, bounded like "Tester".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from academail.accounts.journal import do_record
from academail.accounts.models import EventKind
from academail.filters.engine import FilterDecision
from academail.filters.services import read_filters
from academail.filters.sieve import Addr, MessageView, Program, ScriptError, compile_script
from academail.jobs.models import Job, JobState
from academail.jobs.runner import Clock, access_job, do_queue, latest_job, step
from academail.mime.headers import HeaderBlock, decode_words, parse_address_list, split_header
from academail.mime.parse import Address, Envelope, parse_message
from academail.store.blobs import blob_store
from academail.store.errors import QuotaExceeded
from academail.store.mailboxes import do_file_into
from academail.store.messages import do_copy, do_set_flags, read_columns
from academail.store.webmail import inbox

log = logging.getLogger(__name__)

KIND = "filters.apply"
BATCH = 500
BODY_BYTES = 256 * 1024  # as "Tester sur les messages existants" (filters.queries)

# Header fields answered from the content row's envelope, without the blob.
_ENVELOPE_LISTS = {"from": "from", "to": "to", "cc": "cc", "bcc": "bcc"}

_COLUMNS = (
    "uid", "size", "prefix", "content__sha256", "content__size", "content__subject",
    "content__from_addr", "content__structure__envelope", "content__structure__root__body_start",
)


@dataclass(frozen=True)
class _Row:
    uid: int
    size: int
    prefix: bytes
    sha256: str
    content_size: int
    subject: str
    from_addr: str
    envelope: dict[str, Any] | None
    body_start: int | None


class StoredView(MessageView):
    """A stored message as a script reads it: the envelope fields from the
    content row; any other header from the blob's header only, read on first
    use; the body text only for a ``body`` test."""

    def __init__(self, row: _Row, *, now: datetime) -> None:
        self._row = row
        self._body: str | None = None
        self._fields: dict[str, list[str]] | None = None
        self._envelope = Envelope.from_dict(row.envelope) if row.envelope else None
        super().__init__(envelope_from=row.from_addr, envelope_to="", size=row.size, body="", now=now)

    @property
    def body(self) -> str:
        if self._body is None:
            row = self._row
            head = bytes(row.prefix) + blob_store().read_range(row.sha256, 0, min(row.content_size, BODY_BYTES))
            self._body = parse_message(head).search_text
        return self._body

    @body.setter
    def body(self, value: str) -> None:
        pass  # MessageView.__init__ sets a placeholder; the text is read on demand

    def _raw_fields(self) -> dict[str, list[str]]:
        if self._fields is None:
            row = self._row
            end = row.body_start if row.body_start is not None else min(row.content_size, BODY_BYTES)
            raw = bytes(row.prefix) + blob_store().read_range(row.sha256, 0, end)
            block: HeaderBlock = split_header(raw, 0, len(raw), allow_unixfrom=True)
            fields: dict[str, list[str]] = {}
            for name, value in block.fields():
                fields.setdefault(name, []).append(decode_words(value))
            self._fields = fields
        return self._fields

    def _people(self, name: str) -> list[Address] | None:
        if self._envelope is None or name not in _ENVELOPE_LISTS:
            return None
        return list(getattr(self._envelope, "from_" if name == "from" else name))

    def header(self, name: str) -> list[str]:
        env = self._envelope
        if env is not None:
            if name == "subject":
                return [self._row.subject] if env.subject is not None else []
            people = self._people(name)
            if people is not None:
                shown = [_format(a) for a in people if a.group is None]
                return [", ".join(shown)] if shown else []
            if name in ("message-id", "in-reply-to", "date"):
                value = {"message-id": env.message_id, "in-reply-to": env.in_reply_to, "date": env.date}[name]
                return [value] if value else []
        return self._raw_fields().get(name, [])

    def addresses(self, name: str) -> list[Addr]:
        people = self._people(name)
        if people is not None:
            return [Addr(a.mailbox, a.host) for a in people if a.group is None]
        found: list[Addr] = []
        for value in self.header(name):
            found.extend(Addr(a.mailbox, a.host) for a in parse_address_list(value) if a.group is None)
        return found


def _format(address: Address) -> str:
    name = decode_words(address.name) if address.name else ""
    return f"{name} <{address.addr}>" if name else address.addr


# --- queue and show ----------------------------------------------------------------


def check_and_queue(account_id: int) -> Job:
    """Queue the job for the account's active script over its INBOX as it is now.

    Raises ScriptError (French) without a script or if it does not compile, and
    ``jobs.runner.JobAlreadyActive`` while one is waiting or running."""
    script = read_filters(account_id).script
    if not script.strip():
        raise ScriptError(_("Vous n'avez aucun filtre enregistré : créez et enregistrez d'abord une règle."))
    compile_script(script)
    box = inbox(account_id)
    # The script as it is now (what the person saw), and the INBOX as it is now.
    params = {"script": script, "mailbox_id": box.pk, "below_uid": box.uidnext}
    return do_queue(KIND, account_id, params=params, total=box.messages)


def latest(account_id: int) -> Job | None:
    return latest_job(account_id, KIND)


def access_apply_job(account_id: int, job_id: int) -> Job:
    return access_job(account_id, job_id)


def status(job: Job) -> dict[str, Any]:
    """What the page's progress script reads (JSON)."""
    return {
        "id": job.pk, "state": job.state, "done": job.done, "total": job.total,
        "percent": job.percent, "result": job.result,
        "finished": job.state in (JobState.DONE, JobState.FAILED),
        "text": progress_text(job),
    }


def progress_text(job: Job) -> str:
    if job.state == JobState.QUEUED:
        return _("En attente de traitement…")
    if job.state == JobState.RUNNING:
        return _("%(done)s / %(total)s messages traités") % {"done": job.done, "total": job.total}
    return job.result


# --- the job -------------------------------------------------------------------------


@dataclass
class _Plan:
    flags: dict[tuple[int, str], list[int]]  # (bits, keywords) -> UIDs
    moves: dict[str, list[int]]  # folder -> UIDs
    copies: dict[str, list[int]]


def _ranges(uids: Sequence[int]) -> list[tuple[int, int]]:
    return [(u, u) for u in uids]


def _read_batch(mailbox_id: int, after_uid: int, below_uid: int) -> list[_Row]:
    rows = read_columns(mailbox_id, _COLUMNS, after_uid=after_uid, below_uid=below_uid, limit=BATCH)
    return [_Row(*row) for row in rows]


def _plan(program: Program, rows: Sequence[_Row], now: datetime) -> _Plan:
    plan = _Plan({}, {}, {})
    for row in rows:
        outcome = program.run(StoredView(row, now=now))
        if outcome.flags:
            bits, keywords = FilterDecision(None, frozenset(outcome.flags), False, (), False, None, None).store_flags()
            if bits or keywords:
                plan.flags.setdefault((bits, keywords), []).append(row.uid)
        if outcome.fileinto:
            target = plan.copies if outcome.keep else plan.moves
            target.setdefault(outcome.fileinto[0], []).append(row.uid)
    return plan


def _apply(account_id: int, inbox_id: int, plan: _Plan) -> tuple[int, int, int]:
    """(moved, flagged, copied). Precondition: inside the batch transaction."""
    flagged = 0
    for (bits, keywords), uids in plan.flags.items():
        changes = do_set_flags(
            account_id, inbox_id, _ranges(uids), mode="add", flags=bits, keywords=keywords.split()
        )
        flagged += len(changes)
    copied = 0
    for folder, uids in plan.copies.items():
        target = do_file_into(account_id, folder, fallback_id=inbox_id)
        if target != inbox_id:
            try:
                copied += len(do_copy(account_id, inbox_id, _ranges(uids), target))
            except QuotaExceeded:
                log.info("apply filters: copies into %s skipped, quota full (account %s)", folder, account_id)
    moved = 0
    for folder, uids in plan.moves.items():
        target = do_file_into(account_id, folder, fallback_id=inbox_id)
        if target != inbox_id:
            moved += len(do_copy(account_id, inbox_id, _ranges(uids), target, move=True))
    return moved, flagged, copied


def run_batch(job: Job, program: Program, *, clock: Clock = timezone.now) -> bool:
    """Apply the script to the next batch; False once the INBOX is done (the
    job is then finished, journal row written). Precondition: ``job`` leased."""
    assert job.account_id is not None
    account_id = job.account_id
    inbox_id = int(job.params["mailbox_id"])
    below = int(job.params["below_uid"])
    point = dict(job.checkpoint)
    after = int(point.get("uid", 0))
    rows = _read_batch(inbox_id, after, below)
    plan = _plan(program, rows, timezone.localtime(clock()))
    with step(job, clock=clock):
        if not rows:
            job.state = JobState.DONE
            job.result = summary(point)
            job.done = max(job.done, job.total)
            do_record(
                account_id, EventKind.FILTER_CHANGED, protocol="web",
                detail=_("Filtres appliqués aux messages existants de la boîte de réception : %(result)s") % {"result": job.result},
            )
            return False
        moved, flagged, copied = _apply(account_id, inbox_id, plan)
        point.update(
            uid=rows[-1].uid, moved=int(point.get("moved", 0)) + moved,
            flagged=int(point.get("flagged", 0)) + flagged, copied=int(point.get("copied", 0)) + copied,
        )
        job.checkpoint = point
        job.done += len(rows)
        job.total = max(job.total, job.done)
    return True


def summary(point: dict[str, Any]) -> str:
    counts = {"moved": point.get("moved", 0), "flagged": point.get("flagged", 0), "copied": point.get("copied", 0)}
    text = _("%(moved)s messages déplacés, %(flagged)s marqués") % counts
    if counts["copied"]:
        text += _(", %(copied)s copiés") % counts
    return text


def run_apply(job: Job, *, clock: Clock = timezone.now, after_batch: Callable[[Job], None] | None = None) -> str:
    """The job handler (``jobs.runner.HANDLERS``)."""
    program = compile_script(str(job.params["script"]))
    while run_batch(job, program, clock=clock):
        if after_batch is not None:
            after_batch(job)
    return job.result


__all__ = ["BATCH", "KIND", "StoredView", "access_apply_job", "check_and_queue", "latest", "run_apply", "status"]
