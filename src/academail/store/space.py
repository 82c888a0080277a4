"""What takes the space of a mailbox ("Espace utilisé"), read from counters
and indexes only, never by scanning the mailbox on a request:

- use per folder: the mailbox rows' ``messages`` and ``size`` counters;
- the largest messages: the top of each folder's ``(mailbox, size, uid)``
  index (``message_size_sort``), merged — one short index range per folder;
- the largest attachments: the attachment parts of those largest messages,
  from the part map stored at delivery (a big attachment makes a big message,
  so the largest attachments are among the largest messages);

and the action that frees the space for good (``do_destroy``: flagged
\\Deleted and expunged, tombstones left for IMAP clients).

Messages per year and the senders using the most space need every message:
a background job counts them (``do_count_space``, keyset batches of
``COUNT_BATCH`` rows, no long transaction) into ``SpaceSummary``, and the
page shows that count with its date (``read_space_summary``), asking for a
new one when the usage moved by more than ``STALE_SHARE`` or a day passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from academail.mime.parse import Part
from academail.store.errors import MessageNotFound, QuotaExceeded
from academail.store.mailboxes import DISPLAY_NAMES, access_mailbox, list_mailboxes, special_mailbox
from academail.store.messages import (
    Placement,
    access_message,
    do_copy,
    do_expunge,
    do_set_flags,
    do_store,
    prepare_content,
    quota_usage,
    read_raw,
)
from academail.store.models import Flag, Mailbox, Message, SpaceSummary, Usage

LARGEST = 20
ATTACHMENT_SOURCES = 50  # largest messages whose attachments are listed
TOP_SENDERS = 20
COUNT_BATCH = 5000
STALE_SHARE = 0.02  # usage moved by more than 2 %: count again
STALE_AGE = timedelta(days=1)


@dataclass(frozen=True)
class FolderUse:
    mailbox: Mailbox
    label: str
    messages: int
    size: int
    percent: int  # of the account's usage


@dataclass(frozen=True)
class BigMessage:
    mailbox_id: int
    folder: str
    uid: int
    size: int
    subject: str
    sender: str
    date: datetime


@dataclass(frozen=True)
class BigAttachment:
    message: BigMessage
    filename: str
    content_type: str
    size: int  # encoded size in the message


@dataclass(frozen=True)
class SpaceReport:
    used: int
    limit: int
    messages: int
    folders: list[FolderUse]
    largest: list[BigMessage]
    attachments: list[BigAttachment]


def _label(box: Mailbox) -> str:
    return DISPLAY_NAMES.get(box.special_use or "", box.name)


def folder_use(account_id: int) -> list[FolderUse]:
    """Every folder with its counters, the largest first (one query)."""
    used, _limit = quota_usage(account_id)
    boxes = sorted(list_mailboxes(account_id), key=lambda b: (-b.size, b.name.casefold()))
    total = max(used, sum(b.size for b in boxes), 1)
    return [FolderUse(b, _label(b), b.messages, b.size, b.size * 100 // total) for b in boxes]


def largest_messages(account_id: int, *, limit: int = LARGEST, boxes: Sequence[Mailbox] | None = None) -> list[BigMessage]:
    """The ``limit`` largest messages of the account, largest first: the top of
    each folder's size index (``limit`` rows each), merged."""
    boxes = list(boxes) if boxes is not None else list_mailboxes(account_id)
    labels = {b.pk: _label(b) for b in boxes}
    found: list[BigMessage] = []
    for box in boxes:
        if not box.messages:
            continue
        rows = (
            Message.objects.filter(mailbox_id=box.pk)
            .order_by("-size", "-uid")
            .values_list("uid", "size", "internaldate", "content__subject", "content__from_name", "content__from_addr")[:limit]
        )
        for uid, size, date, subject, name, addr in rows:
            found.append(BigMessage(box.pk, labels[box.pk], uid, size, subject, name or addr, date))
    found.sort(key=lambda m: (-m.size, m.mailbox_id, -m.uid))
    return found[:limit]


def _attachments(root: Part) -> list[Part]:
    return [
        p for p in root.walk()
        if not p.children and (p.filename or p.disposition == "attachment") and p.maintype != "multipart"
    ]


