"""Messages: store a new message (deliver, append), copy, move, flags, expunge,
list a page, read the bytes, search. Every change allocates UIDs and MODSEQs under
the mailbox row's lock, keeps the mailbox counters and the quota usage in the
same transaction, and publishes its event on commit.

A message's bytes are its per-delivery ``prefix`` followed by the content blob.
Part offsets in ``Content.structure`` are relative to the blob; add
``len(prefix)`` for offsets in the whole message.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from academail.mime.parse import ParsedMessage, parse_message
from academail.store import search, seen, signals
from academail.store.blobs import blob_store
from academail.store.errors import MailboxNotFound, MessageNotFound, ProtectedMailbox, QuotaExceeded
from academail.store.events import MailEvent, publish_on_commit
from academail.store.mailboxes import access_mailbox, release_messages, special_mailbox
from academail.store.models import Content, Expunged, Flag, Mailbox, Message, SpecialUse, Usage
from academail.store.sortkeys import ThreadKeys, from_key, sender_key, subject_key, thread_keys

# Ranges of UIDs, inclusive; a client's "1:*" arrives as (1, MAX_UID).
UidRanges = Sequence[tuple[int, int]]
MAX_UID = 2**32 - 1
# SQLite nests OR terms; stay well below its expression depth limit (1000).
_RANGES_PER_QUERY = 400


@dataclass(frozen=True)
class ContentRecord:
    """What the store writes for a content, computed from its parse before any
    transaction (``content_record``): the ``store_content`` column values
    (``_CONTENT_VALUES``, JSON already dumped), the Date, what each Message
    row keeps for SORT and THREAD, and the search index rows. Plain values,
    small and picklable: an import's delivery worker process computes it
    next to the parse, so the parse itself never crosses back to the process
    that stores (unpickling a ``ParsedMessage`` cost more than the insert)."""

    sha256: str
    size: int
    values: tuple[Any, ...]  # _CONTENT_VALUES, in that order
    date: datetime | None
    keys: tuple[str, str, ThreadKeys, str]  # sender sort, subject sort, thread keys, from sort
    index: search.IndexRows


@dataclass(frozen=True)
class PreparedContent:
    """A message whose blob is durable and which is parsed, ready to be stored."""

    sha256: str
    size: int
    parsed: ParsedMessage
    index: search.IndexRows | None = None  # its search index rows, if the content turns out to be new

    @functools.cached_property
    def record(self) -> ContentRecord:
        """What ``do_store_many`` writes of it (computed once)."""
        return content_record(self.sha256, self.size, self.parsed, self.index)


def prepare_content(
    raw: bytes, *, parsed: ParsedMessage | None = None, index: search.IndexRows | None = None
) -> PreparedContent:
    """Write the blob (durable on return), parse the message once (``parsed``:
    that parse, when a delivery worker process made it) and fold its search
    index rows (``index``: those of ``parsed``, when the worker folded them).

    Needs no transaction and touches no table: call it from any thread, before
    opening the transaction that stores the message."""
    sha256 = blob_store().put(raw)
    if parsed is None:
        parsed, index = parse_message(raw), None
    return PreparedContent(sha256=sha256, size=len(raw), parsed=parsed,
                           index=search.index_rows(parsed) if index is None else index)


def parse_record(raw: bytes) -> ContentRecord:
    """Parse ``raw`` and compute its ``ContentRecord``, writing nothing: pure
    CPU, so an import runs it in a delivery worker process
    (``delivery.workers``) while its own threads write the blob
    (``blob_store().put``), which must be durable before the record is stored."""
    parsed = parse_message(raw)
    return content_record(hashlib.sha256(raw).hexdigest(), len(raw), parsed, search.index_rows(parsed))


def content_record(sha256: str, size: int, parsed: ParsedMessage, index: search.IndexRows | None = None) -> ContentRecord:
    """The ``ContentRecord`` of a parsed message (``index``: its search index
    rows, when already folded). Needs no database."""
    sender = parsed.from_[0] if parsed.from_ else None
    message_id, in_reply_to, references = _id_fields(parsed)
    values = (
        parsed.subject[:10000],
        (sender.name if sender else "")[:256],
        (sender.addr if sender else "")[:320],
        ", ".join(a.addr for a in parsed.to)[:10000],
        ", ".join(a.addr for a in parsed.cc)[:10000],
        message_id,
        in_reply_to,
        references,
        parsed.preview[:256],
        parsed.has_attachments,
        parsed.thread_key[:64],
        json.dumps({"root": parsed.root.to_dict(), "envelope": parsed.envelope.to_dict()}),
        json.dumps(list(parsed.defects)[:100]),
    )
    return ContentRecord(
        sha256, size, values, parsed.date, _message_keys(parsed),
        index if index is not None else search.index_rows(parsed),
    )


def _id_fields(parsed: ParsedMessage) -> tuple[str, str, str]:
    """The Message-ID, In-Reply-To and References as the content row keeps them."""
    return (parsed.message_id or "")[:998], (parsed.in_reply_to or "")[:998], " ".join(parsed.references)[:20000]


_CONTENT_COLUMNS = (
    "sha256, size, refcount, released_at, date, sent_day, subject, from_name, from_addr, to_text, cc_text,"
    ' message_id, in_reply_to, "references", preview, has_attachments, thread_key, structure, parse_defects,'
    " created_at"
)
# ``ContentRecord.values``: the columns from ``subject`` to ``parse_defects``.
_CONTENT_VALUES = (
    "subject", "from_name", "from_addr", "to_text", "cc_text", "message_id", "in_reply_to", "references",
    "preview", "has_attachments", "thread_key", "structure", "parse_defects",
)
_CONTENT_MARKS = "(%s, %s, %s, NULL, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
_ROWS_PER_INSERT = 200  # rows of one multi-row INSERT: 19 parameters each, far below either engine's limit


def _add_references(cursor: Any, references: dict[str, int]) -> dict[str, int]:
    """``refcount += n`` on the existing rows among ``references`` (sha256 ->
    n), in one statement; returns their ids by sha256."""
    shas = list(references)
    cases = " ".join("WHEN %s THEN %s" for _ in shas)
    marks = ",".join(["%s"] * len(shas))
    cursor.execute(
        f"UPDATE store_content SET refcount = refcount + CASE sha256 {cases} END, released_at = NULL"  # noqa: S608
        f" WHERE sha256 IN ({marks}) RETURNING id, sha256",
        [*(x for sha in shas for x in (sha, references[sha])), *shas],
    )
    return {str(sha): int(pk) for pk, sha in cursor.fetchall()}


def _attach_contents(wanted: Sequence[tuple[ContentRecord, int]]) -> dict[str, int]:
    """The Content id of each content (by sha256), with its ``references``
    more users: the new ones inserted in multi-row INSERTs and indexed
    together, the existing rows counted up in one UPDATE. Precondition:
    inside a transaction.

    Insert first: a delivery's content is nearly always new, so it costs one
    statement on PostgreSQL, the content row and its index rows together
    (``search.pg_index_with``; on SQLite, the INSERT then the index's
    ``executemany``); a known content costs the INSERT that finds it plus
    the count-up. Raw SQL: this runs once per delivery and once per import
    batch, on the hottest path of the platform."""
    references: dict[str, int] = {}
    contents: dict[str, ContentRecord] = {}
    for record, count in wanted:
        references[record.sha256] = references.get(record.sha256, 0) + count
        contents.setdefault(record.sha256, record)
    with connection.cursor() as cursor:
        ids = _insert_contents(cursor, contents, references, list(references))
        known = {sha: n for sha, n in references.items() if sha not in ids}
        if known:
            ids.update(_add_references(cursor, known))
            # A row the collector deleted between the INSERT and the count-up.
            collected = [sha for sha in known if sha not in ids]
            if collected:
                ids.update(_insert_contents(cursor, contents, references, collected))
    return ids


def _insert_contents(
    cursor: Any, contents: dict[str, ContentRecord], references: dict[str, int], shas: Sequence[str],
) -> dict[str, int]:
    """Insert the Content rows of ``shas`` that do not exist yet, with their
    index rows; returns the ids of those inserted, by sha256. ON CONFLICT:
    another transaction (a node, an import) may insert the same content
    meanwhile; it indexes it."""
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    postgres = connection.vendor == "postgresql"
    ids: dict[str, int] = {}
    for start in range(0, len(shas), _ROWS_PER_INSERT):
        chunk = shas[start : start + _ROWS_PER_INSERT]
        values: list[Any] = []
        for sha in chunk:
            record = contents[sha]
            values += [
                sha, record.size, references[sha], ops.adapt_datetimefield_value(record.date),
                ops.adapt_datefield_value(record.date.date() if record.date else None), *record.values, now,
            ]
        insert = (
            f"INSERT INTO store_content ({_CONTENT_COLUMNS}) VALUES {', '.join([_CONTENT_MARKS] * len(chunk))}"  # noqa: S608
            " ON CONFLICT (sha256) DO NOTHING RETURNING id, sha256"
        )
        if postgres:
            index_sql, index_params = search.pg_index_with("created", [(sha, contents[sha].index) for sha in chunk])
            cursor.execute(f"WITH created AS ({insert}){index_sql} SELECT id, sha256 FROM created",  # noqa: S608
                           values + index_params)
            created = {str(sha): int(pk) for pk, sha in cursor.fetchall()}
        else:
            cursor.execute(insert, values)
            created = {str(sha): int(pk) for pk, sha in cursor.fetchall()}
            search.do_index_many([(pk, contents[sha].index) for sha, pk in created.items()])
        ids.update(created)
    return ids


def _quota_room(account_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(used, limit) per account, usage rows locked. Precondition: in a transaction."""
    ids = sorted(set(account_ids))
    marks = ",".join(["%s"] * len(ids))
    lock = " FOR UPDATE OF u" if connection.features.has_select_for_update_of else ""
    with connection.cursor() as cursor:
        sql = (
            "SELECT u.account_id, u.bytes, a.quota_bytes FROM store_usage u"  # noqa: S608 (placeholders only)
            f" JOIN accounts_account a ON a.id = u.account_id WHERE u.account_id IN ({marks})"
            f" ORDER BY u.account_id{lock}"
        )
        cursor.execute(sql, ids)
        found = {int(a): (int(used), int(limit)) for a, used, limit in cursor.fetchall()}
    return {i: found.get(i, (0, 0)) for i in ids}


