"""Export for local archiving: a folder, a date range, chosen messages or the
whole mailbox, as a zip the person downloads for ``EXPORT_KEEP_DAYS`` days.

Formats (both read by Thunderbird: ImportExportTools NG imports .eml files
and mbox files; Python's ``mailbox`` opens the mbox):

- ``eml``: one ``<folder>/<uid>.eml`` per message, the bytes a client sees;
- ``mbox``: one ``<folder>.mbox`` per folder, mboxrd (RFC 4155 family: a
  ``From `` line with the sender and INTERNALDATE, every ``>*From `` line of
  a message quoted with one more ``>``), flags in the headers Thunderbird
  reads (``X-Mozilla-Status``, ``X-Mozilla-Status2``, ``X-Mozilla-Keys``)
  and those mutt and Python read (``Status``, ``X-Status``), put first so an
  import finds and removes them (``archive.importing``).

Both zips hold ``manifest.csv`` (folder, file, UID, INTERNALDATE, flags,
SHA-256 and size of each message: flags and dates survive whatever tool
opens the files) and ``SHA256SUMS`` (``sha256sum -c`` after unzipping).

The work is a background job (``jobs``, kind ``archive.export``): batches of
``BATCH`` messages read through ``store.archiving`` (one indexed query each),
each message streamed into the zip (constant memory: one message at a time;
zipfile keeps a small record per entry), progress committed with each batch.
A zip cannot be reopened where a crash cut it, so a resumed job starts the
file again from the beginning (nothing is half-delivered: the file is
written as ``.part``, fsynced, renamed, then marked ready). When ready: a
journal entry, a mail to the mailbox with the link, and for "exporter puis
supprimer" the exported messages are deleted for good in that same last
transaction — only once the file is durable.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from academail.accounts.journal import do_record
from academail.accounts.models import Account, EventKind
from academail.archive.models import Export, ExportFormat
from academail.jobs.models import Job, JobState
from academail.jobs.runner import Clock, do_queue, step
from academail.store.archiving import ExportRow, count_messages, export_batch, folder_label
from academail.store.errors import MailboxNotFound
from academail.store.mailboxes import access_mailbox, list_mailboxes
from academail.store.messages import Flag
from academail.store.quota import notice_bytes
from academail.store.space import do_destroy

log = logging.getLogger(__name__)

KIND = "archive.export"
BATCH = 500
MAX_SELECTION = 1000
_CHUNK = 1024 * 1024


class ExportError(Exception):
    """A request that cannot be exported as asked; ``message`` is French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- formats ---------------------------------------------------------------------

_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
# Thunderbird's message flags (nsMsgMessageFlags): Read, Replied, Marked, Expunged.
_MOZILLA_BITS = ((Flag.SEEN, 0x0001), (Flag.ANSWERED, 0x0002), (Flag.FLAGGED, 0x0004), (Flag.DELETED, 0x0008))
_X_STATUS = ((Flag.ANSWERED, "A"), (Flag.FLAGGED, "F"), (Flag.DELETED, "D"), (Flag.DRAFT, "T"))


def status_headers(flags: int, keywords: str, eol: bytes) -> bytes:
    """The flag headers put first in an mbox message (see the module docstring)."""
    mozilla = sum(bit for flag, bit in _MOZILLA_BITS if flags & flag)
    status = ("R" if flags & Flag.SEEN else "") + "O"
    x_status = "".join(letter for flag, letter in _X_STATUS if flags & flag)
    lines = [
        f"X-Mozilla-Status: {mozilla:04x}", "X-Mozilla-Status2: 00000000",
        f"X-Mozilla-Keys: {keywords}".rstrip(), f"Status: {status}", f"X-Status: {x_status}".rstrip(),
    ]
    return b"".join(line.encode("ascii", "replace") + eol for line in lines)


def from_line(sender: str, when: datetime) -> bytes:
    """``From sender asctime-date`` (RFC 4155 §2), the date in UTC."""
    address = sender.strip() if sender.strip() and " " not in sender.strip() else "MAILER-DAEMON"
    stamp = time.asctime(when.astimezone(UTC).timetuple())
    return f"From {address} {stamp}\n".encode("ascii", "replace")


def mbox_entry(row: ExportRow, raw: bytes) -> bytes:
    """One message in mboxrd form, followed by its blank separator line."""
    eol = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
    body = _FROM_LINE.sub(rb">\1", raw)
    end = b"" if body.endswith(b"\n") else eol
    return from_line(row.from_addr, row.internaldate) + status_headers(row.flags, row.keywords, eol) + body + end + b"\n"


_UNSAFE = re.compile(r'[\\:*?"<>|\x00-\x1f]')


def safe_path(folder: str) -> str:
    """A folder name usable as a path inside the zip on Windows, macOS and Linux."""
    parts = [_UNSAFE.sub("_", p).strip(" .") or "_" for p in folder.split("/")]
    return "/".join(parts)