def largest_attachments(account_id: int, *, limit: int = LARGEST, sources: Sequence[BigMessage] | None = None) -> list[BigAttachment]:
    """The largest attachments among the ``ATTACHMENT_SOURCES`` largest messages."""
    sources = list(sources) if sources is not None else largest_messages(account_id, limit=ATTACHMENT_SOURCES)
    if not sources:
        return []
    wanted = {(m.mailbox_id, m.uid): m for m in sources}
    structures: dict[tuple[int, int], dict[str, object]] = {}
    by_box: dict[int, list[int]] = {}
    for box_id, uid in wanted:
        by_box.setdefault(box_id, []).append(uid)
    for box_id, uids in by_box.items():
        for uid, structure in Message.objects.filter(mailbox_id=box_id, uid__in=uids).values_list(
            "uid", "content__structure"
        ):
            structures[(box_id, uid)] = structure or {}
    found: list[BigAttachment] = []
    for key, structure in structures.items():
        root_data = structure.get("root")
        if not isinstance(root_data, dict):
            continue
        for part in _attachments(Part.from_dict(root_data)):
            found.append(BigAttachment(wanted[key], part.filename or "", part.content_type, part.size))
    found.sort(key=lambda a: (-a.size, a.message.mailbox_id, -a.message.uid))
    return found[:limit]


def space_report(account_id: int) -> SpaceReport:
    """Everything the "Espace utilisé" page shows, from counters and indexes."""
    used, limit = quota_usage(account_id)
    boxes = list_mailboxes(account_id)
    folders = folder_use(account_id)
    sources = largest_messages(account_id, limit=ATTACHMENT_SOURCES, boxes=boxes)
    return SpaceReport(
        used=used, limit=limit, messages=sum(f.messages for f in folders), folders=folders,
        largest=sources[:LARGEST], attachments=largest_attachments(account_id, sources=sources),
    )


@dataclass(frozen=True)
class YearUse:
    year: int
    messages: int
    size: int


@dataclass(frozen=True)
class SenderUse:
    address: str
    name: str
    messages: int
    size: int


@dataclass(frozen=True)
class SpaceCount:
    """The last count by year and by sender; ``stale``: ask for a new one."""

    computed_at: datetime
    years: list[YearUse]
    senders: list[SenderUse]
    stale: bool


def _moved(then: int, now: int) -> bool:
    return abs(now - then) > max(then, now, 1) * STALE_SHARE


def read_space_summary(account_id: int, *, now: datetime | None = None) -> SpaceCount | None:
    """The account's last count (None: never counted), and whether it is
    stale: a day old, or the usage moved since (one query each)."""
    row = SpaceSummary.objects.filter(account_id=account_id).first()
    if row is None:
        return None
    usage = Usage.objects.filter(account_id=account_id).values_list("messages", "bytes").first() or (0, 0)
    now = now or timezone.now()
    stale = (
        now - row.computed_at > STALE_AGE or _moved(row.messages_at, int(usage[0])) or _moved(row.bytes_at, int(usage[1]))
    )
    return SpaceCount(
        computed_at=row.computed_at,
        years=[YearUse(int(y), int(n), int(b)) for y, n, b in row.years],
        senders=[SenderUse(str(a), str(name), int(n), int(b)) for a, name, n, b in row.senders],
        stale=stale,
    )


def do_count_space(account_id: int, *, now: datetime | None = None) -> SpaceCount:
    """Count the account's messages by year (of INTERNALDATE, in the
    platform's time zone) and by sender address, folder by folder in keyset
    batches on the ``(mailbox, uid)`` index, and keep the result.

    Precondition: none (reads in short queries, one write at the end)."""
    usage_before = Usage.objects.filter(account_id=account_id).values_list("messages", "bytes").first() or (0, 0)
    years: dict[int, _Tally] = {}
    senders: dict[str, _Tally] = {}
    zone = timezone.get_current_timezone()
    for box in list_mailboxes(account_id):
        after = 0
        while True:
            rows = list(
                Message.objects.filter(mailbox_id=box.pk, uid__gt=after)
                .order_by("uid")
                .values_list("uid", "internaldate", "size", "content__from_addr", "content__from_name")[:COUNT_BATCH]
            )
            if not rows:
                break
            for _uid, when, size, address, name in rows:
                years.setdefault(when.astimezone(zone).year, _Tally()).add(size)
                senders.setdefault((address or "").strip().lower(), _Tally(name or "")).add(size)
            after = rows[-1][0]
    count = SpaceCount(
        computed_at=now or timezone.now(),
        years=[YearUse(year, t.messages, t.size) for year, t in sorted(years.items(), reverse=True)],
        senders=[
            SenderUse(address, t.name, t.messages, t.size)
            for address, t in sorted(senders.items(), key=lambda item: (-item[1].size, item[0]))[:TOP_SENDERS]
        ],
        stale=False,
    )
    SpaceSummary.objects.update_or_create(
        account_id=account_id,
        defaults={
            "computed_at": count.computed_at, "messages_at": int(usage_before[0]), "bytes_at": int(usage_before[1]),
            "years": [[y.year, y.messages, y.size] for y in count.years],
            "senders": [[s.address, s.name, s.messages, s.size] for s in count.senders],
        },
    )
    return count


@dataclass
class _Tally:
    name: str = ""
    messages: int = 0
    size: int = 0

    def add(self, size: int) -> None:
        self.messages += 1
        self.size += size