def fits_quota(used: int, limit: int, size: int) -> bool:
    """A message fits if the mailbox is under quota and stays within the grace."""
    if limit <= 0:
        return True  # 0 means unlimited (service accounts)
    grace = limit * settings.QUOTA_GRACE_PERCENT // 100
    return used < limit and used + size <= limit + grace


QUOTA_FULL_TEXT = "La boîte aux lettres du destinataire est pleine."


@dataclass(frozen=True)
class Placement:
    account_id: int
    mailbox_id: int
    flags: int = 0
    keywords: str = ""
    # This copy's own per-delivery prefix (e.g. the recipient's spam verdict
    # before the shared trace fields); None: the delivery's shared ``prefix``.
    prefix: bytes | None = None


@dataclass(frozen=True)
class StoreRequest:
    """One message to store (``do_store_many``): its prepared content (or only
    its ``ContentRecord``, the blob durable), where it goes, its delivery
    prefix and INTERNALDATE (None: now)."""

    prepared: PreparedContent | ContentRecord
    placements: Sequence[Placement]
    prefix: bytes = b""
    internaldate: datetime | None = None


def do_store(
    prepared: PreparedContent,
    placements: Sequence[Placement],
    *,
    prefix: bytes = b"",
    internaldate: datetime | None = None,
    enforce_quota: bool = True,
) -> list[Message | QuotaExceeded]:
    """Store one message into several mailboxes at once (a delivery to many
    recipients, an append): ``do_store_many`` with one request.

    Returns, in the order of ``placements``, the new Message or the QuotaExceeded
    that kept it out; the others are stored regardless. Preconditions, locks and
    events: ``do_store_many``'s."""
    (results,) = do_store_many(
        [StoreRequest(prepared, placements, prefix, internaldate)], enforce_quota=enforce_quota
    )
    return results


