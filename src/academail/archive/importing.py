"""Import: an mbox (mboxrd or mboxo), one ``.eml`` file or a zip of them
(our own export included) into one folder of the account, as a background
job (``jobs``, kind ``archive.import``).

Each message is stored through ``store.messages.do_append`` (what IMAP
APPEND uses): the bytes unchanged, the INTERNALDATE from the mbox ``From ``
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
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
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
from academail.mime.parse import ParsedMessage, parse_message
from academail.store.archiving import do_folder_for_label, held_messages
from academail.store.errors import QuotaExceeded
from academail.store.mailboxes import access_mailbox, do_create_mailbox, special_mailbox
from academail.store.messages import Flag, Placement, PreparedContent, do_store, prepare_content

log = logging.getLogger(__name__)

KIND = "archive.import"
MAX_MESSAGE = 64 * 1024 * 1024  # one message, read whole before storing
MAX_MEMBERS = 200_000  # files in one zip
MAX_TOTAL = 20 * 1024 * 1024 * 1024  # uncompressed bytes in one zip
MAX_REFUSALS_KEPT = 200  # reasons listed in the report; the count goes on
BATCH = 100  # progress committed every BATCH messages
_WRITERS = 4  # threads writing a batch's blobs

_FLAG_HEADERS = (b"x-mozilla-status:", b"x-mozilla-status2:", b"x-mozilla-keys:", b"status:", b"x-status:")
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_QUOTED_FROM = re.compile(rb"^>+From ")
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


def _from_line_date(line: bytes) -> datetime | None:
    """The asctime date at the end of ``From sender date`` (RFC 4155 §2), as UTC."""
    text = line.decode("ascii", "replace").rstrip("\r\n")
    try:
        stamp = time.strptime(" ".join(text.split()[-5:]), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    return datetime(*stamp[:6], tzinfo=UTC)


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


def _finish(where: str, lines: list[bytes], from_line: bytes, size: int, complete: bool) -> Item:
    if size > MAX_MESSAGE:
        return Item(where, refused=_("message trop gros (plus de %(n)d Mo)") % {"n": MAX_MESSAGE // 1048576})
    raw = b"".join(lines)
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
    """The messages of an mbox, one at a time (mboxrd: one ``>`` removed from
    every ``>*From `` line; an mboxo file reads the same, its ``>From`` lines
    were quoted the same way). Line endings are kept as they are."""
    lines: list[bytes] = []
    from_line = b""
    size = 0
    count = 0
    previous_blank = True
    while True:
        line = stream.readline(1024 * 1024)
        if not line:
            break
        if line.startswith(b"From ") and previous_blank:
            if count:
                yield _finish(_("%(file)s, message %(n)d") % {"file": name, "n": count}, lines, from_line, size, True)
            elif lines:
                yield Item(name, refused=_("ce n'est pas un fichier mbox (il ne commence pas par « From »)"))
                return
            count += 1
            lines, from_line, size = [], line, 0
            previous_blank = False
            continue
        if not count:
            yield Item(name, refused=_("ce n'est pas un fichier mbox (il ne commence pas par « From »)"))
            return
        previous_blank = line in (b"\n", b"\r\n")
        if _QUOTED_FROM.match(line):
            line = line[1:]
        size += len(line)
        if size <= MAX_MESSAGE:
            lines.append(line)
        else:
            lines = []
    if count:
        yield _finish(_("%(file)s, message %(n)d") % {"file": name, "n": count}, lines, from_line, size, False)
    else:
        yield Item(name, refused=_("fichier vide"))


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


def _store_batch(job: Job, report: Report, batch: list[tuple[int, Item | None]], target: Callable[[Item], int]) -> bool:
    """Store one batch (blobs written first, then one transaction with the
    checkpoint). ``batch``: (position, item to store, or None once counted).
    Returns False when the mailbox is full (the import stops there)."""
    account_id = int(job.account_id)
    items = [(position, item) for position, item in batch if item is not None]
    keys = [(item.message_id, hashlib.sha256(item.raw).hexdigest()) for _position, item in items]
    held = held_messages(account_id, keys)
    seen: set[tuple[str, str]] = set()
    fresh: list[bytes] = []
    for key, (_position, item) in zip(keys, items, strict=True):
        if key not in seen and key not in held:
            seen.add(key)
            fresh.append(item.raw)
    # The parses in the delivery worker processes (other cores), when there
    # are some; the blobs, durable, outside the transaction, by a few threads
    # so that one blob's fsync (or an object store's upload) overlaps the next.
    workers = shared_workers()
    parsed: Iterable[ParsedMessage | None] = workers.map(parse_message, fresh) if workers.count else [None] * len(fresh)
    with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
        contents = iter(list(pool.map(_prepare, fresh, parsed)))
    prepared: list[tuple[int, Item, PreparedContent | None]] = []
    seen.clear()
    for key, (position, item) in zip(keys, items, strict=True):
        if key in seen or key in held:
            prepared.append((position, item, None))
        else:
            seen.add(key)
            prepared.append((position, item, next(contents)))
    last = batch[-1][0] if batch else 0
    full = False
    with step(job):
        for position, item, content in prepared:
            if content is None:
                report.skipped += 1
                continue
            (result,) = do_store(
                content, [Placement(account_id, target(item), item.flags, item.keywords)], internaldate=item.internaldate
            )
            if isinstance(result, QuotaExceeded):
                report.stopped = _(
                    "Votre boîte est pleine : l'import s'est arrêté là. Libérez de l'espace puis importez "
                    "à nouveau le même fichier : les messages déjà importés ne seront pas repris."
                )
                last, full = position - 1, True
                break
            report.imported += 1
        _save(job, report, last)
    return not full


def _prepare(raw: bytes, parsed: ParsedMessage | None) -> PreparedContent:
    return prepare_content(raw, parsed=parsed)


def run_import(job: Job, *, clock: Clock = datetime.now) -> str:
    """The job handler (``jobs.runner.HANDLERS``): ``BATCH`` messages per
    transaction, committed with the checkpoint (``step``), so a resumed job
    starts after the last committed batch; dedup covers the rest."""
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
    position = 0
    batch: list[tuple[int, Item | None]] = []
    going = True
    for item in read_upload(path, str(job.params.get("filename") or path.name)):
        position += 1
        if position <= resume_at:
            continue
        if item.refused:
            report.refuse(item.where, item.refused)
            batch.append((position, None))
        else:
            batch.append((position, item))
        if len(batch) >= BATCH:
            going = _store_batch(job, report, batch, target)
            batch = []
            if not going:
                break
    if going and batch:
        _store_batch(job, report, batch, target)
    with step(job):
        job.state = JobState.DONE
        job.result = summary(report)
    path.unlink(missing_ok=True)
    return job.result


__all__ = [
    "KIND", "MAX_MEMBERS", "account_imports", "MAX_MESSAGE", "MAX_TOTAL", "ImportError_", "Item", "Report", "check_and_queue_import",
    "check_and_queue_staged_import", "read_mbox", "read_upload", "read_zip", "report_of", "run_import", "summary", "upload_dir",
]