def _by_box(selection: Sequence[tuple[int, int]]) -> dict[int, list[int]]:
    by_box: dict[int, list[int]] = {}
    for box_id, uid in selection:
        by_box.setdefault(box_id, []).append(uid)
    return by_box


def do_destroy(account_id: int, selection: Sequence[tuple[int, int]]) -> int:
    """Delete for good the selected (mailbox id, UID) pairs of the account:
    flagged \\Deleted and expunged folder by folder (RFC 3501 §6.4.3; IMAP
    clients see EXPUNGE / VANISHED, tombstones kept), quota released in the
    same transaction. Returns how many went. Raises MailboxNotFound for a
    folder of another account (nothing changed then).

    Precondition: none (one transaction). Publishes "flags" and "expunge"."""
    by_box = _by_box(selection)
    removed = 0
    with transaction.atomic():
        for box_id, uids in sorted(by_box.items()):
            access_mailbox(account_id, box_id)
            ranges = [(u, u) for u in sorted(set(uids))]
            do_set_flags(account_id, box_id, ranges, mode="add", flags=Flag.DELETED)
            removed += len(do_expunge(account_id, box_id, ranges))
    return removed


def attachment_candidates(
    account_id: int, mailbox_id: int, *, after_uid: int, below_uid: int, received_before: datetime, min_size: int,
    limit: int,
) -> list[int]:
    """UIDs in (after_uid, below_uid) of the folder's messages received
    before ``received_before``, of at least ``min_size`` octets, with
    attachments: where "alléger les anciens messages" may free space. One
    range of the ``(mailbox, uid)`` index, UID order. Raises MailboxNotFound
    for another account's folder."""
    access_mailbox(account_id, mailbox_id)
    return list(
        Message.objects.filter(
            mailbox_id=mailbox_id, uid__gt=after_uid, uid__lt=below_uid, internaldate__lt=received_before,
            size__gte=min_size, content__has_attachments=True,
        ).order_by("uid").values_list("uid", flat=True)[:limit]
    )


def read_message_bytes(account_id: int, mailbox_id: int, uid: int) -> bytes:
    """The bytes a client reads for the account's message; MessageNotFound otherwise."""
    return read_raw(access_message(account_id, mailbox_id, uid))


def do_replace_message(account_id: int, mailbox_id: int, uid: int, raw: bytes) -> int:
    """Put ``raw`` in place of the message (same folder, flags, keywords and
    INTERNALDATE) and return its new UID. IMAP never changes a message under
    its UID (RFC 3501 §2.3.1.1), so the old UID is expunged (tombstone,
    EXPUNGE/VANISHED to clients) and the new bytes appended, in one
    transaction, the expunge first so a nearly full mailbox has room.
    Raises MessageNotFound if the message went meanwhile.

    Precondition: none (writes the blob, then its own transaction).
    Publishes "flags", "expunge" and "exists"."""
    prepared = prepare_content(raw)
    with transaction.atomic():
        access_mailbox(account_id, mailbox_id)
        old = Message.objects.select_for_update().filter(mailbox_id=mailbox_id, uid=uid).values_list(
            "flags", "keywords", "internaldate"
        ).first()
        if old is None:
            raise MessageNotFound("Ce message n'existe pas ou a été supprimé.")
        flags, keywords, internaldate = old
        do_set_flags(account_id, mailbox_id, [(uid, uid)], mode="add", flags=Flag.DELETED)
        do_expunge(account_id, mailbox_id, [(uid, uid)])
        (result,) = do_store(
            prepared, [Placement(account_id, mailbox_id, flags & ~Flag.DELETED, keywords)], internaldate=internaldate
        )
        if isinstance(result, QuotaExceeded):  # smaller bytes cannot exceed it; never leave the message half-done
            raise result
    return int(result.uid)


__all__ = [
    "attachment_candidates", "do_replace_message", "read_message_bytes",
    "BigAttachment", "BigMessage", "FolderUse", "SenderUse", "SpaceCount", "SpaceReport", "YearUse", "do_archive",
    "do_count_space", "do_destroy", "folder_use", "largest_attachments", "largest_messages", "read_space_summary",
    "space_report",
]


def do_archive(account_id: int, selection: Sequence[tuple[int, int]]) -> int:
    """Move the selected (mailbox id, UID) pairs to the account's Archives
    folder (RFC 6851 MOVE semantics, quota unchanged). Returns how many moved.

    Precondition: none (one transaction). Publishes "exists" and "expunge"."""
    by_box = _by_box(selection)
    moved = 0
    with transaction.atomic():
        target = special_mailbox(account_id, "archive")
        for box_id, uids in sorted(by_box.items()):
            access_mailbox(account_id, box_id)
            if box_id != target.pk:
                moved += len(do_copy(account_id, box_id, [(u, u) for u in sorted(set(uids))], target.pk, move=True))
    return moved