def do_store_many(
    requests: Sequence[StoreRequest], *, enforce_quota: bool = True, stop_when_full: bool = False,
) -> list[list[Message | QuotaExceeded]]:
    """Store several messages (an import batch), each into one or more
    mailboxes: each content and blob once, a Message row per placement, in
    a fixed number of statements whatever the count (the contents counted up
    in one UPDATE and the new ones inserted and indexed together, the
    messages in multi-row INSERTs, one counter update per mailbox and per
    account). The one place where a message enters a mailbox. A request's
    content may be its ``ContentRecord`` alone (an import's, computed in a
    delivery worker process) rather than a ``PreparedContent``.

    Returns, per request and in the order of its placements, the new Message
    or the QuotaExceeded that kept it out; the others are stored regardless,
    unless ``stop_when_full``: from the first refusal on, every later request
    is refused whole (an import stops at the first message that does not
    fit, so its checkpoint stays exact). Requests are counted against the
    quota in order. ``enforce_quota=False`` stores past the quota (the
    platform's own full-mailbox notice, ``store.quota``); the usage still
    counts it. Each mailbox's new messages share one MODSEQ (one change,
    RFC 7162 §3.1.1) and get UIDs in request order.

    Precondition: inside ``transaction.atomic()``; the blobs are already
    durable (``prepare_content``). Locks the usage rows, then the mailbox
    rows involved, each in id order. Publishes "exists" per mailbox on commit."""
    results: list[list[Message | QuotaExceeded]] = [[] for _ in requests]
    accounts = [p.account_id for request in requests for p in request.placements]
    room = _quota_room(accounts) if accounts else {}
    accepted: list[tuple[int, int, Placement, int]] = []  # request, placement index, placement, size
    extra: dict[int, int] = {}  # bytes added per account
    extra_count: dict[int, int] = {}
    refused = False
    for number, request in enumerate(requests):
        for index, placement in enumerate(request.placements):
            size = len(request.prefix if placement.prefix is None else placement.prefix) + request.prepared.size
            used, limit = room[placement.account_id]
            used += extra.get(placement.account_id, 0)
            if (refused and stop_when_full) or (enforce_quota and not fits_quota(used, limit, size)):
                results[number].append(QuotaExceeded(QUOTA_FULL_TEXT))
                refused = True
                continue
            extra[placement.account_id] = extra.get(placement.account_id, 0) + size
            extra_count[placement.account_id] = extra_count.get(placement.account_id, 0) + 1
            accepted.append((number, index, placement, size))
            results[number].append(None)  # type: ignore[arg-type]
    if not accepted:
        return results
    uses: dict[int, int] = {}
    for number, _index, _placement, _size in accepted:
        uses[number] = uses.get(number, 0) + 1
    records = {number: _record(requests[number].prepared) for number in uses}
    content_ids = _attach_contents([(records[number], count) for number, count in uses.items()])
    added: dict[int, list[int]] = {}  # mailbox -> count, unseen, size
    for _number, _index, placement, size in accepted:
        counters = added.setdefault(placement.mailbox_id, [0, 0, 0])
        counters[0] += 1
        counters[1] += 0 if placement.flags & Flag.SEEN else 1
        counters[2] += size
    # One UPDATE ... RETURNING per mailbox allocates its UIDs and MODSEQ and
    # counts the messages: it locks the row as SELECT ... FOR UPDATE would, in
    # one round trip instead of two. Mailboxes in id order: two deliveries
    # never wait on each other in a cycle.
    box_ids = sorted(added)
    owners: dict[int, int] = {}
    first_uid: dict[int, int] = {}
    modseq: dict[int, int] = {}
    with connection.cursor() as cursor:
        for pk in box_ids:
            count, unseen, size = added[pk]
            cursor.execute(
                "UPDATE store_mailbox SET uidnext = uidnext + %s, highestmodseq = highestmodseq + 1,"
                " messages = messages + %s, unseen = unseen + %s, size = size + %s"
                " WHERE id = %s RETURNING account_id, uidnext, highestmodseq",
                [count, count, unseen, size, pk],
            )
            owner, uidnext, highestmodseq = cursor.fetchone()
            owners[pk], first_uid[pk], modseq[pk] = int(owner), int(uidnext) - count, int(highestmodseq)
    next_uid = dict(first_uid)
    saved_at = timezone.now()
    rows: list[tuple[Any, ...]] = []  # MESSAGE_FIELDS after the id
    places: list[tuple[int, int]] = []  # (request, placement index) of each row
    for number, index, placement, size in accepted:
        request = requests[number]
        record = records[number]
        internaldate = request.internaldate or saved_at
        uid = next_uid[placement.mailbox_id]
        next_uid[placement.mailbox_id] = uid + 1
        sender_sort, subject_sort, thread, from_sort = record.keys
        rows.append((
            placement.mailbox_id, uid, modseq[placement.mailbox_id], content_ids[record.sha256],
            request.prefix if placement.prefix is None else placement.prefix, size, internaldate, saved_at,
            placement.flags, placement.keywords, sender_sort, subject_sort,
            record.date or internaldate,  # RFC 5256 §3 DATE
            thread.message_id, thread.reply, thread.references, from_sort,
        ))
        places.append((number, index))
    usage = [(extra[a], extra_count[a], a) for a in sorted(extra)]
    counted = connection.vendor == "postgresql"
    # On PostgreSQL the usage rows (locked by ``_quota_room``) are counted up
    # in the statement that inserts the messages: one round trip fewer.
    inserted = _insert_messages(rows, with_usage=usage if counted else ())
    for (number, index), message in zip(places, inserted, strict=True):
        results[number][index] = message
    if not counted:
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE store_usage SET bytes = bytes + %s, messages = messages + %s WHERE account_id = %s", usage,
            )
    publish_on_commit(
        [
            MailEvent(owners[pk], pk, "exists", modseq[pk], tuple(range(first_uid[pk], next_uid[pk])))
            for pk in box_ids
        ]
    )
    return results


def _record(prepared: PreparedContent | ContentRecord) -> ContentRecord:
    return prepared if isinstance(prepared, ContentRecord) else prepared.record


# store_message's columns in the model's order, the id first: ``Message.from_db``
# builds the objects positionally from them (a test checks the order).
MESSAGE_FIELDS = (
    "id", "mailbox_id", "uid", "modseq", "content_id", "prefix", "size", "internaldate", "saved_at", "flags",
    "keywords", "sender_sort", "subject_sort", "date_sort", "thread_msgid", "thread_reply", "thread_refs",
    "from_sort",
)
_MESSAGE_DATES = frozenset(("internaldate", "saved_at", "date_sort"))


def _insert_messages(
    rows: Sequence[tuple[Any, ...]], *, with_usage: Sequence[tuple[int, int, int]] = (),
) -> list[Message]:
    """Insert Message rows (``MESSAGE_FIELDS`` after the id, Python values)
    in multi-row INSERTs, and return them as saved Messages, in order.
    ``with_usage``: (bytes, messages, account id) added to the accounts'
    usage rows by the first INSERT (PostgreSQL: a data-modifying WITH).

    Raw SQL rather than ``bulk_create``: the ORM's per-field preparation of
    17 columns cost more than the insert itself (bench/README.md, import)."""
    names = MESSAGE_FIELDS[1:]
    dates = [i for i, name in enumerate(names) if name in _MESSAGE_DATES]
    adapt = connection.ops.adapt_datetimefield_value
    marks = "(" + ", ".join(["%s"] * len(names)) + ")"
    columns = ", ".join(connection.ops.quote_name(name) for name in names)
    per_insert = max(1, 3000 // len(names))  # far below either engine's parameter limit
    messages: list[Message] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_insert):
            chunk = rows[start : start + per_insert]
            values: list[Any] = []
            for row in chunk:
                adapted = list(row)
                for i in dates:
                    adapted[i] = adapt(adapted[i])
                values += adapted
            counting = ""
            if with_usage and not start:
                counting = (
                    "WITH counted AS (UPDATE store_usage u"  # noqa: S608 (placeholders only)
                    " SET bytes = u.bytes + v.bytes, messages = u.messages + v.messages"
                    f" FROM (VALUES {', '.join(['(%s::bigint, %s::bigint, %s::bigint)'] * len(with_usage))})"
                    " v (bytes, messages, account_id) WHERE u.account_id = v.account_id) "
                )
                values = [x for row in with_usage for x in row] + values
            cursor.execute(
                f"{counting}INSERT INTO {Message._meta.db_table} ({columns}) VALUES {', '.join([marks] * len(chunk))}"  # noqa: S608
                " RETURNING id, mailbox_id, uid",
                values,
            )
            # Matched by (mailbox, uid), unique, not by the order RETURNING gives.
            ids = {(int(box), int(uid)): int(pk) for pk, box, uid in cursor.fetchall()}
            messages += [
                Message.from_db(connection.alias, MESSAGE_FIELDS, (ids[(row[0], row[1])], *row)) for row in chunk
            ]
    return messages


