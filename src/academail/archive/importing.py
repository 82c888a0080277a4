"""Import: an mbox (mboxrd or mboxo), one ``.eml`` file or a zip of them
(our own export included) into one folder of the account, as a background
job (``jobs``, kind ``archive.import``).

Each message is stored through ``store.messages.do_store_many``, 200 to a
transaction (the entry point IMAP APPEND's ``do_store`` also uses): the bytes unchanged, the INTERNALDATE from the mbox ``From ``
line (RFC 4155 §2), else the export's ``manifest.csv``, else the ``Date``
header; the flags from the flag headers the export puts first
(``X-Mozilla-Status``/``-Status2``/``-Keys``, ``Status``, ``X-Status`` —
that leading run is removed again so the bytes are the original ones),
``X-Keywords``, or the manifest. A message the account already holds (same
Message-ID and same SHA-256 of the bytes) is skipped, so a re-run or a
resumed job imports nothing twice.

The mbox reader is our own: Python's ``mailbox.mbox`` builds a table of
contents of the whole file first and reads each message whole, and it cannot
read from a zip member (no seek); this one reads line by line from any
binary stream and holds one message at a time (at most ``MAX_MESSAGE``).

Bad input never crashes the job: a file that is not mail, a message cut by
the end of the file, a message too large are *refused* with their reason in
the report; a zip with too many members or too many uncompressed bytes
(``MAX_MEMBERS``, ``MAX_TOTAL``: zip bombs) is refused whole; a full mailbox
stops the import with what was imported so far.
"""

from __future__ import annotations

import csv
import email.utils
import hashlib
import io
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from academail.delivery.workers import shared as shared_workers
from academail.jobs.models import Job, JobState
from academail.jobs.runner import Clock, do_queue, step
from academail.mime.headers import message_ids, split_header
from academail.store.archiving import do_folder_for_label, held_messages
from academail.store.blobs import blob_store
from academail.store.errors import QuotaExceeded
from academail.store.mailboxes import access_mailbox, do_create_mailbox, special_mailbox
from academail.store.messages import (
    ContentRecord,
    Flag,
    Placement,
    StoreRequest,
    do_store_many,
    parse_record,
)

log = logging.getLogger(__name__)

KIND = "archive.import"
MAX_MESSAGE = 64 * 1024 * 1024  # one message, read whole before storing
MAX_MEMBERS = 200_000  # files in one zip
MAX_TOTAL = 20 * 1024 * 1024 * 1024  # uncompressed bytes in one zip
MAX_REFUSALS_KEPT = 200  # reasons listed in the report; the count goes on
BATCH = 200  # messages stored in one transaction, with the progress
_WRITERS = 4  # threads writing a batch's blobs

_FLAG_HEADERS = (b"x-mozilla-status:", b"x-mozilla-status2:", b"x-mozilla-keys:", b"status:", b"x-status:")
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
_BOUNDARY = re.compile(rb"\n\r?\n(?=From )")  # the blank line before a message's "From " line
_READ = 4 * 1024 * 1024
_STRADDLE = 8  # a boundary and the "From " after it may straddle two blocks
_NAMES = {name.lower(): bit for bit, name in Flag.NAMES.items()}