def _zip_time(when: datetime) -> tuple[int, int, int, int, int, int]:
    local = timezone.localtime(when)
    if local.year < 1980:  # the zip format starts in 1980
        return (1980, 1, 1, 0, 0, 0)
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)


# --- queue -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRequest:
    format: str
    mailbox_id: int | None = None  # None: every folder
    since: date | None = None
    until: date | None = None  # included
    selection: tuple[tuple[int, int], ...] = ()  # (mailbox id, UID): "exporter puis supprimer"
    delete_after: bool = False
    departure: bool = False  # also announced to the secondary address, with a download link


def _bounds(request: ExportRequest) -> tuple[datetime | None, datetime | None]:
    tz = timezone.get_current_timezone()
    since = datetime.combine(request.since, datetime.min.time(), tz) if request.since else None
    until = datetime.combine(request.until + timedelta(days=1), datetime.min.time(), tz) if request.until else None
    return since, until


def check_and_queue_export(account_id: int, request: ExportRequest) -> Export:
    """Check what is asked and queue the job. Raises ExportError (French),
    MailboxNotFound (another account's folder: 404) or
    ``jobs.runner.JobAlreadyActive`` while another export runs."""
    if request.format not in ExportFormat.values:
        raise ExportError(_("Choisissez un format d'export."))
    if request.since and request.until and request.since > request.until:
        raise ExportError(_("La date de début est après la date de fin : corrigez les dates."))
    if len(request.selection) > MAX_SELECTION:
        raise ExportError(_("Choisissez au plus %(n)d messages à la fois.") % {"n": MAX_SELECTION})
    if request.delete_after and not request.selection:
        raise ExportError(_("Cochez d'abord les messages à exporter puis supprimer."))
    since, until = _bounds(request)
    if request.selection:
        boxes = sorted({box for box, _uid in request.selection})
        for box in boxes:
            access_mailbox(account_id, box)
        total = len(set(request.selection))
        label = _("%(n)d message(s) choisi(s)") % {"n": total}
    elif request.mailbox_id is not None:
        box_row = access_mailbox(account_id, request.mailbox_id)
        boxes = [box_row.pk]
        total = count_messages(account_id, box_row.pk, since=since, until=until)
        label = _("Dossier « %(name)s »") % {"name": folder_label(box_row)}
    else:
        rows = list_mailboxes(account_id)
        boxes = [b.pk for b in rows]
        total = sum(count_messages(account_id, b.pk, since=since, until=until) for b in rows)
        label = _("Toute la boîte")
    if request.since or request.until:
        label += " — " + _("du %(since)s au %(until)s") % {
            "since": request.since.strftime("%d/%m/%Y") if request.since else "…",
            "until": request.until.strftime("%d/%m/%Y") if request.until else "…",
        }
    params: dict[str, Any] = {
        "boxes": boxes,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "selection": [list(p) for p in sorted(set(request.selection))],
        "delete_after": request.delete_after,
        "departure": request.departure,
    }
    with transaction.atomic():
        export = Export.objects.create(account_id=account_id, format=request.format, label=label[:300], params=params)
        job = do_queue(KIND, account_id, params={"export_id": export.pk}, total=total)
        Export.objects.filter(pk=export.pk).update(job=job)
        export.job = job
    return export


def do_prepare_departure_export(account: Account) -> Export | None:
    """For an account scheduled to leave (the secretariat console calls this):
    queue an export of the whole mailbox as .eml files in a zip, announced by
    mail like any export and, since the account is disabled, to its verified
    secondary address with a download link that needs no sign-in
    (``departure_token``). Returns None when an export is already running for
    the account (that one is announced to the mailbox only)."""
    from academail.jobs.runner import JobAlreadyActive

    try:
        return check_and_queue_export(account.pk, ExportRequest(format="eml", departure=True))
    except JobAlreadyActive:
        return None


# --- read ---------------------------------------------------------------------------


def account_exports(account_id: int, *, limit: int = 20) -> list[Export]:
    """The account's recent exports, newest first, with their jobs."""
    return list(
        Export.objects.filter(account_id=account_id).select_related("job").order_by("-created_at", "-pk")[:limit]
    )


def access_export(account_id: int, export_id: int) -> Export:
    """The export, if it belongs to ``account_id``; else MailboxNotFound (404)."""
    found = Export.objects.filter(pk=export_id, account_id=account_id).select_related("job").first()
    if found is None:
        raise MailboxNotFound(_("Cet export n'existe pas."))
    return found


def export_path(export: Export) -> Path | None:
    """The ready file, or None (not ready, expired or removed)."""
    if not export.filename or export.expires_at is None or export.expires_at <= timezone.now():
        return None
    path = Path(settings.EXPORT_DIR) / export.filename
    return path if path.is_file() else None