def _message_keys(parsed: ParsedMessage) -> tuple[str, str, ThreadKeys, str]:
    """What each Message row of a content keeps for SORT and THREAD: the
    sender and subject sort keys, the thread keys and the From sort key."""
    sender_sort, subject_sort = _sort_keys(parsed)
    thread = thread_keys(parsed.subject[:10000], *_id_fields(parsed))
    return sender_sort, subject_sort, thread, from_key(parsed.from_[0].addr[:320] if parsed.from_ else "")


def _sort_keys(parsed: ParsedMessage) -> tuple[str, str]:
    sender = parsed.from_[0] if parsed.from_ else None
    return sender_key(sender.name if sender else "", sender.addr if sender else ""), subject_key(parsed.subject)


def inbox_ids(account_ids: Iterable[int]) -> dict[int, int]:
    """The INBOX mailbox id of each account (one query)."""
    return special_mailbox_ids(account_ids, "inbox")


def special_mailbox_ids(account_ids: Iterable[int], use: str) -> dict[int, int]:
    """The mailbox id of the special folder ``use`` (RFC 6154: "junk",
    "trash"...) of each account that has one (one query)."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    # Raw SQL: twice per delivery (the inboxes, then the junk folders), where
    # compiling the ORM query cost more than running it.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT account_id, id FROM {Mailbox._meta.db_table}"  # noqa: S608 (placeholders only)
            f" WHERE account_id IN ({','.join(['%s'] * len(ids))}) AND special_use = %s",
            [*ids, use],
        )
        return {int(a): int(m) for a, m in cursor.fetchall()}


def do_append(
    account_id: int,
    mailbox_id: int,
    raw: bytes,
    *,
    flags: int = 0,
    keywords: str = "",
    internaldate: datetime | None = None,
) -> Message:
    """APPEND (RFC 3501 §6.3.11), saving a draft or a sent copy: store ``raw``
    in one mailbox of the account. Raises QuotaExceeded (IMAP ``[OVERQUOTA]``).

    Precondition: none (writes the blob, then opens its own transaction).
    ``account_id`` is who acts: the owner, or someone holding "i" on the
    mailbox (``store.acl``); the owner's quota counts it.

    Publishes "exists"."""
    prepared = prepare_content(raw)
    with transaction.atomic():
        box = access_mailbox(account_id, mailbox_id, "i")
        # Per-person \Seen: a member's \Seen at APPEND is theirs, not the team's.
        seen_for = seen.viewer(account_id, box.account_id) if flags & Flag.SEEN else None
        stored = flags & ~Flag.SEEN if seen_for is not None else flags
        (result,) = do_store(
            prepared, [Placement(box.account_id, mailbox_id, stored, keywords)], internaldate=internaldate
        )
        if seen_for is not None and not isinstance(result, QuotaExceeded):
            seen.do_mark(mailbox_id, seen_for, [result.uid], [])
        if not isinstance(result, QuotaExceeded):
            signals.note_use(account_id, box.account_id, mailbox_id, "append", 1)
    if isinstance(result, QuotaExceeded):
        raise result
    return result


def merge_ranges(ranges: UidRanges) -> list[tuple[int, int]]:
    """UID ranges sorted, each as (low, high), overlapping or adjacent ones merged."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted((min(a, b), max(a, b)) for a, b in ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _selections(mailbox_id: int, ranges: UidRanges) -> Iterator[QuerySet[Message]]:
    """Querysets covering the UID ranges, a bounded number of ranges each.

    Single UIDs go in one IN list and every OR arm names the mailbox, so each
    arm is a range of the (mailbox, uid) index: with the mailbox outside the
    OR, SQLite scanned the whole mailbox as soon as a range was mixed with
    single UIDs ("2,5,7:9": 50 ms at 100,000 messages instead of 0.1 ms)."""
    merged = merge_ranges(ranges)
    for start in range(0, len(merged), _RANGES_PER_QUERY):
        chunk = merged[start : start + _RANGES_PER_QUERY]
        singles = [lo for lo, hi in chunk if lo == hi]
        condition = Q(mailbox_id=mailbox_id, uid__in=singles) if singles else Q()
        for lo, hi in chunk:
            if lo != hi:
                condition |= Q(mailbox_id=mailbox_id, uid__gte=lo, uid__lte=hi)
        yield Message.objects.filter(condition)


def _bump_modseq(mailbox_id: int) -> tuple[Mailbox, int]:
    box = Mailbox.objects.select_for_update().get(pk=mailbox_id)
    box.highestmodseq += 1
    Mailbox.objects.filter(pk=mailbox_id).update(highestmodseq=box.highestmodseq)
    return box, box.highestmodseq


@dataclass(frozen=True)
class FlagChange:
    uid: int
    flags: int
    keywords: str
    modseq: int


def do_set_flags(
    account_id: int,
    mailbox_id: int,
    uids: UidRanges,
    *,
    mode: str,
    flags: int = 0,
    keywords: Sequence[str] = (),
    unchanged_since: int | None = None,
) -> list[FlagChange]:
    """STORE (RFC 3501 §6.4.6): ``mode`` is "add", "remove" or "replace". Every
    changed message gets the mailbox's next MODSEQ (RFC 7162 §3.1); with
    ``unchanged_since`` only messages not modified since are touched.
    Returns the changed messages' new state. ``account_id`` is who acts; in
    someone else's mailbox they need the rights of RFC 4314 §4 (``flag_rights``).

    Precondition: none (own transaction). Publishes "flags"."""
    if mode not in {"add", "remove", "replace"}:
        raise ValueError(mode)
    with transaction.atomic():
        owner = access_mailbox(account_id, mailbox_id, flag_rights(mode, flags, keywords)).account_id
        # Per-person \Seen (store.seen): the actor's own "lu" replaces the
        # message's bit in what they see and change; the bit stays the owner's.
        seen_for = seen.viewer(account_id, owner)
        box, modseq = _bump_modseq(mailbox_id)
        changes: list[FlagChange] = []
        unseen_delta = 0
        shared_change = False
        for selection in _selections(mailbox_id, uids):
            if unchanged_since is not None:
                selection = selection.filter(modseq__lte=unchanged_since)
            updates: list[Message] = []
            rows = list(selection.only("pk", "uid", "flags", "keywords").order_by("uid"))
            mine = seen.seen_uids(mailbox_id, seen_for, rows[0].uid, rows[-1].uid) if seen_for and rows else set()
            marked: tuple[list[int], list[int]] = ([], [])
            for message in rows:
                old_flags = message.flags
                if seen_for is not None:
                    old_flags = (old_flags & ~Flag.SEEN) | (Flag.SEEN if message.uid in mine else 0)
                new_flags, new_keywords = _apply(mode, old_flags, message.keywords, flags, keywords)
                if (new_flags, new_keywords) == (old_flags, message.keywords):
                    continue
                if seen_for is not None:
                    if (new_flags ^ old_flags) & Flag.SEEN:
                        marked[0 if new_flags & Flag.SEEN else 1].append(message.uid)
                    stored = (new_flags & ~Flag.SEEN) | (message.flags & Flag.SEEN)
                    shared_change = shared_change or (stored, new_keywords) != (message.flags, message.keywords)
                else:
                    stored, shared_change = new_flags, True
                unseen_delta += _unseen(stored) - _unseen(message.flags)
                message.flags, message.keywords, message.modseq = stored, new_keywords, modseq
                updates.append(message)
                changes.append(FlagChange(message.uid, new_flags, new_keywords, modseq))
            Message.objects.bulk_update(updates, ["flags", "keywords", "modseq"], batch_size=500)
            if seen_for is not None:
                seen.do_mark(mailbox_id, seen_for, *marked)
            if mode != "remove":
                _announce_junk_keywords(owner, updates, keywords)
        if changes:
            Mailbox.objects.filter(pk=mailbox_id).update(unseen=F("unseen") + unseen_delta)
            # A change of one person's own \Seen is news for that person's
            # sessions only (the MODSEQ still moves, for their CONDSTORE sync).
            only = 0 if shared_change else account_id
            publish_on_commit(
                [MailEvent(owner, mailbox_id, "flags", modseq, tuple(c.uid for c in changes), only=only)]
            )
            action = "read" if flags & Flag.SEEN and mode != "remove" else "flag"
            if flags & Flag.DELETED and mode != "remove":
                action = "delete"
            signals.note_use(account_id, owner, mailbox_id, action, len(changes))
        else:
            # Nothing changed: give the MODSEQ back so HIGHESTMODSEQ only moves on change.
            Mailbox.objects.filter(pk=mailbox_id).update(highestmodseq=modseq - 1)
        return changes