class ImportError_(Exception):
    """A request that cannot be imported as asked; ``message`` is French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Item:
    """One message found in the upload, or the reason it is refused."""

    where: str  # "archive.mbox, message 12" — for the report
    raw: bytes = b""
    internaldate: datetime | None = None
    flags: int = 0
    keywords: str = ""
    refused: str = ""  # French reason; empty: to store
    folder: str = ""  # the folder it was in, inside a zip ("" elsewhere)
    message_id: str = ""  # ``read_head``'s: the duplicate test's key with the SHA-256


@dataclass
class Report:
    imported: int = 0
    skipped: int = 0
    refused: int = 0
    reasons: list[list[str]] = field(default_factory=list)
    stopped: str = ""

    def refuse(self, where: str, why: str) -> None:
        self.refused += 1
        if len(self.reasons) < MAX_REFUSALS_KEPT:
            self.reasons.append([where, why])


# --- reading -----------------------------------------------------------------------


_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_DAYS = frozenset(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


def _from_line_date(line: bytes) -> datetime | None:
    """The asctime date at the end of ``From sender date`` (RFC 4155 §2:
    ``Mon Dec  7 17:36:40 2026``), as UTC; None if it is not one. By hand:
    ``time.strptime`` cost 80 µs a message (it looks the locale up each time)."""
    fields = line.decode("ascii", "replace").split()[-5:]
    if len(fields) != 5 or fields[0].lower() not in _DAYS or fields[1].lower() not in _MONTHS:
        return None
    clock = fields[3].split(":")
    try:
        if len(clock) != 3 or not all(f.isdigit() for f in (fields[2], fields[4], *clock)):
            return None
        hour, minute, second = (int(f) for f in clock)
        return datetime(int(fields[4]), _MONTHS[fields[1].lower()], int(fields[2]), hour, minute, second, tzinfo=UTC)
    except ValueError:  # 31 February, 25 o'clock...
        return None


def _split_flags(raw: bytes) -> tuple[bytes, int, str]:
    """Remove the leading run of flag headers (the export's, Thunderbird's) and
    read the flags from them and from ``X-Keywords``; the rest is unchanged."""
    flags, keywords = 0, []
    position = 0
    while position < len(raw):
        end = raw.find(b"\n", position)
        end = len(raw) if end < 0 else end + 1
        line = raw[position:end]
        lowered = line.lower()
        if not lowered.startswith(_FLAG_HEADERS):
            break
        name, _colon, value = line.partition(b":")
        text = value.decode("ascii", "replace").strip()
        key = name.lower()
        if key == b"x-mozilla-status":
            bits = int(text, 16) if re.fullmatch(r"[0-9a-fA-F]{1,8}", text) else 0
            flags |= (Flag.SEEN if bits & 1 else 0) | (Flag.ANSWERED if bits & 2 else 0)
            flags |= (Flag.FLAGGED if bits & 4 else 0) | (Flag.DELETED if bits & 8 else 0)
        elif key == b"x-mozilla-keys":
            keywords += text.split()
        elif key == b"status":
            flags |= Flag.SEEN if "R" in text else 0
        elif key == b"x-status":
            letters = {"A": Flag.ANSWERED, "F": Flag.FLAGGED, "D": Flag.DELETED, "T": Flag.DRAFT}
            for letter, bit in letters.items():
                flags |= bit if letter in text else 0
        position = end
    body = raw[position:]
    head = body.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    for match in re.finditer(rb"^X-Keywords:[ \t]*(.*)$", head, re.MULTILINE | re.IGNORECASE):
        keywords += match.group(1).decode("ascii", "replace").replace(",", " ").split()
    return body, flags, " ".join(dict.fromkeys(k for k in keywords if k.isprintable()))


@dataclass(frozen=True)
class Head:
    """What the import needs of a message's header block, read once."""

    mail: bool  # a header block first with one of the fields every mail has
    date: datetime | None  # the Date field, as an aware datetime
    message_id: str  # as the store keeps it (``Content.message_id``), "" without one