def status(export: Export) -> dict[str, Any]:
    """What the page's progress script reads (JSON)."""
    job = export.job
    state = job.state if job else JobState.DONE
    return {
        "id": export.pk, "state": state, "done": job.done if job else export.messages,
        "total": job.total if job else export.messages, "percent": job.percent if job else 100,
        "finished": state in (JobState.DONE, JobState.FAILED), "text": progress_text(export),
    }


def progress_text(export: Export) -> str:
    job = export.job
    if job is None or job.state == JobState.DONE:
        return _("Prêt : %(n)d message(s).") % {"n": export.messages}
    if job.state == JobState.QUEUED:
        return _("En attente de traitement…")
    if job.state == JobState.RUNNING:
        return _("%(done)s / %(total)s messages exportés") % {"done": job.done, "total": job.total}
    return job.result


def read_range(path: Path, start: int, end: int) -> Iterator[bytes]:
    """The bytes [start, end] (inclusive) of the file, in 1 MiB chunks."""
    with path.open("rb") as handle:
        handle.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = handle.read(min(_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


_DEPARTURE_SALT = "academail.archive.departure-download"


def departure_token(export: Export) -> str:
    """The secret of the departure link: the export and the first bytes of
    its file's SHA-256, signed and dated (``django.core.signing``), valid
    while the file is kept (``EXPORT_KEEP_DAYS``). Not single-use: a
    download that breaks resumes with HTTP Range on the same link."""
    return signing.dumps({"e": export.pk, "h": export.sha256[:16]}, salt=_DEPARTURE_SALT, compress=True)


def access_departure_export(token: str) -> Export:
    """The export a departure link names, while it is downloadable; else
    ExportError (French): expired, tampered with, or the file is gone."""
    gone = ExportError(_("Ce lien de téléchargement n'est plus valable : il a expiré ou il est incomplet."))
    try:
        claims = signing.loads(token, salt=_DEPARTURE_SALT, max_age=timedelta(days=settings.EXPORT_KEEP_DAYS))
    except signing.BadSignature:
        raise gone from None
    found = Export.objects.filter(pk=int(claims.get("e", 0)), params__departure=True).select_related("job").first()
    if found is None or not found.sha256.startswith(str(claims.get("h", "-"))) or export_path(found) is None:
        raise gone
    return found


def do_record_download(export: Export, remote_addr: str) -> None:
    do_record(export.account_id, EventKind.EXPORT_DOWNLOADED, protocol="web", remote_addr=remote_addr,
              detail=export.label[:300])


# --- the job ---------------------------------------------------------------------


class _HashingWriter:
    """Writes through to a zip entry and hashes what went in."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.target.write(data)


def _write_zip(
    job: Job, export: Export, part: Path, *, clock: Clock, after_batch: Callable[[Job], None] | None
) -> int:
    """Write the whole zip to ``part``; return the number of messages."""
    params = export.params
    since = datetime.fromisoformat(params["since"]) if params.get("since") else None
    until = datetime.fromisoformat(params["until"]) if params.get("until") else None
    chosen: dict[int, list[int]] = {}
    for box, uid in params.get("selection", []):
        chosen.setdefault(int(box), []).append(int(uid))
    boxes = {b.pk: b for b in list_mailboxes(export.account_id)}
    count = 0
    with tempfile.TemporaryFile() as manifest_file, tempfile.TemporaryFile() as sums_file:
        manifest_text = io.TextIOWrapper(manifest_file, encoding="utf-8", newline="")
        manifest = csv.writer(manifest_text)
        manifest.writerow(["folder", "file", "uid", "internaldate", "flags", "sha256", "size"])
        sums = io.TextIOWrapper(sums_file, encoding="utf-8", newline="\n")
        # Stored, not deflated: mail is mostly base64 of already-compressed files
        # (PDF, JPEG, video), deflate saved ~25 % of the size for 3x the time.
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for box_id in params["boxes"]:
                box = boxes.get(int(box_id))
                if box is None:  # deleted meanwhile
                    continue
                label = folder_label(box)
                folder = safe_path(label)
                uids = chosen.get(box.pk) if chosen else None
                if chosen and uids is None:
                    continue
                mbox_stream: Any = None
                mbox_writer: _HashingWriter | None = None
                if export.format == ExportFormat.MBOX:
                    mbox_stream = archive.open(
                        zipfile.ZipInfo(f"{folder}.mbox", _zip_time(timezone.now())), "w", force_zip64=True
                    )
                    mbox_writer = _HashingWriter(mbox_stream)
                after = 0
                while True:
                    rows = export_batch(
                        export.account_id, box.pk, after_uid=after, limit=BATCH, since=since, until=until, uids=uids
                    )
                    if not rows:
                        break
                    for row in rows:
                        raw = row.read()
                        digest = hashlib.sha256(raw).hexdigest()
                        if mbox_writer is not None:
                            name = f"{folder}.mbox"
                            mbox_writer.write(mbox_entry(row, raw))
                        else:
                            name = f"{folder}/{row.uid}.eml"
                            info = zipfile.ZipInfo(name, _zip_time(row.internaldate))
                            archive.writestr(info, raw)
                            sums.write(f"{digest}  {name}\n")
                        manifest.writerow([
                            label, name, row.uid, row.internaldate.isoformat(), " ".join(row.flag_names), digest, len(raw),
                        ])
                    count += len(rows)
                    after = rows[-1].uid
                    with step(job, clock=clock):
                        job.done = count
                        job.total = max(job.total, count)
                    if after_batch is not None:
                        after_batch(job)
                if mbox_stream is not None and mbox_writer is not None:
                    mbox_stream.close()
                    sums.write(f"{mbox_writer.digest.hexdigest()}  {folder}.mbox\n")
            manifest_text.flush()
            sums.flush()
            for handle, name in ((manifest_file, "manifest.csv"), (sums_file, "SHA256SUMS")):
                handle.seek(0)
                with archive.open(zipfile.ZipInfo(name, _zip_time(timezone.now())), "w", force_zip64=True) as entry:
                    while chunk := handle.read(_CHUNK):
                        entry.write(chunk)
            manifest_text.detach()
            sums.detach()
    return count


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _durable(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _announce(export: Export) -> None:
    account = Account.objects.get(pk=export.account_id)
    url = settings.PUBLIC_URL + reverse("archive:exports")
    raw = notice_bytes(
        "archive/email/export_ready", "Votre export de messages est prêt", [account.address],
        {"account": account, "export": export, "url": url, "days": settings.EXPORT_KEEP_DAYS},
    )
    from academail.delivery.route import send_notice

    send_notice(raw, [account.address], True)
    if export.params.get("departure") and account.secondary_verified and account.secondary_address:
        link = settings.PUBLIC_URL + reverse("archive:departure_download", kwargs={"token": departure_token(export)})
        raw = notice_bytes(
            "archive/email/departure_export_ready", "Votre courrier à emporter est prêt", [account.secondary_address],
            {"account": account, "export": export, "url": link, "days": settings.EXPORT_KEEP_DAYS},
        )
        send_notice(raw, [account.secondary_address], True)


def run_export(job: Job, *, clock: Clock = timezone.now, after_batch: Callable[[Job], None] | None = None) -> str:
    """The job handler (``jobs.runner.HANDLERS``)."""
    export = Export.objects.get(pk=int(job.params["export_id"]))
    directory = Path(settings.EXPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    part = directory / f"{export.pk}.zip.part"
    final = directory / f"{export.pk}.zip"
    job.done = 0  # a resumed export starts its file again
    count = _write_zip(job, export, part, clock=clock, after_batch=after_batch)
    _durable(part)
    os.replace(part, final)
    size = final.stat().st_size
    digest = _file_digest(final)
    now = clock()
    with step(job, clock=clock):
        deleted = 0
        if export.params.get("delete_after"):
            deleted = do_destroy(export.account_id, [(int(b), int(u)) for b, u in export.params["selection"]])
        Export.objects.filter(pk=export.pk).update(
            filename=final.name, size=size, sha256=digest, messages=count, ready_at=now,
            expires_at=now + timedelta(days=settings.EXPORT_KEEP_DAYS),
        )
        export.refresh_from_db()
        job.state = JobState.DONE
        job.done = count
        job.total = count
        job.result = _("%(n)d message(s) exporté(s)") % {"n": count}
        if deleted:
            job.result += _(", puis %(n)d supprimé(s) de la boîte") % {"n": deleted}
        do_record(export.account_id, EventKind.EXPORT_READY, protocol="web", detail=f"{export.label} — {job.result}"[:300])
        _announce(export)
    return job.result


def do_purge_exports(now: datetime) -> int:
    """Remove expired export files and their rows (daily housekeeping).
    Returns how many went."""
    removed = 0
    directory = Path(settings.EXPORT_DIR)
    for export in Export.objects.filter(expires_at__lt=now).only("pk", "filename").iterator():
        if export.filename:
            (directory / export.filename).unlink(missing_ok=True)
        Export.objects.filter(pk=export.pk).delete()
        removed += 1
    return removed


__all__ = [
    "BATCH", "KIND", "ExportError", "ExportRequest", "access_departure_export", "access_export", "departure_token", "account_exports", "check_and_queue_export",
    "do_prepare_departure_export", "do_purge_exports", "do_record_download", "export_path", "mbox_entry",
    "read_range", "run_export", "status", "status_headers",
]