def flag_rights(mode: str, flags: int, keywords: Sequence[str]) -> str:
    """The rights a flag change needs (RFC 4314 §4, STORE): "s" for \\Seen,
    "t" for \\Deleted, "w" for any other flag or keyword; a replacement
    touches them all."""
    if mode == "replace":
        return "stw"
    need = ""
    if flags & Flag.SEEN:
        need += "s"
    if flags & Flag.DELETED:
        need += "t"
    if flags & ~(Flag.SEEN | Flag.DELETED) or keywords:
        need += "w"
    return need or "r"


def _announce_junk_keywords(account_id: int, updates: Sequence[Message], keywords: Sequence[str]) -> None:
    """``$Junk`` / ``$NotJunk`` newly set (``store.signals``). Precondition: in
    the flag change's transaction."""
    given = {k.lower() for k in keywords}
    for keyword, spam in ((signals.JUNK_KEYWORD, True), (signals.NOT_JUNK_KEYWORD, False)):
        if keyword.lower() not in given or not updates:
            continue
        chosen = updates[: signals.MAX_SIGNALLED]
        rows = Message.objects.filter(pk__in=[m.pk for m in chosen]).values_list("content__sha256", "prefix")
        signals.send_on_commit(account_id, spam, [(sha, bytes(prefix)) for sha, prefix in rows])


def _unseen(flags: int) -> int:
    return 0 if flags & Flag.SEEN else 1


def _apply(mode: str, old: int, old_keywords: str, flags: int, keywords: Sequence[str]) -> tuple[int, str]:
    current = old_keywords.split()
    if mode == "replace":
        return flags, " ".join(dict.fromkeys(keywords))
    if mode == "add":
        return old | flags, " ".join(dict.fromkeys([*current, *keywords]))
    lowered = {k.lower() for k in keywords}
    return old & ~flags, " ".join(k for k in current if k.lower() not in lowered)


def do_expunge(account_id: int, mailbox_id: int, uids: UidRanges | None = None) -> list[int]:
    """EXPUNGE (RFC 3501 §6.4.3) / UID EXPUNGE (RFC 4315): remove the messages
    flagged \\Deleted (only among ``uids`` if given). Leaves tombstones for
    QRESYNC, releases quota and content references. Returns the expunged UIDs.

    In someone else's mailbox, ``account_id`` needs "e" (RFC 4314 §4).

    Precondition: none (own transaction). Publishes "expunge"."""
    with transaction.atomic():
        owner = access_mailbox(account_id, mailbox_id, "e").account_id
        selections = (
            _selections(mailbox_id, uids)
            if uids is not None
            else iter([Message.objects.filter(mailbox_id=mailbox_id)])
        )
        deleted = [s.filter(flags=F("flags").bitor(Flag.DELETED)) for s in selections]
        removed = _remove(owner, mailbox_id, deleted)
        signals.note_use(account_id, owner, mailbox_id, "expunge", len(removed))
        return removed


