"""Migration from the previous platform: pull every folder of a mailbox from
the old IMAP server into an academail account (``academail migrate-imap``).

How it keeps its promises:

- **Through the store's normal path.** Each message goes through
  ``store.messages.prepare_content`` (blob durable, parsed once) and
  ``do_store`` (UID, MODSEQ, counters, quota, search index), as an IMAP APPEND
  does, with the source's flags, keywords and INTERNALDATE (RFC 3501 §6.3.11).
- **Idempotent and crash-safe.** A folder is copied in UID order; each batch's
  messages and the folder's checkpoint (``MigrationFolder.last_uid``) commit in
  one transaction. A run killed at any point has either committed a batch
  with its checkpoint or nothing of it (at worst orphan blobs, which the blob
  GC removes), so the next run copies exactly what is above the checkpoint.
  If the source's UIDVALIDITY changed (RFC 3501 §2.3.1.1: its UIDs mean
  nothing any more) the folder starts over, skipping messages whose bytes the
  target folder already holds.
- **Bounded memory.** Sizes are read first (``RFC822.SIZE``); bodies are
  fetched in batches of at most ``batch_bytes`` (a larger message alone), one
  batch read ahead while the previous one commits, and a message above
  ``importing.MAX_MESSAGE`` is recorded as refused, never fetched.
- **Errors per message, never fatal to the run.** A message the server will
  not give is recorded (``MigrationFailure``, French reason) and retried by the
  next run. A dropped connection or a malformed reply is retried from the
  checkpoint (``reconnects`` times, with a growing pause); a full mailbox
  stops that account ("Interrompue") and says what to do. One account's
  failure never stops the others.
- **Throttled.** ``max_rate`` messages per second per account, and the
  command's ``--parallel`` bounds the connections to the old server.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Sum
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from academail.archive.imapsource import FolderPlan, Source, SourceError, connect, list_plan
from academail.archive.importing import MAX_MESSAGE
from academail.archive.models import (
    ImapMigration,
    MigratedMessage,
    MigrationFailure,
    MigrationFolder,
    MigrationState,
)
from academail.store.archiving import held_in_mailbox
from academail.store.errors import MailboxExists, QuotaExceeded, StoreError
from academail.store.mailboxes import access_mailbox_by_name, do_create_mailbox, special_mailbox
from academail.store.messages import (
    Flag,
    Placement,
    PreparedContent,
    do_set_flags,
    do_store,
    prepare_content,
)

log = logging.getLogger(__name__)

SIZE_CHUNK = 2000  # UIDs per "UID FETCH (RFC822.SIZE)", and per "UID FETCH (FLAGS)" of the flag sync
PIECE = 4 * 1024 * 1024  # a message larger than a batch is read in pieces of this size
FAILURES_SHOWN = 50
_FLAG_BITS = {name.lower().encode(): bit for bit, name in Flag.NAMES.items()}
_ATOM_SPECIALS = set('(){ %*"\\]')  # RFC 3501 §9 atom-specials: not in a keyword


@dataclass
class Options:
    batch_bytes: int = 8 * 1024 * 1024  # bodies held in memory at once (a larger message alone)
    batch_messages: int = 200
    max_rate: float = 0.0  # messages per second per account; 0: as fast as the servers go
    reconnects: int = 5  # a dropped connection is retried this many times per run
    pause: float = 1.0  # seconds before the first reconnection, doubled each time
    writers: int = 8  # blobs of a batch written (and fsynced) at once
    progress: Callable[[Progress], None] | None = None


@dataclass(frozen=True)
class Progress:
    """After each committed batch: the folder's messages handled this run out
    of its ``total`` to copy, and the whole mailbox's messages handled (copied
    now or before) out of what it holds (STATUS MESSAGES of every folder)."""

    account: str
    folder: str
    done: int
    total: int
    overall_done: int = 0
    overall_total: int = 0


@dataclass
class AccountReport:
    """One account's run, as the command prints it (French texts)."""

    account: str
    source: str
    state: Any = MigrationState.RUNNING  # a MigrationState
    folders: int = 0
    copied: int = 0  # this run
    copied_bytes: int = 0
    already: int = 0  # copied by earlier runs
    vanished: int = 0  # expunged on the old server while we copied
    failed: int = 0  # still failing after this run
    reconnections: int = 0
    flags_updated: int = 0  # messages copied before whose flags changed on the old server since
    seconds: float = 0.0
    message: str = ""
    failures: list[tuple[str, int, str]] = field(default_factory=list)  # (folder, uid, reason)
    skipped_folders: list[tuple[str, str]] = field(default_factory=list)

    @property
    def state_label(self) -> str:
        return str(MigrationState(self.state).label)