def read_head(raw: bytes) -> Head:
    """``raw``'s header block (up to the first empty line, RFC 5322 §2.1),
    split once by the delivery parser's own scanner (``mime.headers``):
    whether it looks like mail (RFC 5322 §2.2), its Date and its Message-ID.
    The body is never read."""
    if not _HEADER_LINE.match(raw):
        return Head(False, None, "")
    block = split_header(raw, 0, len(raw))
    mail = any(block.raw_value(name) is not None for name in ("from", "date", "message-id", "subject"))
    ids = message_ids(block.get("message-id"))
    return Head(mail, _date(block.get("date")), ids[0] if ids else "")


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _finish(where: str, chunk: bytes, size: int, complete: bool) -> Item:
    """One message of an mbox: ``chunk`` from its ``From `` line to the next
    one (or the end), still quoted; ``size`` its length when it was too large
    to keep (``chunk`` is then empty)."""
    if size > MAX_MESSAGE:
        return Item(where, refused=_("message trop gros (plus de %(n)d Mo)") % {"n": MAX_MESSAGE // 1048576})
    from_line, _newline, raw = chunk.partition(b"\n")
    if b">From " in raw:  # the usual message has none: no regular expression over it
        raw = _QUOTED_FROM.sub(rb"\1", raw)
    if not complete and not raw.endswith(b"\n"):
        return Item(where, refused=_("message coupé : le fichier s'arrête au milieu (fichier tronqué ?)"))
    if raw.endswith((b"\n\n", b"\r\n\r\n")):
        # the blank separator line before the next "From " or the end (RFC 4155 §2)
        raw = raw[:-1] if raw.endswith(b"\n\n") else raw[:-2]
    body, flags, keywords = _split_flags(raw)
    head = read_head(body)
    if not head.mail:
        return Item(where, refused=_("ce n'est pas un message (pas d'en-têtes de courrier)"))
    return Item(where, body, _from_line_date(from_line) or head.date, flags, keywords, message_id=head.message_id)


def read_mbox(stream: BinaryIO, name: str) -> Iterator[Item]:
    """The messages of an mbox, one at a time: a message starts at a ``From ``
    line that is first in the file or follows a blank line (RFC 4155 §2);
    mboxrd: one ``>`` removed from every ``>*From `` line (an mboxo file reads
    the same, its ``>From`` lines were quoted the same way). Line endings are
    kept as they are.

    Read by blocks of ``_READ`` bytes, the boundaries found by one regular
    expression over the block: a Python loop per line cost 0.5 ms a 25 KB
    message. A message over ``MAX_MESSAGE`` bytes as it is in the file (its
    ``From `` line included) is not kept, only measured."""
    buffer = stream.read(_READ)
    while 0 < len(buffer) < 5 and (more := stream.read(_READ)):
        buffer += more
    if not buffer:
        yield Item(name, refused=_("fichier vide"))
        return
    if not buffer.startswith(b"From "):
        yield Item(name, refused=_("ce n'est pas un fichier mbox (il ne commence pas par « From »)"))
        return
    count = 1
    begin = 0  # where the current message's "From " line starts in ``buffer``
    dropped = 0  # bytes of the current message already let go (too large)
    search = 0  # where the next boundary may start in ``buffer``
    ended = False
    while True:
        found = _BOUNDARY.search(buffer, search)
        if found is None and not ended:
            buffer = buffer[begin:]  # one copy per block read, not per message
            begin = 0
            if len(buffer) + dropped > MAX_MESSAGE:  # too large: measured, not kept
                keep = min(len(buffer), _STRADDLE)
                dropped += len(buffer) - keep
                buffer = buffer[len(buffer) - keep:]
            more = stream.read(_READ)
            ended = not more
            search = max(0, len(buffer) - _STRADDLE)
            buffer += more
            continue
        where = _("%(file)s, message %(n)d") % {"file": name, "n": count}
        end = found.end() if found is not None else len(buffer)
        chunk = b"" if dropped else buffer[begin:end]
        yield _finish(where, chunk, dropped + end - begin, found is not None)
        if found is None:
            return
        begin = search = end
        dropped = 0
        count += 1


Manifest = dict[str, tuple[datetime | None, int, str, str]]


def _eml(raw: bytes, where: str, manifest: Manifest) -> Item:
    head = read_head(raw)
    if not head.mail:
        return Item(where, refused=_("ce n'est pas un message (pas d'en-têtes de courrier)"))
    known = manifest.get(where)
    if known is not None:
        return Item(where, raw, known[0] or head.date, known[1], known[2], message_id=head.message_id)
    body, flags, keywords = _split_flags(raw)
    if len(body) != len(raw):  # flag headers removed: the rest is read again
        head = read_head(body)
    return Item(where, body, head.date, flags, keywords, message_id=head.message_id)


def _member_folder(name: str, manifest: Manifest) -> str:
    """The folder a zip member held: the export's manifest says it exactly
    (folder names made safe for file systems lose characters); else the
    member's directory (``Projets/2026/12.eml``) or an mbox file's name
    without its extension (``Projets/2026.mbox``)."""
    known = manifest.get(name)
    if known is not None and known[3]:
        return known[3]
    if name.lower().endswith(".eml"):
        return name.rsplit("/", 1)[0] if "/" in name else ""
    return name[:-5] if name.lower().endswith(".mbox") else name


def _read_manifest(archive: zipfile.ZipFile) -> Manifest:
    """The export's manifest.csv: file -> (INTERNALDATE, flags, keywords, folder)."""
    try:
        info = archive.getinfo("manifest.csv")
    except KeyError:
        return {}
    if info.file_size > 64 * 1024 * 1024:
        return {}
    found: Manifest = {}
    text = archive.read(info).decode("utf-8", "replace")
    for row in csv.DictReader(io.StringIO(text)):
        try:
            when: datetime | None = datetime.fromisoformat(row.get("internaldate") or "")
        except ValueError:
            when = None
        flags, keywords = 0, []
        for name in (row.get("flags") or "").split():
            if name.lower() in _NAMES:
                flags |= _NAMES[name.lower()]
            else:
                keywords.append(name)
        found[row.get("file") or ""] = (when, flags, " ".join(keywords), (row.get("folder") or "").strip())
    return found


def read_zip(path: Path) -> Iterator[Item]:
    """The messages of a zip: ``.eml`` members and mbox members (``.mbox`` or
    no extension), other files ignored; refused whole beyond the bounds."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        yield Item(path.name, refused=_("le fichier zip est illisible ou incomplet"))
        return
    with archive:
        members = [i for i in archive.infolist() if not i.is_dir()]
        if len(members) > MAX_MEMBERS:
            yield Item(path.name, refused=_("le zip contient trop de fichiers (plus de %(n)d)") % {"n": MAX_MEMBERS})
            return
        if sum(i.file_size for i in members) > MAX_TOTAL:
            yield Item(path.name, refused=_("le zip décompressé serait trop gros (plus de %(n)d Go)")
                       % {"n": MAX_TOTAL // 1024**3})
            return
        manifest = _read_manifest(archive)
        for info in members:
            name = info.filename
            lowered = name.lower()
            if lowered in ("manifest.csv", "sha256sums"):
                continue
            try:
                if lowered.endswith(".eml"):
                    if info.file_size > MAX_MESSAGE:
                        yield Item(name, refused=_("message trop gros (plus de %(n)d Mo)")
                                   % {"n": MAX_MESSAGE // 1048576})
                        continue
                    with archive.open(info) as member:
                        raw = member.read(MAX_MESSAGE + 1)
                    item = _eml(raw, name, manifest)
                    item.folder = _member_folder(name, manifest)
                    yield item
                elif lowered.endswith(".mbox") or "." not in lowered.rsplit("/", 1)[-1]:
                    folder = _member_folder(name, manifest)
                    with archive.open(info) as member:
                        for item in read_mbox(member, name):  # type: ignore[arg-type]
                            item.folder = folder
                            yield item
            except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
                log.info("import: zip member %s unreadable: %s", name, error)
                yield Item(name, refused=_("fichier abîmé dans le zip"))


def read_upload(path: Path, name: str) -> Iterator[Item]:
    """Whatever was uploaded, told apart by its first bytes (not its name)."""
    with path.open("rb") as handle:
        head = handle.read(5)
    if head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06":
        yield from read_zip(path)
        return
    if head == b"From ":
        with path.open("rb") as handle:
            yield from read_mbox(handle, name)
        return
    if path.stat().st_size > MAX_MESSAGE:
        yield Item(name, refused=_("message trop gros (plus de %(n)d Mo)") % {"n": MAX_MESSAGE // 1048576})
        return
    yield _eml(path.read_bytes(), name, {})


# --- queue ---------------------------------------------------------------------------


def upload_dir() -> Path:
    return Path(settings.EXPORT_DIR) / "imports"


def check_and_queue_import(
    account_id: int, upload: BinaryIO, filename: str, *, mailbox_id: int | None, new_folder: str = "",
    spread: bool = False,
) -> Job:
    """Keep the uploaded file and queue the job into the chosen folder (or a
    new one, created now), or with ``spread`` each message of a zip back into
    the folder it was in (the others into the INBOX). Raises ImportError_
    (French), MailboxNotFound (404), store naming errors for the new folder,
    or ``JobAlreadyActive``."""

    def copy(path: Path) -> None:
        with path.open("wb") as handle:
            while chunk := upload.read(1024 * 1024):
                handle.write(chunk)

    return _queue(account_id, filename, mailbox_id, new_folder, spread, copy)


def check_and_queue_staged_import(
    account_id: int, staged: Path, filename: str, *, mailbox_id: int | None, new_folder: str = "",
    spread: bool = False,
) -> Job:
    """``check_and_queue_import`` for a file already on the server (a
    finished piecewise upload, ``archive.uploads``): moved, not copied."""
    return _queue(account_id, filename, mailbox_id, new_folder, spread, lambda path: os.replace(staged, path))


def _queue(
    account_id: int, filename: str, mailbox_id: int | None, new_folder: str, spread: bool,
    place: Callable[[Path], None],
) -> Job:
    if spread:
        box = special_mailbox(account_id, "inbox")
    elif new_folder.strip():
        box = do_create_mailbox(account_id, new_folder.strip())
    elif mailbox_id is not None:
        box = access_mailbox(account_id, mailbox_id)
    else:
        raise ImportError_(_("Choisissez le dossier où importer les messages."))
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        job = do_queue(KIND, account_id, params={"mailbox_id": box.pk, "filename": filename[:200], "spread": spread})
        path = directory / f"{job.pk}.upload"
        place(path)
        Job.objects.filter(pk=job.pk).update(params={**job.params, "path": path.name})
        job.params["path"] = path.name
    return job


def account_imports(account_id: int, *, limit: int = 20) -> list[tuple[Job, Report]]:
    """The account's recent imports, newest first, with their reports."""
    jobs = Job.objects.filter(account_id=account_id, kind=KIND).order_by("-created_at", "-pk")[:limit]
    return [(job, report_of(job)) for job in jobs]


# --- the job -----------------------------------------------------------------------


def report_of(job: Job) -> Report:
    saved: dict[str, Any] = job.checkpoint or {}
    return Report(
        imported=int(saved.get("imported", 0)), skipped=int(saved.get("skipped", 0)),
        refused=int(saved.get("refused", 0)), reasons=list(saved.get("reasons", [])),
        stopped=str(saved.get("stopped", "")),
    )


def _save(job: Job, report: Report, position: int) -> None:
    job.checkpoint = {
        "imported": report.imported, "skipped": report.skipped, "refused": report.refused,
        "reasons": report.reasons, "stopped": report.stopped, "position": position,
    }
    job.done = position
    job.total = max(job.total, position)


def summary(report: Report) -> str:
    text = _("%(imported)d importé(s), %(skipped)d déjà présent(s), %(refused)d refusé(s)") % {
        "imported": report.imported, "skipped": report.skipped, "refused": report.refused,
    }
    return f"{text}. {report.stopped}" if report.stopped else text


Key = tuple[str, str]  # (Message-ID, SHA-256 of the bytes): the duplicate test


@dataclass
class _Batch:
    """``BATCH`` consecutive positions of the upload (position, item), their
    keys, and the contents being prepared for the fresh ones (blobs durable,
    ``ContentRecord`` computed). Nothing is counted in the report before the batch is stored:
    a resumed job reads it again."""

    entries: list[tuple[int, Item]]
    keys: list[Key | None] = field(default_factory=list)  # None: refused
    held: set[Key] = field(default_factory=set)
    prepared: Future[dict[str, ContentRecord]] | None = None


def _check_batch(account_id: int, batch: _Batch, earlier: set[Key], preparing: ThreadPoolExecutor) -> None:
    """Find the batch's duplicates (one query, ``held_messages``) and start
    preparing the others in the background (``_prepare_all``) while the
    previous batch is stored. ``earlier``: the keys of the batch being
    stored meanwhile, not committed yet, so not in ``held``."""
    batch.keys = [
        None if item.refused else (item.message_id, hashlib.sha256(item.raw).hexdigest())
        for _position, item in batch.entries
    ]
    batch.held = held_messages(account_id, [key for key in batch.keys if key is not None])
    fresh: dict[str, bytes] = {}
    for key, (_position, item) in zip(batch.keys, batch.entries, strict=True):
        if key is not None and key not in batch.held and key not in earlier:
            fresh.setdefault(key[1], item.raw)
    batch.prepared = preparing.submit(_prepare_all, list(fresh.values()))


def _prepare_all(raws: list[bytes]) -> dict[str, ContentRecord]:
    """The ``ContentRecord`` of each of ``raws`` by SHA-256, its blob durable:
    the parse, the search text and the row values in the delivery worker
    processes when there are some (``parse_record``: the CPU of a message,
    the other core's work while this process stores), and meanwhile the
    blobs written and fsynced by a few threads of this process (the workers
    write nothing, ``delivery.workers``). Returns once every blob is durable."""
    store = blob_store()
    with ThreadPoolExecutor(max_workers=_WRITERS, thread_name_prefix="academail-import-blob") as writers:
        written = writers.map(store.put, raws)  # all submitted now
        records = {record.sha256: record for record in shared_workers().map(parse_record, raws)}
        for _sha in written:  # raises the first write's error, if any
            pass
    return records


def _store_batch(job: Job, report: Report, batch: _Batch, target: Callable[[Item], int]) -> bool:
    """Store one batch in one transaction with the checkpoint: the messages
    through ``store.messages.do_store_many`` (a few statements for the whole
    batch, stopping at the first message the mailbox has no room for), then
    each position counted in ``report`` in order, up to that message.
    Returns False when the mailbox is full (the import stops there)."""
    assert batch.prepared is not None
    prepared = batch.prepared.result()
    account_id = int(job.account_id)
    with step(job):
        seen: set[Key] = set()
        requests: list[StoreRequest] = []
        stored: dict[int, int] = {}  # position -> its request
        for key, (position, item) in zip(batch.keys, batch.entries, strict=True):
            content = prepared.get(key[1]) if key is not None else None
            # None: held already, or stored by the batch before this one
            if key is None or content is None or key in seen or key in batch.held:
                continue
            seen.add(key)
            stored[position] = len(requests)
            placement = Placement(account_id, target(item), item.flags, item.keywords)
            requests.append(StoreRequest(content, [placement], internaldate=item.internaldate))
        results = do_store_many(requests, stop_when_full=True)
        last = 0
        for position, item in batch.entries:
            if position in stored and isinstance(results[stored[position]][0], QuotaExceeded):
                report.stopped = _(
                    "Votre boîte est pleine : l'import s'est arrêté là. Libérez de l'espace puis importez "
                    "à nouveau le même fichier : les messages déjà importés ne seront pas repris."
                )
                break
            if item.refused:
                report.refuse(item.where, item.refused)
            elif position in stored:
                report.imported += 1
            else:
                report.skipped += 1
            last = position
        _save(job, report, last)
    return not report.stopped


def run_import(job: Job, *, clock: Clock = datetime.now) -> str:
    """The job handler (``jobs.runner.HANDLERS``): ``BATCH`` messages per
    transaction, committed with the checkpoint (``step``), so a resumed job
    starts after the last committed batch; dedup covers the rest. While one
    batch is stored, the next one is read and prepared (``_check_batch``)."""
    account_id = int(job.account_id)
    mailbox_id = access_mailbox(account_id, int(job.params["mailbox_id"])).pk
    folders: dict[str, int] = {}

    def target(item: Item) -> int:
        """The chosen folder, or with "spread" the item's own folder (found or
        created; the chosen one if its name cannot be used). Inside the
        batch's transaction, so a created folder and its messages commit together."""
        if not job.params.get("spread") or not item.folder:
            return mailbox_id
        if item.folder not in folders:
            folders[item.folder] = do_folder_for_label(account_id, item.folder, fallback_id=mailbox_id)
        return folders[item.folder]

    path = upload_dir() / str(job.params["path"])
    resume_at = int((job.checkpoint or {}).get("position", 0))
    report = report_of(job)
    pending: _Batch | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="academail-import") as preparing:
        for entries in _batches(read_upload(path, str(job.params.get("filename") or path.name)), resume_at):
            batch = _Batch(entries)
            earlier = {key for key in pending.keys if key is not None} if pending is not None else set()
            _check_batch(account_id, batch, earlier, preparing)
            if pending is not None and not _store_batch(job, report, pending, target):
                pending = None
                break
            pending = batch
        if pending is not None:
            _store_batch(job, report, pending, target)
    with step(job):
        job.state = JobState.DONE
        job.result = summary(report)
    path.unlink(missing_ok=True)
    return job.result


def _batches(items: Iterable[Item], resume_at: int) -> Iterator[list[tuple[int, Item]]]:
    """The upload's items after ``resume_at``, ``BATCH`` positions at a time."""
    batch: list[tuple[int, Item]] = []
    for position, item in enumerate(items, 1):
        if position <= resume_at:
            continue
        batch.append((position, item))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


__all__ = [
    "KIND", "MAX_MEMBERS", "account_imports", "MAX_MESSAGE", "MAX_TOTAL", "ImportError_", "Item", "Report", "check_and_queue_import",
    "check_and_queue_staged_import", "read_mbox", "read_upload", "read_zip", "report_of", "run_import", "summary", "upload_dir",
]