def do_expunge_saved_before(account_id: int, mailbox_id: int, saved_before: datetime, *, limit: int = 500) -> list[int]:
    """The retention purge of one batch (``store.retention``): expunge up to
    ``limit`` messages of the mailbox put there before ``saved_before``
    (oldest first, the ``(mailbox, saved_at)`` index), whatever their flags.
    Tombstones for QRESYNC, quota and content references released, as
    ``do_expunge``. Returns the expunged UIDs (empty when none is left).

    Precondition: none (own transaction, or a savepoint in the caller's).
    Publishes "expunge"."""
    with transaction.atomic():
        ids = list(
            Message.objects.filter(mailbox_id=mailbox_id, saved_at__lt=saved_before)
            .order_by("saved_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        return _remove(account_id, mailbox_id, [Message.objects.filter(pk__in=ids)])


def _remove(account_id: int, mailbox_id: int, selections: Sequence[QuerySet[Message]]) -> list[int]:
    """Delete the selected messages of one mailbox of ``account_id`` (its
    owner). Precondition: in a transaction."""
    removed: list[int] = []
    box, modseq = _bump_modseq(mailbox_id)
    totals = {"n": 0, "unseen": 0, "size": 0}
    for selection in selections:
        rows = list(selection.values_list("uid", "flags", "size"))
        if not rows:
            continue
        removed.extend(uid for uid, _, _ in rows)
        totals["n"] += len(rows)
        totals["unseen"] += sum(_unseen(f) for _, f, _ in rows)
        totals["size"] += sum(s for _, _, s in rows)
        Expunged.objects.bulk_create(
            [Expunged(mailbox_id=mailbox_id, uid=uid, modseq=modseq) for uid, _, _ in rows], batch_size=1000
        )
        release_messages(account_id, selection)
    if not removed:
        Mailbox.objects.filter(pk=mailbox_id).update(highestmodseq=modseq - 1)
        return removed
    Mailbox.objects.filter(pk=mailbox_id).update(
        messages=F("messages") - totals["n"],
        unseen=F("unseen") - totals["unseen"],
        size=F("size") - totals["size"],
    )
    removed.sort()
    seen.do_forget(mailbox_id, removed)
    publish_on_commit([MailEvent(account_id, mailbox_id, "expunge", modseq, tuple(removed))])
    return removed


def do_empty_mailbox(account_id: int, mailbox_id: int, *, only_special: tuple[str, ...] = ("trash", "junk")) -> int:
    """Empty Corbeille or Indésirables (nothing else): every message expunged,
    quota released, tombstones left for QRESYNC. Returns how many went.

    Precondition: none (own transaction). Publishes "expunge"."""
    with transaction.atomic():
        box = access_mailbox(account_id, mailbox_id, "te")
        if box.special_use not in only_special:
            raise ProtectedMailbox("Seuls la corbeille et les indésirables peuvent être vidés d'un coup.")
        removed = _remove(box.account_id, mailbox_id, [Message.objects.filter(mailbox_id=mailbox_id)])
        signals.note_use(account_id, box.account_id, mailbox_id, "expunge", len(removed))
        return len(removed)


def do_copy(
    account_id: int, source_id: int, uids: UidRanges, target_id: int, *, move: bool = False,
    to_owner_trash: bool = False,
) -> list[tuple[int, int]]:
    """COPY / MOVE (RFC 3501 §6.4.7, RFC 6851): the messages keep content, flags
    and INTERNALDATE and get new UIDs in the target. Returns (source UID, new UID)
    pairs for COPYUID (RFC 4315). Raises QuotaExceeded for a copy that does not
    fit (a move within one owner's mailbox changes no usage). ``account_id``
    is who acts: in someone else's mailbox they need "r" on the source ("t"
    and "e" too for a move, RFC 6851 §3.3) and "i" on the target (RFC 4314 §4);
    the target's owner's quota counts the copies. ``to_owner_trash``: a
    deletion in a shared folder moves the messages to the Corbeille of the
    folder's owner (``target_id`` must be it), which the actor need not see:
    the owner keeps their safety net.

    Precondition: none (own transaction). Publishes "exists" (and "expunge" for a move)."""
    with transaction.atomic():
        source_owner = access_mailbox(account_id, source_id, "rte" if move else "r").account_id
        if to_owner_trash:
            if not move or special_mailbox(source_owner, "trash").pk != target_id:
                raise MailboxNotFound("Ce dossier n'existe pas ou plus.")
            owner = source_owner
        else:
            owner = access_mailbox(account_id, target_id, "i").account_id
        sources: list[Message] = []
        for selection in _selections(source_id, uids):
            sources.extend(selection.order_by("uid"))
        if not sources:
            return []
        size = sum(m.size for m in sources)
        if not move or source_owner != owner:
            ((used, limit),) = _quota_room([owner]).values()
            if not fits_quota(used, limit, size):
                raise QuotaExceeded("Votre boîte aux lettres est pleine : libérez de la place pour copier ces messages.")
        lock_order = sorted({source_id, target_id})
        list(Mailbox.objects.select_for_update().filter(pk__in=lock_order).order_by("pk"))
        target = Mailbox.objects.get(pk=target_id)
        modseq = target.highestmodseq + 1
        mapping: list[tuple[int, int]] = []
        copies: list[Message] = []
        saved_at = timezone.now()  # a copy or a move is a new save: retention counts from here
        for offset, message in enumerate(sources):
            uid = target.uidnext + offset
            mapping.append((message.uid, uid))
            copies.append(
                Message(
                    mailbox_id=target_id, uid=uid, modseq=modseq, content_id=message.content_id,
                    prefix=message.prefix, size=message.size, internaldate=message.internaldate,
                    saved_at=saved_at, flags=message.flags, keywords=message.keywords,
                    sender_sort=message.sender_sort, subject_sort=message.subject_sort,
                    date_sort=message.date_sort, thread_msgid=message.thread_msgid,
                    thread_reply=message.thread_reply, thread_refs=message.thread_refs,
                    from_sort=message.from_sort,
                )
            )
        Message.objects.bulk_create(copies, batch_size=1000)
        if source_owner == owner:  # the same team: each person's own \Seen follows the message
            seen.do_copy_marks(source_id, target_id, mapping)
        per_content: dict[int, int] = {}
        for message in sources:
            per_content[message.content_id] = per_content.get(message.content_id, 0) + 1
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE store_content SET refcount = refcount + %s, released_at = NULL WHERE id = %s",
                [(n, pk) for pk, n in per_content.items()],
            )
        Mailbox.objects.filter(pk=target_id).update(
            uidnext=target.uidnext + len(sources), highestmodseq=modseq,
            messages=F("messages") + len(sources),
            unseen=F("unseen") + sum(_unseen(m.flags) for m in sources),
            size=F("size") + size,
        )
        Usage.objects.filter(account_id=owner).update(
            bytes=F("bytes") + size, messages=F("messages") + len(sources)
        )
        publish_on_commit(
            [MailEvent(owner, target_id, "exists", modseq, tuple(uid for _, uid in mapping))]
        )
        if source_owner == owner:
            _announce_junk_move(owner, source_id, target_id, sources)
        if move:
            _remove(source_owner, source_id, [Message.objects.filter(pk__in=[m.pk for m in chunk]) for chunk in _chunked(sources, 500)])
        signals.note_use(account_id, source_owner, source_id, "move" if move else "copy", len(sources))
        if owner != source_owner:
            signals.note_use(account_id, owner, target_id, "append", len(sources))
        return mapping


def _announce_junk_move(account_id: int, source_id: int, target_id: int, sources: Sequence[Message]) -> None:
    """Into Indésirables: junk; out of it (not to Corbeille): not junk
    (``store.signals``). Precondition: inside the copy's transaction."""
    uses = dict(Mailbox.objects.filter(pk__in=(source_id, target_id)).values_list("pk", "special_use"))
    into, out_of = uses.get(target_id) == SpecialUse.JUNK, uses.get(source_id) == SpecialUse.JUNK
    if into == out_of or (out_of and uses.get(target_id) == SpecialUse.TRASH):
        return
    chosen = sources[: signals.MAX_SIGNALLED]
    shas = dict(Content.objects.filter(pk__in={m.content_id for m in chosen}).values_list("pk", "sha256"))
    signals.send_on_commit(account_id, into, [(shas[m.content_id], bytes(m.prefix)) for m in chosen])


def _chunked(items: Sequence[Message], size: int) -> Iterator[Sequence[Message]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- reading ---------------------------------------------------------------


def access_message(account_id: int, mailbox_id: int, uid: int, need: str = "") -> Message:
    """The message, if its mailbox belongs to ``account_id``; else MessageNotFound.
    With ``need``, also in someone else's mailbox where ``account_id`` holds
    those rights (``store.acl``)."""
    if need:
        try:
            access_mailbox(account_id, mailbox_id, need)
            return Message.objects.select_related("content", "mailbox").get(mailbox_id=mailbox_id, uid=uid)
        except (MailboxNotFound, Message.DoesNotExist):
            raise MessageNotFound("Ce message n'existe pas ou a été supprimé.") from None
    try:
        return Message.objects.select_related("content", "mailbox").get(
            mailbox_id=mailbox_id, uid=uid, mailbox__account_id=account_id
        )
    except Message.DoesNotExist:
        raise MessageNotFound("Ce message n'existe pas ou a été supprimé.") from None


def read_raw(message: Message) -> bytes:
    """The bytes a client sees: the delivery prefix, then the blob unchanged."""
    return bytes(message.prefix) + blob_store().get(message.content.sha256)


def page_messages(mailbox: Mailbox, *, before_uid: int | None = None, limit: int = 50) -> list[Message]:
    """The newest ``limit`` messages below ``before_uid`` (keyset pagination on the
    (mailbox, uid) index: the same cost on page 1 and page 2,000)."""
    rows = Message.objects.filter(mailbox=mailbox).select_related("content")
    if before_uid is not None:
        rows = rows.filter(uid__lt=before_uid)
    return list(rows.order_by("-uid")[:limit])


@dataclass(frozen=True)
class Criteria:
    """An advanced search: every given field must match (AND).

    ``words`` go through the full-text index (headers and text of the message);
    ``sender`` and ``subject`` are matched inside the folded sort keys (accents
    and case ignored, "Re:" prefixes gone), ``recipient`` inside To and Cc (case
    ignored); ``since``/``until`` bound the arrival date (``until`` excluded)."""

    words: str = ""
    sender: str = ""
    recipient: str = ""
    subject: str = ""
    since: datetime | None = None
    until: datetime | None = None
    with_attachments: bool = False
    mailbox_id: int | None = None

    @property
    def empty(self) -> bool:
        return not (
            search.terms(self.words) or self.sender.strip() or self.recipient.strip() or self.subject.strip()
            or self.since or self.until or self.with_attachments
        )


def _contains(value: str) -> str:
    """A LIKE pattern for "contains ``value``" (escape character backslash)."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_messages(
    account_id: int,
    query: str | Criteria,
    *,
    mailbox_id: int | None = None,
    mailbox_ids: Sequence[int] | None = None,
    before_id: int | None = None,
    limit: int = 50,
    related: Sequence[str] = (),
) -> list[Message]:
    """Full-text or advanced search over an account (or one of its mailboxes),
    newest first. Keyset-paginated on Message.id (``before_id``); accents and
    case ignored. Empty criteria find nothing. ``mailbox_ids``: only those
    folders (the ones someone else may read of a shared mailbox). ``related``:
    what to load with each message in the same query (``select_related``), so
    that a caller showing them reads each row once. No COUNT: a page asks for
    one more than it shows to know whether there is a next one."""
    criteria = query if isinstance(query, Criteria) else Criteria(words=query)
    if criteria.empty:
        return []
    mailbox_id = criteria.mailbox_id if criteria.mailbox_id is not None else mailbox_id
    scope, boxes = _scope(account_id, mailbox_id)
    # A small scope is read from its own rows, each document tested (the probe
    # form, search.match_sql): SQLite's CROSS JOIN keeps its planner from
    # scanning every message by id for the ORDER BY and testing the account on
    # each; PostgreSQL's planner weighs the scope by its statistics.
    join = "CROSS JOIN" if search.probes(scope) and connection.vendor == "sqlite" else "JOIN"
    sql = [f"SELECT m.id FROM store_mailbox b {join} store_message m ON b.id = m.mailbox_id"]  # noqa: S608 (fixed names)
    where: list[str] = ["b.account_id = %s"]
    args: list[object] = [account_id]
    condition = search.match_sql(criteria.words, scope_messages=scope)
    # PostgreSQL's probe: the scope's rows first, behind a fence, then each
    # one's document tested. Left to itself, the planner walked every message
    # backwards by id for ORDER BY ... LIMIT and ran the per-row test on each
    # (11 s beside 2,000,000 messages of others, bench/search_partition.py).
    fenced = condition is not None and search.probes(scope) and connection.vendor == "postgresql"
    if fenced:
        sql[0] = sql[0].replace("SELECT m.id FROM", "SELECT m.id, m.content_id FROM", 1)
        # The scope's mailboxes by id too: the planner then estimates their rows
        # from each id's statistics rather than from the average mailbox.
        where.append(f"m.mailbox_id IN ({','.join(['%s'] * len(boxes))})" if boxes else "1=0")
        args.extend(boxes)
    elif condition is not None:
        where.append(condition[0])
        args.extend(condition[1])
    if criteria.sender.strip() or criteria.recipient.strip() or criteria.with_attachments:
        sql.append("JOIN store_content c ON c.id = m.content_id")
    if criteria.sender.strip():
        # The sort key is the display name when there is one: the address too.
        where.append("(m.sender_sort LIKE %s ESCAPE '\\' OR LOWER(c.from_addr) LIKE %s ESCAPE '\\')")
        args.extend([_contains(search.fold(criteria.sender.strip())), _contains(criteria.sender.strip().lower())])
    if criteria.subject.strip():
        where.append("m.subject_sort LIKE %s ESCAPE '\\'")
        args.append(_contains(search.fold(criteria.subject.strip())))
    if criteria.recipient.strip():
        where.append("(LOWER(c.to_text) LIKE %s ESCAPE '\\' OR LOWER(c.cc_text) LIKE %s ESCAPE '\\')")
        pattern = _contains(criteria.recipient.strip().lower())
        args.extend([pattern, pattern])
    if criteria.with_attachments:
        where.append("c.has_attachments = %s")
        args.append(True)
    if criteria.since is not None:
        where.append("m.internaldate >= %s")
        args.append(criteria.since)
    if criteria.until is not None:
        where.append("m.internaldate < %s")
        args.append(criteria.until)
    # Which messages are looked at (the scope's own rows, below the page's start).
    bounds: list[str] = ["b.account_id = %s"]
    bound_args: list[object] = [account_id]
    if mailbox_id is not None:
        bounds.append("m.mailbox_id = %s")
        bound_args.append(mailbox_id)
    if mailbox_ids is not None:
        if not mailbox_ids:
            return []
        bounds.append(f"m.mailbox_id IN ({', '.join(['%s'] * len(mailbox_ids))})")
        bound_args.extend(mailbox_ids)
    if before_id is not None:
        bounds.append("m.id < %s")
        bound_args.append(before_id)
    where += bounds[1:]
    args += bound_args[1:]
    sql.append("WHERE " + " AND ".join(where))
    if fenced and condition is not None:
        sql = [f"WITH scope AS MATERIALIZED ({' '.join(sql)}) SELECT m.id FROM scope m WHERE {condition[0]}"]  # noqa: S608 (fixed text)
        args.extend(condition[1])
    if join == "CROSS JOIN" and condition is not None:
        ids = _probe_newest_first(" ".join(sql), args, " AND ".join(bounds), bound_args, limit)
    else:
        sql.append("ORDER BY m.id DESC LIMIT %s")
        args.append(limit)
        with connection.cursor() as cursor:
            cursor.execute(" ".join(sql), args)
            ids = [row[0] for row in cursor.fetchall()]
    found = Message.objects.select_related(*related).in_bulk(ids)
    return [found[i] for i in ids if i in found]


# The first window of SQLite's probe search (``_probe_newest_first``): enough
# for a page of a common word; each next window is four times the last.
PROBE_WINDOW = 200


def _probe_newest_first(sql: str, args: list[object], bounds: str, bound_args: list[object], limit: int) -> list[int]:
    """SQLite's probe search (``search.match_sql``'s per-document test, a
    Python function) tested only as far down the scope as a page needs.

    In one statement SQLite tests every message of the scope, then sorts by
    id and keeps ``limit``: the whole mailbox paid for the 50 newest matches
    (8 µs a message: 8 ms at 1,000 messages, 160 ms at 20,000; issue 20). So
    the scope is read newest first by windows (``bounds``: its conditions, an
    index-only walk of each mailbox's (mailbox, uid) index, whose entries hold
    the id), and ``sql`` (the search, conditions included) runs on each
    window's id range until ``limit`` ids are found: a common word tests
    about one window; a rare one tests the scope once, over a few windows."""
    window_sql = (
        "SELECT m.id FROM store_mailbox b CROSS JOIN store_message m ON b.id = m.mailbox_id"  # noqa: S608 (fixed text)
        f" WHERE {bounds} AND m.id < %s ORDER BY m.id DESC LIMIT %s"
    )
    found: list[int] = []
    below, size = 2**63 - 1, PROBE_WINDOW  # SQLite's largest rowid: no bound yet
    with connection.cursor() as cursor:
        while len(found) < limit:
            cursor.execute(window_sql, [*bound_args, below, size])
            window = [row[0] for row in cursor.fetchall()]
            if not window:
                break
            cursor.execute(f"{sql} AND m.id >= %s AND m.id < %s ORDER BY m.id DESC LIMIT %s",
                           [*args, window[-1], below, limit - len(found)])
            found += [row[0] for row in cursor.fetchall()]
            if len(window) < size:
                break
            below, size = window[-1], size * 4
    return found


def _scope(account_id: int, mailbox_id: int | None) -> tuple[int, list[int]]:
    """How many messages a search of the account (or of one of its mailboxes)
    looks at, from the counters kept with each change, and those mailboxes' ids."""
    boxes = Mailbox.objects.filter(account_id=account_id)
    if mailbox_id is not None:
        boxes = boxes.filter(id=mailbox_id)
    rows = list(boxes.values_list("id", "messages"))
    return sum(int(n) for _, n in rows), [int(i) for i, _ in rows]


def quota_usage(account_id: int) -> tuple[int, int]:
    """(bytes used, quota in bytes) of an account, in one query."""
    row = (
        Usage.objects.filter(account_id=account_id).values_list("bytes", "account__quota_bytes").first()
    )
    return (int(row[0]), int(row[1])) if row else (0, 0)



def quota_usages(account_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """``quota_usage`` for many accounts in one query: {account id: (bytes used,
    quota in bytes)}. An account without a Usage row is absent; read it as
    (0, 0), as ``quota_usage`` does."""
    ids = set(account_ids)
    if not ids:
        return {}
    return {
        account_id: (int(used), int(limit))
        for account_id, used, limit in Usage.objects.filter(account_id__in=ids).values_list(
            "account_id", "bytes", "account__quota_bytes"
        )
    }


def recount_usage(account_id: int) -> tuple[int, int]:
    """Recompute an account's usage from its messages (repair tool)."""
    totals = Message.objects.filter(mailbox__account_id=account_id).aggregate(n=Count("id"), size=Sum("size"))
    with transaction.atomic():
        Usage.objects.update_or_create(
            account_id=account_id, defaults={"bytes": totals["size"] or 0, "messages": totals["n"]}
        )
    return totals["size"] or 0, totals["n"]


def read_columns(
    mailbox_id: int, columns: Sequence[str], *, after_uid: int, below_uid: int, limit: int
) -> list[tuple[Any, ...]]:
    """``columns`` (Message fields, ``content__...`` for its content) of the
    messages of ``mailbox_id`` with ``after_uid < uid < below_uid``, by UID, at
    most ``limit``: a keyset batch on the (mailbox, uid) index for jobs that
    walk a whole folder (filters applied to existing mail). The caller has
    checked that the mailbox is the account's."""
    rows = (
        Message.objects.filter(mailbox_id=mailbox_id, uid__gt=after_uid, uid__lt=below_uid)
        .order_by("uid")
        .values_list(*columns)[:limit]
    )
    return [tuple(row) for row in rows]



__all__ = [
    "Flag", "FlagChange", "MAX_UID", "Message", "Placement", "PreparedContent", "StoreRequest", "access_message",
    "do_append", "do_copy", "do_expunge", "do_expunge_saved_before", "do_set_flags", "do_store", "do_store_many",
    "fits_quota", "inbox_ids",
    "page_messages", "prepare_content", "quota_usage", "quota_usages", "read_columns", "read_raw", "recount_usage",
    "search_messages", "special_mailbox",
]


# --- one content in every mailbox (protection's phishing campaigns) --------------

MAX_CAMPAIGN_CONTENTS = 1000


def find_contents(*, sha256s: Sequence[str] = (), from_addr: str = "", subject: str = "") -> list[int]:
    """Ids of the stored contents with one of ``sha256s``, or with both this
    From address and this exact subject (a campaign whose copies differ by a
    tracking token), at most ``MAX_CAMPAIGN_CONTENTS``."""
    condition = Q(sha256__in=list(sha256s)[:MAX_CAMPAIGN_CONTENTS])
    if from_addr and subject:
        condition |= Q(from_addr=from_addr[:320], subject=subject)
    return list(Content.objects.filter(condition, refcount__gt=0).values_list("pk", flat=True)[:MAX_CAMPAIGN_CONTENTS])


def holders(content_ids: Sequence[int]) -> dict[int, int]:
    """Messages holding these contents, per account (one query, over the
    (content, mailbox) index)."""
    if not content_ids:
        return {}
    rows = (
        Message.objects.filter(content_id__in=list(content_ids))
        .values("mailbox__account_id")
        .annotate(n=Count("pk"))
        .values_list("mailbox__account_id", "n")
    )
    return {int(account_id): int(n) for account_id, n in rows}


def do_remove_contents(content_ids: Sequence[int]) -> dict[int, int]:
    """Remove every message holding these contents, in every mailbox of every
    account (a phishing campaign pulled by the security team); returns how many
    went per account. Quota released, tombstones left for QRESYNC, as EXPUNGE.

    Precondition: none (one transaction per mailbox). Publishes "expunge"."""
    if not content_ids:
        return {}
    removed: dict[int, int] = {}
    boxes = (
        Message.objects.filter(content_id__in=list(content_ids))
        .values_list("mailbox_id", "mailbox__account_id")
        .distinct()
    )
    for mailbox_id, account_id in list(boxes):
        with transaction.atomic():
            gone = _remove(
                account_id, mailbox_id,
                [Message.objects.filter(mailbox_id=mailbox_id, content_id__in=list(content_ids))],
            )
        if gone:
            removed[account_id] = removed.get(account_id, 0) + len(gone)
    return removed


# --- contents kept outside any mailbox (a list's archive) -------------------------------


def do_hold_content(prepared: PreparedContent) -> int:
    """Count one more holder of ``prepared``'s content that is not a message
    (a distribution list's archive, ``lists``): the row is created if new and
    the blob stays while the holder lasts (``store.gc`` collects at zero).
    Returns the content id for ``do_release_content``.
    Precondition: inside a transaction; the blob is already durable."""
    return _attach_contents([(prepared.record, 1)])[prepared.sha256]


def do_release_content(content_id: int) -> None:
    """The holder of ``do_hold_content`` is gone: one reference less; at zero
    the content is collected after the grace period. Precondition: inside a
    transaction."""
    touched = Content.objects.filter(pk=content_id)
    touched.update(refcount=F("refcount") - 1)
    touched.filter(refcount__lte=0).update(released_at=timezone.now())