class _MailboxFull(Exception):
    pass


class _LocalStorageError(Exception):
    """academail's blob store refused a write (disk full, permissions)."""


class _Throttle:
    def __init__(self, rate: float) -> None:
        self.rate, self.started, self.count = rate, time.monotonic(), 0

    def account(self, count: int) -> None:
        self.count += count
        if self.rate > 0:
            ahead = self.count / self.rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)


def _flags_of(values: Iterable[bytes | str]) -> tuple[int, str]:
    """System flags as bits and keywords as text (RFC 3501 §2.3.2); \\Recent
    is the server's own and not copied."""
    bits, keywords = 0, []
    for value in values:
        name = value if isinstance(value, bytes) else value.encode("utf-8", "replace")
        bit = _FLAG_BITS.get(name.lower())
        if bit:
            bits |= bit
        elif not name.startswith(b"\\"):
            text = name.decode("ascii", "replace")
            if text and text.isprintable() and not _ATOM_SPECIALS & set(text):
                keywords.append(text)
    return bits, " ".join(dict.fromkeys(keywords))


def _internaldate(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- one account -------------------------------------------------------------------------


def _special_names(account_id: int) -> dict[str, str]:
    return {use: special_mailbox(account_id, use).name for use in ("sent", "drafts", "trash", "junk", "archive")}


def _target_mailbox(account_id: int, plan: FolderPlan) -> int:
    if plan.special_use:
        return special_mailbox(account_id, plan.special_use).pk
    try:
        return access_mailbox_by_name(account_id, plan.target_name).pk
    except StoreError:
        pass
    try:
        return do_create_mailbox(account_id, plan.target_name).pk
    except MailboxExists:  # created meanwhile (a parallel run, a person)
        return access_mailbox_by_name(account_id, plan.target_name).pk


@dataclass
class _Run:
    """What one run of one account carries from folder to folder."""

    account_id: int
    migration: ImapMigration
    options: Options
    report: AccountReport
    throttle: _Throttle
    writers: ThreadPoolExecutor  # prepare_content (blob write + fsync, parse) of a batch side by side
    fetcher: ThreadPoolExecutor  # one thread: reads the next batch from the old server
    grand_total: int = 0  # messages in all the folders to copy (for Progress)
    finished: int = 0  # messages in the folders done so far


def _fetch_sizes(client: IMAPClient, uids: Sequence[int]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for start in range(0, len(uids), SIZE_CHUNK):
        chunk = uids[start:start + SIZE_CHUNK]
        for uid, data in client.fetch(chunk, ["RFC822.SIZE"]).items():
            sizes[int(uid)] = int(data.get(b"RFC822.SIZE", 0))
    return sizes


def _batches(uids: Sequence[int], sizes: dict[int, int], options: Options) -> Iterator[list[int]]:
    batch: list[int] = []
    held = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (held + size > options.batch_bytes or len(batch) >= options.batch_messages):
            yield batch
            batch, held = [], 0
        batch.append(uid)
        held += size
    if batch:
        yield batch


def _fetch_in_pieces(client: IMAPClient, uid: int, piece: int) -> dict[int, dict[bytes, Any] | str]:
    """One big message by partial fetches of ``piece`` bytes (RFC 3501
    §6.4.5, ``BODY.PEEK[]<offset.length>``): imaplib and imapclient hold about
    three copies of a literal while they parse it, so a 50 MB message read
    whole would cost 150 MB; read in pieces it costs about two copies of
    itself (the pieces, then the joined bytes). Same result shape as
    ``_fetch_bodies``; an empty answer means the message is gone."""
    head = client.fetch([uid], ["FLAGS", "INTERNALDATE"]).get(uid)
    if head is None:
        return {}
    pieces: list[bytes] = []
    offset = 0
    while True:
        answer = client.fetch([uid], [f"BODY.PEEK[]<{offset}.{piece}>"]).get(uid) or {}
        chunk = next((value for key, value in answer.items() if key.startswith(b"BODY[]")), None)
        if chunk is None:
            return {} if not pieces else {uid: "l'ancien serveur a cessé d'envoyer ce message en cours de route"}
        pieces.append(bytes(chunk))
        offset += len(chunk)
        if len(chunk) < piece:
            break
    body = b"".join(pieces)
    pieces.clear()
    return {uid: {b"FLAGS": head.get(b"FLAGS", ()), b"INTERNALDATE": head.get(b"INTERNALDATE"), b"BODY[]": body}}


def _fetch_bodies(client: IMAPClient, uids: list[int]) -> dict[int, dict[bytes, Any] | str]:
    """FETCH the batch; if the server refuses it (a damaged message answers
    NO), fetch one by one so only the bad message is recorded. A dropped
    connection (IMAPClientAbortError, OSError) propagates: the run reconnects."""
    items = ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"]
    try:
        return {int(k): v for k, v in client.fetch(uids, items).items()}
    except IMAPClientAbortError:
        raise
    except IMAPClientError:
        if len(uids) == 1:
            raise
    found: dict[int, dict[bytes, Any] | str] = {}
    for uid in uids:
        try:
            found.update({int(k): v for k, v in client.fetch([uid], items).items()})
        except IMAPClientAbortError:
            raise
        except IMAPClientError as error:
            found[uid] = f"l'ancien serveur refuse de donner ce message ({error})"
    return found


@dataclass
class _Fetched:
    """One batch read from the old server, its blobs durable, not stored yet."""

    uids: list[int]
    ready: list[tuple[int, PreparedContent, int, str, datetime | None]]  # uid, content, flags, keywords, date
    failures: dict[int, str]
    vanished: int


def _fetch_batch(run: _Run, client: IMAPClient, uids: list[int], sizes: dict[int, int]) -> _Fetched:
    """Fetch one batch and write its blobs (no database: runs in the
    prefetching thread while the previous batch commits)."""
    too_big = {uid for uid in uids if sizes.get(uid, 0) > MAX_MESSAGE}
    wanted = [uid for uid in uids if uid not in too_big]
    if len(wanted) == 1 and sizes.get(wanted[0], 0) > run.options.batch_bytes:
        fetched = _fetch_in_pieces(client, wanted[0], PIECE)
    else:
        fetched = _fetch_bodies(client, wanted) if wanted else {}
    failures: dict[int, str] = {
        uid: f"message trop gros ({sizes[uid] // 1048576} Mo, au plus {MAX_MESSAGE // 1048576} Mo) : "
             "exportez-le depuis l'ancienne messagerie" for uid in too_big
    }
    vanished = 0
    bodies: list[tuple[int, bytes, int, str, datetime | None]] = []
    for uid in wanted:
        entry = fetched.pop(uid, None)
        if isinstance(entry, str):
            failures[uid] = entry
            continue
        raw = entry.get(b"BODY[]") if entry else None
        if raw is None:
            vanished += 1  # expunged on the old server since we listed it (RFC 3501 §7.4.2)
            continue
        flags, keywords = _flags_of(entry.get(b"FLAGS", ()))  # type: ignore[union-attr]
        bodies.append((uid, bytes(raw), flags, keywords, _internaldate(entry.get(b"INTERNALDATE"))))  # type: ignore[union-attr]
    fetched.clear()
    # Each blob is fsynced before its row commits (store.blobs): writing the
    # batch's blobs side by side lets the file system fold those waits into
    # few journal commits instead of paying one disk round trip per message.
    try:
        contents = list(run.writers.map(prepare_content, [body[1] for body in bodies]))
    except OSError as error:  # our disk, not the old server: retrying the connection would not help
        raise _LocalStorageError(str(error)) from error
    ready = [(uid, content, flags, keywords, when)
             for (uid, _raw, flags, keywords, when), content in zip(bodies, contents, strict=True)]
    bodies.clear()
    return _Fetched(uids, ready, failures, vanished)


def _commit_batch(
    run: _Run, folder: MigrationFolder, mailbox_id: int, batch: _Fetched, sizes: dict[int, int],
    *, dedup: bool, retrying: set[int],
) -> None:
    """The batch's messages, the folder's checkpoint, its failures and the
    totals, in one transaction. Raises _MailboxFull after committing what fitted."""
    uids, failures, ready = batch.uids, batch.failures, batch.ready
    if dedup:
        held = held_in_mailbox(mailbox_id, [p.sha256 for _, p, *_rest in ready])
        ready = [item for item in ready if item[1].sha256 not in held]
    account_id = run.account_id
    stored, stored_bytes, stop_uid = 0, 0, None
    placed: list[MigratedMessage] = []
    with transaction.atomic():
        for uid, prepared, flags, keywords, when in ready:
            (result,) = do_store(prepared, [Placement(account_id, mailbox_id, flags, keywords)], internaldate=when)
            if isinstance(result, QuotaExceeded):
                stop_uid = uid  # this one and the rest of the batch wait for the next run
                break
            stored += 1
            stored_bytes += prepared.size
            placed.append(MigratedMessage(folder=folder, source_uid=uid, mailbox_id=mailbox_id, uid=result.uid,
                                          flags=flags, keywords=keywords))
        # A message retried after a failure may have been placed by a run that died before its checkpoint
        # moved past it: one row per source UID.
        MigratedMessage.objects.bulk_create(placed, batch_size=500, ignore_conflicts=True)
        done_uids = [u for u in uids if stop_uid is None or u < stop_uid]
        checkpoint_end = max((u for u in done_uids if u not in retrying), default=folder.last_uid)
        MigrationFailure.objects.filter(folder=folder, uidvalidity=folder.uidvalidity,
                                        uid__in=[u for u in done_uids if u not in failures]).delete()
        for uid, reason in failures.items():
            if uid in done_uids:
                MigrationFailure.objects.update_or_create(
                    folder=folder, uidvalidity=folder.uidvalidity, uid=uid,
                    defaults={"reason": reason[:2000], "size": sizes.get(uid, 0)},
                )
        folder.last_uid = max(folder.last_uid, checkpoint_end)
        folder.copied += stored
        MigrationFolder.objects.filter(pk=folder.pk).update(last_uid=folder.last_uid, copied=F("copied") + stored)
        ImapMigration.objects.filter(pk=run.migration.pk).update(
            copied=F("copied") + stored, copied_bytes=F("copied_bytes") + stored_bytes
        )
    run.report.copied += stored
    run.report.copied_bytes += stored_bytes
    run.report.vanished += batch.vanished
    run.throttle.account(stored)
    if stop_uid is not None:
        raise _MailboxFull()


def _copy_folder(run: _Run, client: IMAPClient, plan: FolderPlan) -> None:
    mailbox_id = _target_mailbox(run.account_id, plan)
    folder, _created = MigrationFolder.objects.get_or_create(
        migration=run.migration, source_name=plan.source_name, defaults={"target_name": plan.target_name}
    )
    if not plan.selectable:
        return
    info = client.select_folder(plan.source_name, readonly=True)  # EXAMINE: \Seen stays as it was
    uidvalidity = int(info.get(b"UIDVALIDITY", 0))
    dedup = False
    if folder.uidvalidity != uidvalidity:
        # RFC 3501 §2.3.1.1: a new UIDVALIDITY makes the old UIDs meaningless.
        dedup = folder.uidvalidity != 0
        MigrationFailure.objects.filter(folder=folder).delete()
        MigratedMessage.objects.filter(folder=folder).delete()
        folder.uidvalidity, folder.last_uid = uidvalidity, 0
        MigrationFolder.objects.filter(pk=folder.pk).update(uidvalidity=uidvalidity, last_uid=0)
    exists = int(info.get(b"EXISTS", 0))
    if exists == 0:
        return
    if folder.last_uid:
        _sync_flags(run, client, folder)
    # "n:*" always matches the last message, even below n (RFC 3501 §6.4.8): keep those above.
    new = sorted(u for u in client.search(["UID", f"{folder.last_uid + 1}:*"]) if u > folder.last_uid)
    retry = sorted(MigrationFailure.objects.filter(folder=folder, uidvalidity=uidvalidity)
                   .values_list("uid", flat=True))
    todo = retry + new
    if not todo:
        return
    sizes = _fetch_sizes(client, todo)
    todo = [u for u in todo if u in sizes]  # gone meanwhile
    before = max(0, exists - len(todo))  # copied by earlier runs
    # Read (and write the blobs of) batch n+1 while batch n commits: the old
    # server, the disk and the database work side by side. At most two
    # batches are held; the client is only used by the fetching thread.
    # A batch larger than ``batch_bytes`` (one big message) is not read ahead:
    # it waits for the previous commit, so two big messages are never held.
    batches = list(_batches(todo, sizes, run.options))

    def big(index: int) -> bool:
        return sum(sizes.get(uid, 0) for uid in batches[index]) > run.options.batch_bytes

    pending: Future[_Fetched] | None = None
    done = 0
    try:
        for index in range(len(batches)):
            if pending is None:
                pending = run.fetcher.submit(_fetch_batch, run, client, batches[index], sizes)
            fetched = pending.result()
            pending = None
            if index + 1 < len(batches) and not big(index + 1):
                pending = run.fetcher.submit(_fetch_batch, run, client, batches[index + 1], sizes)
            _commit_batch(run, folder, mailbox_id, fetched, sizes, dedup=dedup, retrying=set(retry))
            done += len(fetched.uids)
            del fetched  # its parses, before the next big batch is read
            if run.options.progress:
                run.options.progress(Progress(run.report.account, plan.target_name, done, len(todo),
                                              run.finished + before + done, run.grand_total))
    finally:
        if pending is not None:
            wait([pending])  # the client is free again before anyone else uses it (its blobs: orphans for the GC)


def _uid_ranges(uids: Iterable[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for uid in sorted(uids):
        if ranges and uid == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], uid)
        else:
            ranges.append((uid, uid))
    return ranges


def _sync_flags(run: _Run, client: IMAPClient, folder: MigrationFolder) -> None:
    """Bring over the flag changes made on the old server since the last run
    to the messages already copied (``MigratedMessage``): what was added there
    is added here, what was removed there is removed here, and a flag the
    person changed here but that did not move there is left as they set it.
    One "UID FETCH a:b (FLAGS)" per ``SIZE_CHUNK`` copied messages (RFC 3501
    §6.4.5); the changes go through ``store.do_set_flags`` (MODSEQ, unseen
    counter, IMAP clients told), grouped by change. A message expunged on the
    old server is left here: a migration never deletes. Precondition: the
    folder is selected; not inside a transaction."""
    rows = MigratedMessage.objects.filter(folder=folder).order_by("source_uid")
    last = 0
    while chunk := list(rows.filter(source_uid__gt=last)[:SIZE_CHUNK]):
        last = chunk[-1].source_uid
        answer = client.fetch(f"{chunk[0].source_uid}:{last}", ["FLAGS"])
        changes: dict[tuple[str, int, int, tuple[str, ...]], list[int]] = {}
        changed: list[MigratedMessage] = []
        for row in chunk:
            data = answer.get(row.source_uid)
            if data is None:
                continue
            flags, keywords = _flags_of(data.get(b"FLAGS", ()))
            if (flags, keywords) == (row.flags, row.keywords):
                continue
            before, after = set(row.keywords.split()), set(keywords.split())
            for mode, bits, words in (("add", flags & ~row.flags, after - before),
                                      ("remove", row.flags & ~flags, before - after)):
                if bits or words:
                    changes.setdefault((mode, row.mailbox_id, bits, tuple(sorted(words))), []).append(row.uid)
            row.flags, row.keywords = flags, keywords
            changed.append(row)
        for (change, mailbox_id, change_bits, names), uids in changes.items():
            try:
                do_set_flags(run.account_id, mailbox_id, _uid_ranges(uids), mode=change, flags=change_bits,
                             keywords=names)
            except StoreError:  # the folder was deleted here since: nothing to update
                continue
        MigratedMessage.objects.bulk_update(changed, ["flags", "keywords"], batch_size=500)
        run.report.flags_updated += len(changed)


def _copy_all(run: _Run, client: IMAPClient) -> None:
    names = _special_names(run.account_id)
    plans = list_plan(client, names)
    run.report.folders = sum(1 for p in plans if not p.skipped)
    run.report.skipped_folders = [(p.source_name, p.skipped) for p in plans if p.skipped]
    counts: dict[str, int] = {}
    run.finished = 0  # a reconnection starts the folders over (each resumes at its checkpoint)
    if run.options.progress:
        for plan in plans:
            if plan.selectable and not plan.skipped:
                status = client.folder_status(plan.source_name, [b"MESSAGES"])  # RFC 3501 §6.3.10
                counts[plan.source_name] = int(status.get(b"MESSAGES", 0))
        run.grand_total = sum(counts.values())
    for plan in plans:
        if not plan.skipped:
            _copy_folder(run, client, plan)
            run.finished += counts.get(plan.source_name, 0)


_CONNECTION_ERRORS = (IMAPClientAbortError, OSError, socket.timeout, EOFError)


def migrate_account(account_id: int, label: str, source: Source, options: Options | None = None) -> AccountReport:
    """Copy what is new on ``source`` into the account; never raises for the
    old server's or the messages' faults: the report says what happened.
    Precondition: not inside a transaction (each batch commits its own)."""
    options = options or Options()
    started = time.monotonic()
    migration, _created = ImapMigration.objects.get_or_create(account_id=account_id, source=source.key)
    ImapMigration.objects.filter(pk=migration.pk).update(state=MigrationState.RUNNING, runs=F("runs") + 1)
    report = AccountReport(account=label, source=source.key)
    report.already = int(MigrationFolder.objects.filter(migration=migration).aggregate(n=Sum("copied"))["n"] or 0)
    writers = ThreadPoolExecutor(max_workers=options.writers, thread_name_prefix="migrate-blobs")
    fetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="migrate-fetch")
    run = _Run(account_id, migration, options, report, _Throttle(options.max_rate), writers, fetcher)
    try:
        _run_with_reconnects(run, source)
    finally:  # also when the progress callback raises (a job whose lease another worker took)
        writers.shutdown()
        fetcher.shutdown()
    _finish(run, started)
    return report


def _run_with_reconnects(run: _Run, source: Source) -> None:
    options, report = run.options, run.report
    pause = options.pause
    while True:
        client: IMAPClient | None = None
        try:
            client = connect(source)
            _copy_all(run, client)
            report.state = MigrationState.DONE
            break
        except _MailboxFull:
            report.state = MigrationState.STOPPED
            report.message = ("La boîte academail est pleine : augmentez son quota (ou libérez de la place) puis "
                              "relancez la même commande ; les messages déjà copiés ne seront pas repris.")
            break
        except _LocalStorageError as error:
            log.error("migration %s: blob store write failed: %s", source, error)
            report.state = MigrationState.FAILED
            report.message = ("academail n'a pas pu écrire les messages sur son propre disque (plein ?) : "
                              "libérez de la place sur le serveur puis relancez la commande.")
            break
        except SourceError as error:
            # A refused sign-in or a certificate will not mend by retrying.
            report.state, report.message = MigrationState.FAILED, error.message
            break
        except (*_CONNECTION_ERRORS, IMAPClientError) as error:
            log.info("migration %s: %s (%s)", source, type(error).__name__, error)
            if report.reconnections >= options.reconnects:
                report.state = MigrationState.FAILED
                report.message = (f"L'ancien serveur a coupé la connexion ou répondu de façon illisible "
                                  f"{report.reconnections + 1} fois ({type(error).__name__}) : relancez la "
                                  "commande plus tard ; la copie reprendra où elle s'est arrêtée.")
                break
            report.reconnections += 1
            time.sleep(pause)
            pause *= 2
        finally:
            if client is not None:
                _close(client)


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except (*_CONNECTION_ERRORS, IMAPClientError):
        client.shutdown()


def _finish(run: _Run, started: float) -> None:
    report = run.report
    report.seconds = time.monotonic() - started
    failures = MigrationFailure.objects.filter(folder__migration=run.migration).select_related("folder")
    report.failed = failures.count()
    report.failures = [(f.folder.source_name, f.uid, f.reason) for f in failures.order_by("pk")[:FAILURES_SHOWN]]
    if report.state == MigrationState.DONE:
        report.message = summary(report)
    ImapMigration.objects.filter(pk=run.migration.pk).update(
        state=report.state, failed=report.failed, result=report.message[:4000]
    )


def summary(report: AccountReport) -> str:
    text = (f"{report.copied} message(s) copié(s) ({report.copied_bytes / 1048576:.1f} Mo) dans "
            f"{report.folders} dossier(s), {report.already} déjà copié(s) auparavant")
    if report.flags_updated:
        text += f", {report.flags_updated} dont les drapeaux ont changé sur l'ancien serveur"
    if report.failed:
        text += f", {report.failed} en erreur (relancez pour les réessayer)"
    return text + "."


def total_copied(account_id: int) -> int:
    return int(ImapMigration.objects.filter(account_id=account_id).aggregate(n=Sum("copied"))["n"] or 0)


@dataclass(frozen=True)
class MigrationSummary:
    """One source mailbox's migration into an account, as a page shows it."""

    source: str
    state: str
    state_label: str
    copied: int
    copied_bytes: int
    failed: int
    result: str
    runs: int
    updated_at: datetime
    failures: list[tuple[str, int, str]]  # (source folder, UID, French reason), the first FAILURES_SHOWN


def account_migrations(account_id: int) -> list[MigrationSummary]:
    """The migrations into the account, newest first, with their first failures.
    Precondition: the caller checked who asks (the secretariat's scope)."""
    summaries = []
    for row in ImapMigration.objects.filter(account_id=account_id).order_by("-updated_at", "-pk")[:20]:
        failures = (MigrationFailure.objects.filter(folder__migration=row).select_related("folder")
                    .order_by("pk")[:FAILURES_SHOWN])
        summaries.append(MigrationSummary(
            source=row.source, state=row.state, state_label=str(MigrationState(row.state).label),
            copied=row.copied, copied_bytes=row.copied_bytes, failed=row.failed, result=row.result,
            runs=row.runs, updated_at=row.updated_at,
            failures=[(f.folder.source_name, f.uid, f.reason) for f in failures],
        ))
    return summaries


# --- many accounts ----------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    account_id: int
    label: str
    source: Source
    line: int = 0  # in the CSV it came from
    given: str = ""  # the account as the CSV names it


def migrate_many(tasks: Sequence[Task], options: Options, *, parallel: int = 2) -> Iterator[AccountReport]:
    """Run ``tasks`` with at most ``parallel`` at once (each is one connection
    to the old server); yields each report as its account finishes."""

    def one(task: Task) -> AccountReport:
        try:
            return migrate_account(task.account_id, task.label, task.source, options)
        except Exception:  # noqa: BLE001 - one account's unexpected fault never stops the others
            log.exception("migration of %s from %s", task.label, task.source)
            return AccountReport(account=task.label, source=task.source.key, state=MigrationState.FAILED,
                                 message="Erreur interne d'academail pour ce compte (voir le journal du serveur) : "
                                         "relancez la commande ; la copie reprendra où elle s'est arrêtée.")
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()  # this worker thread's own database connection

    if parallel <= 1:
        for task in tasks:
            yield one(task)
        return
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="migrate") as pool:
        futures = [pool.submit(one, task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()


# --- the bulk CSV ------------------------------------------------------------------------

CSV_ACCOUNT = ("compte", "account")
CSV_LOGIN = ("identifiant_source", "source_login")
CSV_PASSWORD = ("mot_de_passe", "password")


class TaskError(Exception):
    """A CSV row or an account that cannot be migrated as given (French)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def find_account(text: str) -> tuple[int, str]:
    """(id, identifier) of the academail account named by its identifier or
    one of its addresses; TaskError otherwise."""
    from academail.accounts.models import Account
    from academail.accounts.services import normalize_identifier, resolve_address

    identifier = normalize_identifier(text)
    account = Account.objects.filter(identifier=identifier).first() if identifier else None
    if account is None and "@" in text:
        account = resolve_address(text)
    if account is None:
        raise TaskError(not_found(text))
    return account.pk, account.identifier


def not_found(text: str) -> str:
    """The refusal of an account that does not exist (or that the operator
    may not see: the same words, so nobody learns which)."""
    return f"compte academail « {text} » introuvable : créez-le d'abord (academail import-accounts)"


def _column(row: dict[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        if row.get(name):
            return row[name].strip()
    return ""


def tasks_from_csv(lines: Iterable[str], template: Source) -> tuple[list[Task], list[tuple[int, str]]]:
    """The tasks of a CSV (columns ``compte``, optionally ``identifiant_source``
    and ``mot_de_passe``; ``;`` or ``,``), each with ``template``'s server and
    master user; and the rows refused, with their line number and reason."""
    import csv

    text = list(lines)
    try:
        delimiter = csv.Sniffer().sniff(text[0] if text else "compte", delimiters=";,").delimiter
    except csv.Error:  # one column ("compte" alone, with a master user): nothing to sniff
        delimiter = ";"
    reader = csv.DictReader(text, delimiter=delimiter)
    reader.fieldnames = [(n or "").strip().lower() for n in (reader.fieldnames or [])]
    if not any(n in CSV_ACCOUNT for n in reader.fieldnames):
        return [], [(1, "la première ligne doit nommer les colonnes : compte;identifiant_source;mot_de_passe")]
    tasks, refused = [], []
    for number, row in enumerate(reader, start=2):
        name = _column(row, CSV_ACCOUNT)
        if not name:
            continue
        password = _column(row, CSV_PASSWORD)
        if not password and not template.master_user:
            refused.append((number, "ni mot de passe dans le fichier ni utilisateur maître (--master-user)"))
            continue
        try:
            account_id, identifier = find_account(name)
        except TaskError as error:
            refused.append((number, error.message))
            continue
        login = _column(row, CSV_LOGIN) or name
        if password:  # the owner's own password: no master user for this row
            source = replace(template, login=login, password=password, master_user="")
        else:
            source = replace(template, login=login)
        tasks.append(Task(account_id, identifier, source, number, name))
    return tasks, refused


__all__ = [
    "AccountReport", "MigrationSummary", "Options", "Progress", "Source", "SourceError", "Task", "TaskError",
    "account_migrations", "find_account",
    "migrate_account", "migrate_many", "summary", "tasks_from_csv", "total_copied",
]
