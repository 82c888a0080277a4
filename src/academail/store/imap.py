"""Read-side and IMAP-specific store functions: mailbox snapshots for SELECT and
STATUS, the rows a FETCH needs (only the columns asked for), resynchronisation
after events (new UIDs, flag changes by MODSEQ, expunge tombstones), QRESYNC
VANISHED, and SEARCH compiled to one SQL query over flags, dates, sizes, UIDs,
cached header fields and the full-text index (never a loop over blobs).

Functions here are synchronous and run ORM queries; the IMAP server calls them
off the event loop. Writes go through ``store.messages`` and ``store.mailboxes``;
the wrappers below only resolve names to ids and return plain dataclasses, so
protocol code never holds a model instance.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from array import array
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from academail.mime.headers import decode_words, split_header
from academail.store import acl, search, seen, sortkeys, threadindex
from academail.store.blobs import blob_store
from academail.store.errors import InvalidMailboxName, MailboxNotFound
from academail.store.mailboxes import (
    SEPARATOR,
    access_mailbox,
    access_mailbox_by_name,
    check_mailbox_name,
    do_create_mailbox,
    do_delete_mailbox,
    do_rename_mailbox,
    do_subscribe,
    do_unsubscribe,
    list_mailboxes,
    subscribed_names,
)
from academail.store.messages import UidRanges, do_append, do_copy, merge_ranges
from academail.store.models import Content, Expunged, Flag, Mailbox, Message
from academail.store.tombstones import missing_uids

# SQLite nests OR terms; stay well below its expression depth limit.
MAX_SEARCH_RANGES = 300


@dataclass(frozen=True)
class MailboxInfo:
    id: int
    name: str
    special_use: str | None
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    messages: int
    unseen: int
    size: int
    # Someone else's folder (shared namespace, RFC 2342 §5): its owner and the
    # session's rights there (RFC 4314); for one's own, the owner's rights.
    owner_id: int = 0
    rights: str = acl.OWNER_RIGHTS
    # Whose \Seen the session sees there: its own account when the owner keeps
    # \Seen per person (``store.seen``), else None (the message's flag).
    seen_for: int | None = None

    @property
    def shared(self) -> bool:
        return self.name.startswith(acl.SHARED_PREFIX + acl.SEPARATOR)


def _info(
    box: Mailbox, name: str | None = None, rights: str = acl.OWNER_RIGHTS, *,
    seen_for: int | None = None, unseen: int | None = None,
) -> MailboxInfo:
    return MailboxInfo(
        id=box.pk, name=name or box.name, special_use=box.special_use, uidvalidity=box.uidvalidity,
        uidnext=box.uidnext, highestmodseq=box.highestmodseq, messages=box.messages,
        unseen=box.unseen if unseen is None else unseen, size=box.size, owner_id=box.account_id, rights=rights,
        seen_for=seen_for,
    )


def _lookup(account_id: int, name: str, need: str) -> MailboxInfo:
    """One's own mailbox ``name``, or a shared-namespace name where the
    account holds ``need`` (``store.acl``); MailboxNotFound / NoPermission."""
    if acl.split_shared_name(name) is not None:
        box, rights = acl.access_shared_by_name(account_id, name, need)
        seen_for = seen.viewer(account_id, box.account_id)
        unseen = seen.unseen_counts(account_id, [box]).get(box.pk) if seen_for is not None else None
        return _info(box, acl.shared_name(box.account.address, box.name), rights, seen_for=seen_for, unseen=unseen)
    return _info(access_mailbox_by_name(account_id, name))


# --- mailboxes -----------------------------------------------------------------------


def list_mailbox_infos(account_id: int) -> list[MailboxInfo]:
    """Every mailbox of the account with its counters (one query)."""
    return [_info(b) for b in list_mailboxes(account_id)]


def subscription_names(account_id: int) -> set[str]:
    """The subscription list, names of deleted mailboxes included (RFC 3501 §6.3.6)."""
    return subscribed_names(account_id)


def list_shared_infos(account_id: int) -> list[MailboxInfo]:
    """Every folder of others the account may see, named in the shared
    namespace, with its counters and the account's rights (two queries)."""
    shared = acl.visible_shared(account_id)
    unseen = seen.unseen_counts(account_id, [s.mailbox for s in shared])
    return [
        _info(s.mailbox, s.name, s.rights, seen_for=account_id if s.mailbox.pk in unseen else None,
              unseen=unseen.get(s.mailbox.pk))
        for s in shared
    ]


def mailbox_info(account_id: int, name: str, need: str = "r") -> MailboxInfo:
    """The mailbox named ``name`` (INBOX case-insensitive), one's own or a
    shared one where the account holds ``need``; MailboxNotFound otherwise."""
    return _lookup(account_id, name, need)


def quota_root_of(info: MailboxInfo) -> str:
    """The quota root of a mailbox (RFC 9208 §3): "" for the account's own,
    ``Partagés/<owner's address>`` for a shared one (the owner's quota)."""
    if not info.shared:
        return ""
    return acl.SEPARATOR.join(info.name.split(acl.SEPARATOR)[:2])


def quota_root_owner(account_id: int, root: str) -> int | None:
    """The account whose quota ``root`` names, if ``account_id`` may see it:
    its own for "", an owner it sees some folders of for
    ``Partagés/<address>``; None otherwise (one query)."""
    if root == "":
        return account_id
    prefix, _, address = root.partition(acl.SEPARATOR)
    if prefix.casefold() != acl.SHARED_PREFIX.casefold() or not address or acl.SEPARATOR in address:
        return None
    return acl.shared_owner(account_id, address)


def rights_on(account_id: int, mailbox_id: int) -> str:
    """The account's rights on a mailbox now ("" when it may not see it):
    IMAP asks before each command on a shared mailbox, so a member removed
    while selected loses access at the next command."""
    box = Mailbox.objects.filter(pk=mailbox_id).first()
    if box is None:
        return ""
    rights = acl.rights_of(account_id, box)
    return rights if ("l" in rights or "r" in rights) else ""


def _shared_target(account_id: int, name: str) -> tuple[int, str] | None:
    """(owner, folder) of a shared-namespace name whose owner the account
    sees; None for a personal name. An unseen or unknown owner is refused as
    any name under "Partagés" is (InvalidMailboxName): no leak (RFC 4314 §6)."""
    parts = acl.split_shared_name(name)
    if parts is None:
        return None
    owner_id = acl.shared_owner(account_id, parts[0])
    if owner_id is None or owner_id == account_id:
        check_mailbox_name(name)  # raises: "Partagés" is no folder of one's own
        raise MailboxNotFound(f"Le dossier « {name} » n'existe pas.")
    return owner_id, check_mailbox_name(parts[1])


def create_mailbox(account_id: int, name: str) -> MailboxInfo:
    """CREATE: in one's own mailbox, or under ``Partagés/<owner>/`` with "k"
    on the nearest existing parent (RFC 4314 §4); the new folders inherit the
    parent's folder grants. NoPermission without the right."""
    target = _shared_target(account_id, name)
    if target is None:
        return _info(do_create_mailbox(account_id, name))
    owner_id, folder = target
    with transaction.atomic():
        parent = acl.check_create_in(account_id, owner_id, folder)
        box = do_create_mailbox(owner_id, folder)
        parts = folder.split(SEPARATOR)
        depth = parent.name.count(SEPARATOR) + 1 if parent is not None else 0
        acl.do_inherit(parent, owner_id, [SEPARATOR.join(parts[:d]) for d in range(depth + 1, len(parts) + 1)])
    return _info(box, acl.shared_name(box.account.address, box.name), acl.rights_of(account_id, box))


def rename_mailbox(account_id: int, name: str, new_name: str) -> MailboxInfo:
    """RENAME: within one's own mailbox, or within one owner's shared folders
    with "x" on the folder (and its sub-folders) and "k" on the new name's
    parent (RFC 4314 §4). A folder never changes owner: renaming between
    namespaces is InvalidMailboxName (IMAP ``[CANNOT]``)."""
    source, target = acl.split_shared_name(name), acl.split_shared_name(new_name)
    if source is None and target is None:
        box = access_mailbox_by_name(account_id, name)
        return _info(do_rename_mailbox(account_id, box.pk, new_name))
    box = access_mailbox_by_name(account_id, name, "l") if source is not None else access_mailbox_by_name(account_id, name)
    destination = _shared_target(account_id, new_name) if target is not None else None
    if destination is None or destination[0] != box.account_id:
        raise InvalidMailboxName("Un dossier ne peut pas changer de propriétaire : copiez ses messages à la place.")
    owner_id, folder = destination
    with transaction.atomic():
        acl.check_remove(account_id, box)
        parent = acl.check_create_in(account_id, owner_id, folder)
        renamed = do_rename_mailbox(owner_id, box.pk, folder)
        if parent is not None and (box.parent_id is None or parent.pk != box.parent_id):
            parts = folder.split(SEPARATOR)
            depth = parent.name.count(SEPARATOR) + 1
            acl.do_inherit(parent, owner_id, [SEPARATOR.join(parts[:d]) for d in range(depth + 1, len(parts))])
    return _info(renamed, acl.shared_name(renamed.account.address, renamed.name), acl.rights_of(account_id, renamed))


def delete_mailbox(account_id: int, name: str) -> None:
    """DELETE: one's own folder, or a shared one with "x" on it and on its
    sub-folders (RFC 4314 §4). Special folders stay (ProtectedMailbox)."""
    if acl.split_shared_name(name) is None:
        box = access_mailbox_by_name(account_id, name)
        do_delete_mailbox(account_id, box.pk)
        return
    box = access_mailbox_by_name(account_id, name, "l")
    with transaction.atomic():
        acl.check_remove(account_id, box)
        do_delete_mailbox(box.account_id, box.pk)


def subscribe_mailbox(account_id: int, name: str, subscribed: bool) -> None:
    """SUBSCRIBE (MailboxNotFound for a missing mailbox) or UNSUBSCRIBE (any name)."""
    if subscribed:
        do_subscribe(account_id, name)
    else:
        do_unsubscribe(account_id, name)


@dataclass(frozen=True)
class Snapshot:
    """What SELECT needs: the mailbox row and its UIDs in order, read in one
    transaction so that counts and UIDs agree (RFC 3501 §6.3.1)."""

    info: MailboxInfo
    uids: array[int]
    first_unseen: int | None  # sequence number
    keywords: tuple[str, ...] = ()  # keywords set on some message, for FLAGS (RFC 3501 §7.2.6)
    recent: tuple[int, int] = (0, 0)  # UIDs [first, end) not seen by any session yet


def select_snapshot(account_id: int, name: str) -> Snapshot:
    """SELECT / EXAMINE: needs "r" on a shared mailbox (RFC 4314 §4).
    ``recent`` is what no session has seen yet, looked at, not taken (a
    read-write session then calls ``claim_recent``)."""
    with transaction.atomic():
        looked = _lookup(account_id, name, "r")
        box = Mailbox.objects.get(pk=looked.id)
        recent = (box.first_recent_uid, box.uidnext)
        uids = array("I", Message.objects.filter(mailbox_id=box.pk).order_by("uid").values_list("uid", flat=True))
        unseen_uid = (
            Message.objects.filter(mailbox_id=box.pk)
            .annotate(seen=seen.flags_expression(looked.seen_for).bitand(Flag.SEEN))
            .filter(seen=0)
            .order_by("uid")
            .values_list("uid", flat=True)
            .first()
        )
        info = _info(
            box, looked.name, looked.rights, seen_for=looked.seen_for,
            unseen=looked.unseen if looked.seen_for is not None else None,
        )
        keywords = keywords_in_use(box.pk)
    first_unseen = None
    if unseen_uid is not None:
        first_unseen = bisect_left(uids, unseen_uid) + 1
    return Snapshot(info, uids, first_unseen, keywords, recent)


def _claim(mailbox_id: int, first: int, end: int) -> tuple[int, int]:
    # Conditional on the value read: when two sessions race, one claims.
    if first >= end:
        return (0, 0)
    won = Mailbox.objects.filter(pk=mailbox_id, first_recent_uid=first).update(first_recent_uid=end)
    return (first, end) if won else (0, 0)


def claim_recent(mailbox_id: int) -> tuple[int, int]:
    """RFC 3501 §2.3.2: the UIDs [first, end) that arrived since any session
    last looked become \\Recent for the calling session alone ((0, 0): none).
    No MODSEQ change: \\Recent is session state, not a stored flag."""
    row = Mailbox.objects.filter(pk=mailbox_id).values_list("first_recent_uid", "uidnext").first()
    return _claim(mailbox_id, *row) if row is not None else (0, 0)


def recent_count(mailbox_id: int) -> int:
    """STATUS RECENT: messages no session has seen yet (one index range)."""
    first = Mailbox.objects.filter(pk=mailbox_id).values_list("first_recent_uid", flat=True).first()
    if first is None:
        return 0
    return Message.objects.filter(mailbox_id=mailbox_id, uid__gte=first).count()


def keywords_in_use(mailbox_id: int) -> tuple[str, ...]:
    """The keywords set on at least one message of the mailbox, sorted: the
    database returns each distinct keyword list once (few, whatever the size
    of the mailbox)."""
    lists = (
        Message.objects.filter(mailbox_id=mailbox_id).exclude(keywords="")
        .order_by().values_list("keywords", flat=True).distinct()
    )
    return tuple(sorted({word for text in lists for word in text.split()}))


# --- resynchronisation ----------------------------------------------------------------


@dataclass(frozen=True)
class FlagRow:
    uid: int
    flags: int
    keywords: str
    modseq: int


@dataclass(frozen=True)
class Changes:
    """What changed in a mailbox since a session last looked (RFC 7162 §3.1)."""

    highestmodseq: int
    uidnext: int
    new_uids: list[int]
    changed: list[FlagRow]
    expunged: list[int]


def changes_since(
    account_id: int, mailbox_id: int, modseq: int, last_uid: int, seen_for: int | None = None,
) -> Changes:
    """New messages above ``last_uid``, messages whose MODSEQ passed ``modseq``
    and UIDs expunged since ``modseq``. The mailbox row is read first: whatever
    commits later has a higher MODSEQ and is seen on the next call, so nothing is
    missed (at worst a change is reported twice). Raises MailboxNotFound if the
    mailbox went away. ``seen_for``: whose \\Seen the flags show."""
    box = access_mailbox(account_id, mailbox_id, "r")
    new_uids = list(
        Message.objects.filter(mailbox_id=mailbox_id, uid__gt=last_uid).order_by("uid").values_list("uid", flat=True)
    )
    changed = [
        FlagRow(*row)
        for row in Message.objects.filter(mailbox_id=mailbox_id, modseq__gt=modseq, uid__lte=last_uid)
        .annotate(seen_flags=seen.flags_expression(seen_for))
        .order_by("uid")
        .values_list("uid", "seen_flags", "keywords", "modseq")
    ]
    if modseq < box.tombstones_purged_modseq:  # tombstones purged (store.tombstones)
        expunged = missing_uids(mailbox_id, [(1, last_uid)]) if last_uid > 0 else []
    else:
        expunged = list(
            Expunged.objects.filter(mailbox_id=mailbox_id, modseq__gt=modseq, uid__lte=last_uid)
            .order_by("uid")
            .values_list("uid", flat=True)
        )
    return Changes(box.highestmodseq, box.uidnext, new_uids, changed, expunged)


def _uid_condition(mailbox_id: int, merged: Sequence[tuple[int, int]]) -> Q:
    """The rows of ``mailbox_id`` whose UID is in ``merged`` (already merged).

    Single UIDs share one IN list and every OR arm names the mailbox, so each
    arm is a range of the (mailbox, uid) index on SQLite and PostgreSQL. With
    the mailbox outside the OR, SQLite walked the whole mailbox as soon as a
    range was mixed with single UIDs ("2,5,7:9"), as store.messages found."""
    singles = [lo for lo, hi in merged if lo == hi]
    condition = Q(mailbox_id=mailbox_id, uid__in=singles) if singles else Q(pk__in=[])
    for lo, hi in merged:
        if lo != hi:
            condition |= Q(mailbox_id=mailbox_id, uid__gte=lo, uid__lte=hi)
    return condition


def flag_rows(
    mailbox_id: int, ranges: UidRanges, *, changed_since: int | None = None, seen_for: int | None = None,
) -> list[FlagRow]:
    """The flags of ``ranges`` as ``seen_for`` sees them (``MailboxInfo.seen_for``)."""
    rows: list[FlagRow] = []
    merged = merge_ranges(ranges)
    for start in range(0, len(merged), MAX_SEARCH_RANGES):
        query = Message.objects.filter(_uid_condition(mailbox_id, merged[start : start + MAX_SEARCH_RANGES]))
        if changed_since is not None:
            query = query.filter(modseq__gt=changed_since)
        query = query.annotate(seen_flags=seen.flags_expression(seen_for))
        rows.extend(FlagRow(*r) for r in query.order_by("uid").values_list("uid", "seen_flags", "keywords", "modseq"))
    return rows


def vanished_uids(mailbox_id: int, modseq: int, ranges: UidRanges | None = None) -> list[int]:
    """UIDs expunged after ``modseq`` (QRESYNC VANISHED (EARLIER), RFC 7162 §3.2.5.2).

    Below the mailbox's purge watermark the tombstones are gone: every UID of
    ``ranges`` (or of 1:UIDNEXT-1) without a message is reported instead."""
    box = Mailbox.objects.filter(pk=mailbox_id).values_list("tombstones_purged_modseq", "uidnext").first()
    if box is not None and modseq < box[0]:
        return missing_uids(mailbox_id, merge_ranges(ranges) if ranges is not None else [(1, max(box[1] - 1, 0))])
    query = Expunged.objects.filter(mailbox_id=mailbox_id, modseq__gt=modseq)
    if ranges is not None:
        merged = merge_ranges(ranges)
        if len(merged) <= MAX_SEARCH_RANGES:
            # Tombstones have no (mailbox, uid) index: (mailbox, modseq) leads.
            query = query.filter(_uid_condition(mailbox_id, merged))
    return sorted(set(query.values_list("uid", flat=True)))


# --- FETCH ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchRow:
    uid: int
    modseq: int
    flags: int
    keywords: str
    internaldate: dt.datetime
    size: int
    prefix: bytes
    sha256: str
    root: dict[str, Any] | None  # Content.structure["root"], when asked for
    envelope: dict[str, Any] | None  # Content.structure["envelope"], when asked for


def fetch_rows(
    mailbox_id: int,
    uids: Sequence[int],
    *,
    structure: bool = False,
    envelope: bool = False,
    changed_since: int | None = None,
    seen_for: int | None = None,
) -> list[FetchRow]:
    """The rows of ``uids`` (ascending) that still exist, one query on the
    (mailbox, uid) index (each run of consecutive UIDs one index range, every
    OR arm naming the mailbox). The JSON part map and envelope are read only
    when asked for (``content_structures``, which the IMAP layer calls itself
    for the contents whose rendering it has not cached).

    Raw SQL: on an initial sync this runs for every message, and Django's
    per-value converters were an eighth of the cost of a cached FETCH.
    ``seen_for``: whose \\Seen the flags show (``MailboxInfo.seen_for``)."""
    if not uids:
        return []
    rows: list[FetchRow] = []
    flags_column, flags_params = seen.flags_sql(seen_for)
    merged = merge_ranges(_runs(uids))
    with connection.cursor() as cursor:
        for start in range(0, len(merged), MAX_SEARCH_RANGES):
            chunk = merged[start : start + MAX_SEARCH_RANGES]
            singles = [lo for lo, hi in chunk if lo == hi]
            arms: list[str] = []
            params: list[int] = list(flags_params)
            if singles:
                arms.append(f"(m.mailbox_id = %s AND m.uid IN ({', '.join(['%s'] * len(singles))}))")
                params += [mailbox_id, *singles]
            for lo, hi in chunk:
                if lo != hi:
                    arms.append("(m.mailbox_id = %s AND m.uid >= %s AND m.uid <= %s)")
                    params += [mailbox_id, lo, hi]
            where = " OR ".join(arms)
            if changed_since is not None:
                where = f"({where}) AND m.modseq > %s"
                params.append(changed_since)
            cursor.execute(
                f"SELECT m.uid, m.modseq, {flags_column}, m.keywords, m.internaldate, m.size, m.prefix, c.sha256"  # noqa: S608
                f" FROM store_message m JOIN store_content c ON c.id = m.content_id WHERE {where} ORDER BY m.uid",
                params,
            )
            for uid, modseq, flags, keywords, internaldate, size, prefix, sha256 in cursor.fetchall():
                if internaldate.tzinfo is None:  # SQLite keeps UTC without a zone
                    internaldate = internaldate.replace(tzinfo=dt.UTC)
                rows.append(
                    FetchRow(
                        uid=uid, modseq=modseq, flags=flags, keywords=keywords, internaldate=internaldate,
                        size=size, prefix=bytes(prefix or b""), sha256=sha256, root=None, envelope=None,
                    )
                )
    if structure or envelope:
        found = content_structures(sorted({r.sha256 for r in rows}), structure=structure, envelope=envelope)
        rows = [
            dataclasses.replace(r, root=found[r.sha256][0], envelope=found[r.sha256][1]) if r.sha256 in found else r
            for r in rows
        ]
    return rows


def _runs(uids: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending UIDs as (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    start = prev = uids[0]
    for uid in uids[1:]:
        if uid != prev + 1:
            runs.append((start, prev))
            start = uid
        prev = uid
    runs.append((start, prev))
    return runs


def content_structures(
    sha256s: Sequence[str], *, structure: bool, envelope: bool
) -> dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """sha256 -> (part map root, envelope) of these contents, one query (the
    JSON decoded only for the keys asked for)."""
    if not sha256s or not (structure or envelope):
        return {}
    columns = ["sha256"]
    if structure:
        columns.append("structure__root")
    if envelope:
        columns.append("structure__envelope")
    out: dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]] = {}
    for values in Content.objects.filter(sha256__in=list(sha256s)).values_list(*columns):
        root = values[1] if structure else None
        env = values[-1] if envelope else None
        out[values[0]] = (root, env)
    return out


def read_blob(sha256: str, start: int, end: int) -> bytes:
    """Bytes ``[start:end)`` of a content blob (offsets of the part map)."""
    return blob_store().read_range(sha256, start, end)


# --- writes through the store's own functions ------------------------------------------


def append_messages(
    account_id: int, name: str, messages: Sequence[tuple[bytes, int, str, dt.datetime | None]]
) -> tuple[int, list[int]]:
    """MULTIAPPEND (RFC 3502 §6.3.11): every (raw, flags, keywords, internaldate)
    into the mailbox named ``name``, all or none: one transaction, so a quota
    refusal of the last undoes the first. (UIDVALIDITY, UIDs) for APPENDUID."""
    box = access_mailbox_by_name(account_id, name, "i")
    with transaction.atomic():
        uids = [
            do_append(account_id, box.pk, raw, flags=flags, keywords=keywords, internaldate=date).uid
            for raw, flags, keywords, date in messages
        ]
    return box.uidvalidity, uids


def copy_messages(
    account_id: int, source_id: int, uids: UidRanges, target: str, *, move: bool
) -> tuple[int, list[tuple[int, int]]]:
    """COPY/MOVE to the mailbox named ``target``: (target UIDVALIDITY, pairs)."""
    box = access_mailbox_by_name(account_id, target, "i")
    return box.uidvalidity, do_copy(account_id, source_id, uids, box.pk, move=move)


# --- ACL (RFC 4314) -----------------------------------------------------------------


def _administered(account_id: int, name: str) -> Mailbox:
    """The mailbox ``name`` if the account holds "a" on it (RFC 4314 §4:
    GETACL, SETACL, DELETEACL, LISTRIGHTS need it)."""
    info = _lookup(account_id, name, "a")
    return Mailbox.objects.select_related("account").get(pk=info.id)


def acl_of(account_id: int, name: str) -> list[tuple[str, str]]:
    """GETACL: (identifier, rights) of the owner and of each grantee whose
    rights reach this folder (whole-mailbox and folder grants, united)."""
    box = _administered(account_id, name)
    rights: dict[str, str] = {box.account.identifier: acl.OWNER_RIGHTS}
    for row in acl.grants_on(box.account_id, box.pk):
        rights[row.identifier] = acl.normalize(rights.get(row.identifier, "") + row.rights)
    return list(rights.items())


def set_acl(account_id: int, name: str, grantee_id: int, mode: str, rights: str) -> None:
    """SETACL on one folder: ``mode`` "+" adds, "-" removes, "" replaces the
    grantee's rights on that folder (a folder grant; a functional mailbox's
    membership is managed in the webmail). Raises InvalidRights."""
    box = _administered(account_id, name)
    wanted = acl.normalize(rights)
    current = next((r.rights for r in acl.grants_on(box.account_id, box.pk)
                    if r.grantee_id == grantee_id and r.mailbox_id == box.pk), "")
    if mode == "+":
        wanted = acl.normalize(current + wanted)
    elif mode == "-":
        wanted = "".join(ch for ch in current if ch not in wanted)
    acl.do_grant(box.account_id, grantee_id, wanted, mailbox_id=box.pk, kind="share", by=account_id)


def delete_acl(account_id: int, name: str, grantee_id: int) -> None:
    box = _administered(account_id, name)
    acl.do_revoke(box.account_id, grantee_id, mailbox_id=box.pk)


def check_administer(account_id: int, name: str) -> bool:
    """LISTRIGHTS: True when the account may administer ``name``'s ACL."""
    _administered(account_id, name)
    return True


def my_rights(account_id: int, name: str) -> str:
    """MYRIGHTS (RFC 4314 §3.5)."""
    return _lookup(account_id, name, "").rights


# --- SEARCH --------------------------------------------------------------------------


@dataclass(frozen=True)
class Everything:
    value: bool  # ALL (True) or nothing (False)


@dataclass(frozen=True)
class HasFlag:
    bit: int  # a Flag bit, or 0 for a keyword
    keyword: str
    present: bool


@dataclass(frozen=True)
class TextMatch:
    field: str  # "text" | "body" | "subject" | "from" | "to" | "cc" | "bcc"
    value: str


@dataclass(frozen=True)
class HeaderMatch:
    field: str  # a header field name, any case
    value: str  # "" matches every message having the field


@dataclass(frozen=True)
class DateMatch:
    field: str  # "internal" | "sent"
    op: str  # "before" | "on" | "since"
    date: dt.date


@dataclass(frozen=True)
class SizeMatch:
    larger: bool
    size: int


@dataclass(frozen=True)
class UidIn:
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ModseqAtLeast:
    modseq: int


@dataclass(frozen=True)
class Negation:
    criterion: Criterion


@dataclass(frozen=True)
class Either:
    left: Criterion
    right: Criterion


@dataclass(frozen=True)
class Conjunction:
    criteria: tuple[Criterion, ...]


Criterion = (
    Everything | HasFlag | TextMatch | HeaderMatch | DateMatch | SizeMatch | UidIn | ModseqAtLeast | Negation | Either | Conjunction
)


class SearchTooComplex(ValueError):
    pass


_WHITESPACE = re.compile(r"\s+")
_PLAIN_ID = re.compile(r"<[^<>\s]*>")


def _needle(value: str) -> str:
    """A SEARCH string as the folded text holds it: case and accents folded,
    runs of white space one space (header fields are unfolded and the body text
    collapsed at delivery, so "conseil de classe" finds it across a line break)."""
    return _WHITESPACE.sub(" ", search.fold(value))


def _contains(column: str) -> str:
    return f"instr({column}, %s) > 0" if connection.vendor == "sqlite" else f"strpos({column}, %s) > 0"


def _regex_escape(text: str) -> str:
    """Every ASCII punctuation character escaped: a literal in Python's ``re``
    (SQLite's REGEXP, from Django) and in PostgreSQL's regular expressions alike."""
    return "".join(f"\\{ch}" if ch.isascii() and not ch.isalnum() else ch for ch in text)


def _regex_match(column: str) -> str:
    return f"{column} REGEXP %s" if connection.vendor == "sqlite" else f"{column} ~ %s"


def _day_start(day: dt.date) -> dt.datetime:
    # RFC 3501 §6.4.4: dates disregard time and time zone; ours is the server's.
    return timezone.make_aware(dt.datetime.combine(day, dt.time()), timezone.get_default_timezone())


class _Compiler:
    def __init__(self, scope_messages: int | None = None, seen_for: int | None = None) -> None:
        # The searched mailbox's message count: a small one is checked by the
        # substring rule alone, without asking the shared index (search.probes).
        self.scope_messages = scope_messages
        self.seen_for = seen_for
        self.params: list[Any] = []
        self.needs_content = False
        self.needs_text = False
        self.needs_fields = False
        self.ranges = 0

    def compile(self, c: Criterion) -> str:
        if isinstance(c, Everything):
            return "1=1" if c.value else "1=0"
        if isinstance(c, HasFlag):
            if c.bit:
                column, params = seen.flags_sql(self.seen_for if c.bit & Flag.SEEN else None)
                self.params += [*params, c.bit]
                return f"({column} & %s) {'!=' if c.present else '='} 0"
            self.params.append(f"% {c.keyword.lower()} %")
            return f"(' ' || lower(m.keywords) || ' ') {'' if c.present else 'NOT '}LIKE %s"
        if isinstance(c, TextMatch):
            return self._text(c)
        if isinstance(c, HeaderMatch):
            return self.header(c)
        if isinstance(c, DateMatch):
            if c.field == "sent":
                # RFC 3501 §6.4.4: the Date header's own day, time zone disregarded.
                self.needs_content = True
                column = "c.sent_day"
                start_day: Any = c.date
                end_day: Any = c.date + dt.timedelta(days=1)
            else:
                column = "m.internaldate"
                start_day, end_day = _day_start(c.date), _day_start(c.date + dt.timedelta(days=1))
            if c.op == "before":
                self.params.append(start_day)
                return f"{column} < %s"
            if c.op == "since":
                self.params.append(start_day)
                return f"{column} >= %s"
            self.params.extend([start_day, end_day])
            return f"({column} >= %s AND {column} < %s)"
        if isinstance(c, SizeMatch):
            self.params.append(c.size)
            return f"m.size {'>' if c.larger else '<'} %s"
        if isinstance(c, UidIn):
            merged = merge_ranges(c.ranges)
            if not merged:
                return "1=0"
            self.ranges += len(merged)
            if self.ranges > MAX_SEARCH_RANGES:
                raise SearchTooComplex("too many ranges in one search")
            terms = []
            for lo, hi in merged:
                if lo == hi:
                    terms.append("m.uid = %s")
                    self.params.append(lo)
                else:
                    terms.append("(m.uid >= %s AND m.uid <= %s)")
                    self.params.extend([lo, hi])
            return "(" + " OR ".join(terms) + ")"
        if isinstance(c, ModseqAtLeast):
            self.params.append(c.modseq)
            return "m.modseq >= %s"
        if isinstance(c, Negation):
            return f"NOT ({self.compile(c.criterion)})"
        if isinstance(c, Either):
            return f"(({self.compile(c.left)}) OR ({self.compile(c.right)}))"
        return "(" + " AND ".join(f"({self.compile(x)})" for x in c.criteria) + ")" if c.criteria else "1=1"

    def _text(self, c: TextMatch) -> str:
        """RFC 3501 §6.4.4 / RFC 9051 §6.4.4: every string key matches when the
        field (or body, or whole message) "contains the specified string",
        case-insensitively (accents folded too): a substring, compared with the
        folded text kept at delivery (``SearchText``), never a blob."""
        needle = _needle(c.value)
        if c.field in search.FIELD_COLUMNS:
            # SUBJECT, FROM, TO, CC, BCC: the decoded field, every address of it
            # with its display name and any group name (RFC 5322 §3.4).
            if not needle:
                return "1=1"  # every field contains the empty string
            self.params.append(needle)
            return self._field(c.field)
        if not needle:
            return "1=1"
        self.needs_text = True
        if c.field == "body":
            # BODY: the body only, never a header field such as Subject.
            return self._body(needle)
        # TEXT: "the header or body of the message": every header field, the
        # per-delivery ones (Received, X-Spam-...) included, then the body.
        self.params.append(needle)
        headers = _contains("t.headers")
        return f"({headers} OR {self._prefix(None, needle)} OR {self._body(needle)})"

    def header(self, c: HeaderMatch) -> str:
        """RFC 3501 §6.4.4 HEADER: the string in the named field only; an empty
        string matches every message that has the field (RFC 9051 §6.4.4)."""
        name = c.field.lower()
        needle = _needle(c.value)
        if needle and name in search.FIELD_COLUMNS:
            self.params.append(needle)
            return self._field(name)
        if needle and name in search.ID_COLUMNS and not needle.startswith(" "):
            # (A leading space would match the one after "name:", which the
            # column does not keep: such a string takes the general path.)
            ids = self._ids(search.ID_COLUMNS[name], needle)
            return f"({ids} OR {self._prefix(name, needle)})"
        self.needs_text = True
        # Field lines are "\nname: value" in ``headers``: the field must start a line.
        self.params.append(f"\n{name}:")
        present = _contains("t.headers")
        if not needle:
            return f"({present} OR {self._prefix(name, '')})"
        self.params.append(needle)
        self.params.append(f"\n{_regex_escape(name)}:[^\n]*{_regex_escape(needle)}")
        in_field = f"{present} AND {_contains('t.headers')} AND {_regex_match('t.headers')}"
        return f"(({in_field}) OR {self._prefix(name, needle)})"

    def _ids(self, column: str, needle: str) -> str:
        """Message-ID, In-Reply-To, References containing ``needle``, from the
        narrow SearchIds table: a scan of short rows, or for one whole "<id>"
        in Message-ID an index lookup (``SearchIds.message_id_key``), with the
        fields that are more than one id checked by substring."""
        if column == "message_id" and _PLAIN_ID.fullmatch(needle):
            self.params.extend([needle, needle])
            by_key = "SELECT content_id FROM store_searchids WHERE message_id_key = %s"
            others = f"SELECT content_id FROM store_searchids WHERE message_id_key IS NULL AND {_contains('message_id')}"  # noqa: S608
            return f"m.content_id IN ({by_key} UNION ALL {others})"
        self.params.append(needle)
        quoted = f'"{column}"'  # "references" is an SQL keyword
        return f"m.content_id IN (SELECT content_id FROM store_searchids WHERE {_contains(quoted)})"  # noqa: S608

    def _field(self, name: str) -> str:
        # The narrow SearchFields table: a few thousand pages for 100,000 rows.
        self.needs_fields = True
        return _contains(f"f.{search.FIELD_COLUMNS[name]}")

    def _body(self, needle: str) -> str:
        # The full-text index narrows the candidates when the string holds a
        # word it can look up; the substring rule then decides on those.
        candidates = search.candidates_sql(needle, scope_messages=self.scope_messages)
        contains = _contains("t.body")
        if candidates is None:
            self.params.append(needle)
            return contains
        clause, params = candidates
        self.params.extend([*params, needle])
        return f"({clause} AND {contains})"

    def _prefix(self, name: str | None, needle: str) -> str:
        """The header fields this delivery added (``Message.prefix``: Received,
        Authentication-Results, spam verdicts), which are part of the message a
        client reads: field ``name`` containing ``needle``, or with ``name`` None
        any field name or value containing it (TEXT)."""
        if connection.vendor == "sqlite":
            self.params.extend(["" if name is None else name, needle])
            return "(length(m.prefix) > 0 AND academail_prefix_has(m.prefix, %s, %s))"
        # PostgreSQL: the same rule as a regular expression over the prefix's
        # lines (a folded line continues with white space, RFC 5322 §2.2.3).
        text = "(E'\\n' || lower(encode(m.prefix, 'escape')))"
        if name is None:
            self.params.append(needle)
            return f"(length(m.prefix) > 0 AND strpos({text}, %s) > 0)"
        self.params.append(f"\n{_regex_escape(name)}:([^\n]|\n[ \t])*{_regex_escape(needle)}")
        return f"(length(m.prefix) > 0 AND {text} ~ %s)"


def search_uids(mailbox_id: int, criterion: Criterion, *, seen_for: int | None = None) -> list[tuple[int, int]]:
    """(UID, MODSEQ) of the messages matching ``criterion``, by UID; one query.
    Raises SearchTooComplex beyond MAX_SEARCH_RANGES UID ranges. ``seen_for``:
    whose \\Seen SEEN/UNSEEN (and NEW/OLD) test (``MailboxInfo.seen_for``)."""
    rows = _matching(mailbox_id, criterion, "m.uid, m.modseq", (), False, seen_for)
    return [(int(uid), int(modseq)) for uid, modseq in rows]


def _local_part(column: str) -> str:
    """RFC 5256 §3 FROM/TO/CC: the addr-mailbox (local part) of the first
    address of ``column`` (addresses stored as "a@x, b@y"), lower-cased for
    the i;ascii-casemap collation."""
    if connection.vendor == "postgresql":
        return f"lower(split_part({column}, '@', 1))"
    return f"lower(CASE WHEN instr({column}, '@') > 0 THEN substr({column}, 1, instr({column}, '@') - 1) ELSE {column} END)"


def _sort_expression(key: str) -> tuple[str, bool]:
    """The SQL of one RFC 5256 §3 sort key, and whether it reads store_content.
    SUBJECT, SIZE and DISPLAYFROM are the indexed (mailbox, key, uid) columns
    kept at delivery (``store.sortkeys``), and FROM's local part."""
    if key == "ARRIVAL":
        return "m.internaldate", False
    if key == "DATE":
        # RFC 5256 §3: the sent date, or INTERNALDATE when there is no usable
        # Date, kept at delivery in the indexed (mailbox, date_sort, uid).
        return "m.date_sort", False
    if key == "SUBJECT":
        return "m.subject_sort", False  # the §2.1 base subject
    if key == "SIZE":
        return "m.size", False
    if key == "DISPLAYFROM":
        return "m.sender_sort", False  # RFC 5957 §3: display name, else the address
    if key == "FROM":
        return "m.from_sort", False  # the first address's local part, kept at delivery
    columns = {"TO": "c.to_text", "CC": "c.cc_text"}
    return _local_part(columns[key]), True


def _matching(
    mailbox_id: int, criterion: Criterion, columns: str, order: Sequence[str], content: bool,
    seen_for: int | None = None,
) -> list[tuple[Any, ...]]:
    """``columns`` of the messages matching ``criterion`` (the SEARCH rule), in
    ``order`` then by UID; one query. ``content``: the columns read store_content."""
    compiler = _Compiler(Mailbox.objects.filter(id=mailbox_id).values_list("messages", flat=True).first(), seen_for)
    where = compiler.compile(criterion)
    join = " JOIN store_content c ON c.id = m.content_id" if content or compiler.needs_content else ""
    if compiler.needs_text:
        join += " JOIN store_searchtext t ON t.content_id = m.content_id"
    if compiler.needs_fields:
        join += " JOIN store_searchfields f ON f.content_id = m.content_id"
    sql = (
        f"SELECT {columns} FROM store_message m{join} WHERE m.mailbox_id = %s AND ({where}) "  # noqa: S608
        f"ORDER BY {', '.join([*order, 'm.uid ASC'])}"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            connection.connection.create_function("academail_prefix_has", 3, _prefix_has, deterministic=True)
        cursor.execute(sql, [mailbox_id, *compiler.params])
        return list(cursor.fetchall())


def sort_uids(
    mailbox_id: int, criterion: Criterion, keys: Sequence[tuple[str, bool]], *, seen_for: int | None = None,
) -> list[tuple[int, int]]:
    """(UID, MODSEQ) of the messages matching ``criterion`` (the SEARCH rule,
    ``search_uids``), in the order of ``keys`` ((key, reverse) pairs, RFC 5256
    §3), ties broken by UID, which is the sequence-number order; one query."""
    order = []
    needs_content = False
    for key, reverse in keys:
        expression, content = _sort_expression(key)
        needs_content = needs_content or content
        order.append(f"{expression} {'DESC' if reverse else 'ASC'}")
    rows = _matching(mailbox_id, criterion, "m.uid, m.modseq", order, needs_content, seen_for)
    return [(int(uid), int(modseq)) for uid, modseq in rows]


def reads_flags(criterion: Criterion) -> bool:
    """Whether ``criterion``'s answer can change with a STORE: it tests a flag
    or keyword (\\Seen per person included) or a MODSEQ. Every other key reads
    what never changes on a message (content, dates, size, UID)."""
    if isinstance(criterion, HasFlag | ModseqAtLeast):
        return True
    if isinstance(criterion, Negation):
        return reads_flags(criterion.criterion)
    if isinstance(criterion, Either):
        return reads_flags(criterion.left) or reads_flags(criterion.right)
    if isinstance(criterion, Conjunction):
        return any(reads_flags(part) for part in criterion.criteria)
    return False


def mailbox_state(mailbox_id: int) -> tuple[int, int, int, int] | None:
    """(UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT, message count) of the mailbox;
    None when it is gone. Every change to its messages or their flags moves
    one of them in the transaction that makes it (APPEND and COPY: UIDNEXT;
    STORE, a person's own \\Seen included, and EXPUNGE: HIGHESTMODSEQ; the
    count for any removal), and neither goes back, so two equal states are
    the same messages with the same flags: ``imap.threadcache`` keys on it."""
    row = Mailbox.objects.filter(pk=mailbox_id).values_list("uidvalidity", "highestmodseq", "uidnext", "messages").first()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


class ThreadRows(NamedTuple):
    """What RFC 5256 §2 threading reads of the messages, as columns in the
    order of their sent date (or INTERNALDATE, §2.2), ties by UID: a
    message's index is its rank, and threading compares ints. Per message:
    its UID; its base subject (§2.1, stored folded); whether its subject is
    a reply or a forward; the keys of its Message-ID (0: none) and of its
    References chain (``store.sortkeys.thread_keys``: ids normalised at
    delivery, 63-bit keys). ORDEREDSUBJECT reads only the first two."""

    uids: Sequence[int]
    subjects: Sequence[str]
    replies: Sequence[bool] = ()
    message_ids: Sequence[int] = ()
    references: Sequence[Sequence[int]] = ()


def thread_rows(
    mailbox_id: int, criterion: Criterion, *, seen_for: int | None = None, links: bool = True,
) -> ThreadRows:
    """The threading data of the messages matching ``criterion``; one query,
    one range of the ``message_thread`` index (mailbox, date_sort, uid,
    subject_sort, thread keys), which holds every column read: no table row
    is visited for ALL. ``links=False`` (ORDEREDSUBJECT, RFC 5256 §2.1, needs
    only the base subject and the date) reads no thread keys.

    For the whole mailbox (ALL over every UID, as webmails ask), the rows of
    a large mailbox are kept (``store.threadindex``) and brought up to date
    by reading only the messages added and the UIDs expunged since."""
    if not links:
        rows = _matching(mailbox_id, criterion, "m.uid, m.subject_sort", ("m.date_sort ASC",), False, seen_for)
        uids, subjects = zip(*rows, strict=True) if rows else ((), ())
        return ThreadRows(uids, subjects)
    upto = _whole_mailbox(criterion)
    if upto is not None:
        kept = _kept_thread_rows(mailbox_id, upto)
        if kept is not None:
            return kept
    return _thread_columns(mailbox_id, _matching(mailbox_id, criterion, _thread_select(), ("m.date_sort ASC",), False, seen_for))


def _thread_select(prefix: str = "") -> str:
    # On SQLite the flag is read as an expression ("+"): a column declared
    # "bool" goes through Django's converter, a Python call per row (~10 % of
    # the query at 100,000 messages); 0 and 1 are what threading reads.
    reply = "+m.thread_reply" if connection.vendor == "sqlite" else "m.thread_reply"
    return f"{prefix}m.uid, m.subject_sort, {reply}, m.thread_msgid, m.thread_refs"


def _thread_columns(mailbox_id: int, rows: Sequence[tuple[Any, ...]]) -> ThreadRows:
    """``ThreadRows`` from rows of ``_thread_select()``, in sent order."""
    if not rows:
        return ThreadRows((), (), (), (), ())
    uids, subjects, replies, message_ids, packed = zip(*rows, strict=True)
    unpack = sortkeys.unpack_keys
    # A packed chain is 8 bytes a key; any other length is the mark of a chain
    # kept only on the content (``sortkeys.THREAD_REFS_ELSEWHERE``), looked
    # for by one comparison in C per row.
    chains: list[Sequence[int]] = [() if not keys or len(keys) & 7 else unpack(keys) for keys in packed]
    mark = sortkeys.THREAD_REFS_ELSEWHERE
    if mark in packed:
        elsewhere = [rank for rank, keys in enumerate(packed) if keys == mark]
        for rank, chain in _long_chains(mailbox_id, {uids[rank]: rank for rank in elsewhere}).items():
            chains[rank] = chain
    return ThreadRows(uids, subjects, replies, message_ids, tuple(chains))


def _whole_mailbox(criterion: Criterion) -> int | None:
    """The last UID when ``criterion`` is every message up to it (ALL as the
    IMAP session bounds it to the UIDs it knows, ``_known``); None otherwise."""
    if isinstance(criterion, Conjunction) and len(criterion.criteria) == 2:
        first, second = criterion.criteria
        if first == Everything(True) and isinstance(second, UidIn) and len(second.ranges) == 1:
            low, high = second.ranges[0]
            return high if low <= 1 else None
    return None


def _kept_thread_rows(mailbox_id: int, upto: int) -> ThreadRows | None:
    """The whole mailbox's ``ThreadRows`` from the kept ones plus what changed
    since they were read (``store.threadindex``), or read in full and kept;
    None when they cannot be told exact (a change committed meanwhile, or
    messages above ``upto``, which the session does not know yet): then the caller
    reads them by the criterion as always.

    Exact because of what ``mailbox_state`` guarantees: the state is read
    before and after the reads, and equal, no commit came in between; the
    rows kept at an earlier state, minus the UIDs expunged since its
    HIGHESTMODSEQ, plus the messages at or above its UIDNEXT, are the
    mailbox's, which the message count then confirms."""
    state = mailbox_state(mailbox_id)
    if state is None or state[3] < threadindex.ROWS.smallest:
        return None
    kept = threadindex.ROWS.get(mailbox_id)
    if kept is None:
        # This process's first THREAD of the mailbox: the rows its file
        # keeps (another process's, or this server's before a restart), held
        # to the same checks below as rows kept in memory.
        kept = threadindex.take_file(mailbox_id, ThreadRows)
    rows: ThreadRows | None = None
    last = None
    top = 0
    if kept is not None and kept.state[0] == state[0] and kept.state[1] <= state[1] and kept.state[2] <= state[2]:
        if kept.state == state:
            return kept.rows if kept.top <= upto else None
        rows, last, top = _thread_rows_since(mailbox_id, kept)
    if rows is None:
        rows = _thread_columns(
            mailbox_id, _matching(mailbox_id, Everything(True), _thread_select(), ("m.date_sort ASC",), False)
        )
        last = _last_sent(mailbox_id)
        top = max(rows.uids, default=0)
    if mailbox_state(mailbox_id) != state or len(rows.uids) != state[3]:
        return None
    fresh = threadindex.Kept(state, rows, last, top)
    threadindex.ROWS.put(mailbox_id, fresh)
    threadindex.save_due(mailbox_id, fresh)
    # Messages above ``upto`` are not the session's yet (``_known``).
    return rows if top <= upto else None


def _thread_rows_since(mailbox_id: int, kept: threadindex.Kept) -> tuple[ThreadRows | None, Any, int]:
    """``kept``'s rows brought up to now, with the (sent date, UID) of the
    last and the highest UID: the UIDs expunged since dropped, the new
    messages appended when they all sort after the last kept one (the usual
    case: new mail is dated now); (None, None, 0) otherwise."""
    _, modseq, uidnext, _ = kept.state
    rows = kept.rows
    top = kept.top
    gone = set(
        Expunged.objects.filter(mailbox_id=mailbox_id, modseq__gt=modseq, uid__lt=uidnext).values_list("uid", flat=True)
    )
    if gone and not gone.isdisjoint(rows.uids):
        ranks = [rank for rank, uid in enumerate(rows.uids) if uid not in gone]
        rows = ThreadRows(*([column[rank] for rank in ranks] for column in rows))
        top = max(rows.uids, default=0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_thread_select(_date_sort() + ', ')} FROM store_message m"  # noqa: S608
            " WHERE m.mailbox_id = %s AND m.uid >= %s ORDER BY m.date_sort ASC, m.uid ASC",
            [mailbox_id, uidnext],
        )
        added = cursor.fetchall()
    last = kept.last
    if added:
        first = (added[0][0], int(added[0][1]))
        if first[0] is None or last is None or last[0] is None or first <= last:
            return None, None, 0
        last = (added[-1][0], int(added[-1][1]))
        top = max(top, *(int(row[1]) for row in added))
        more = _thread_columns(mailbox_id, [row[1:] for row in added])
        rows = ThreadRows(*(tuple(column) + tuple(new) for column, new in zip(rows, more, strict=True)))
    return rows, last, top


def _last_sent(mailbox_id: int) -> tuple[Any, int] | None:
    """(sent date, UID) of the mailbox's last message in sent order."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_date_sort()}, m.uid FROM store_message m WHERE m.mailbox_id = %s"  # noqa: S608
            " ORDER BY m.date_sort DESC, m.uid DESC LIMIT 1",
            [mailbox_id],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], int(row[1]))


def _date_sort() -> str:
    """``date_sort`` as the index orders it: on SQLite the stored text, read
    as an expression so that no converter parses it (text compares as the
    index does); on PostgreSQL the timestamp."""
    return "+m.date_sort" if connection.vendor == "sqlite" else "m.date_sort"


def _long_chains(mailbox_id: int, ranks: dict[int, int]) -> dict[int, list[int]]:
    """The References keys of the messages (UID -> rank) whose chain is too
    long for their row (``sortkeys.MAX_THREAD_REFS``), from their contents."""
    out: dict[int, list[int]] = {}
    uids = sorted(ranks)
    for start in range(0, len(uids), 500):
        batch = uids[start : start + 500]
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT m.uid, c.in_reply_to, c."references" FROM store_message m'  # noqa: S608
                f" JOIN store_content c ON c.id = m.content_id WHERE m.mailbox_id = %s"
                f" AND m.uid IN ({','.join(['%s'] * len(batch))})",
                [mailbox_id, *batch],
            )
            for uid, in_reply_to, references in cursor.fetchall():
                chain = sortkeys.reference_chain(in_reply_to or "", references or "")
                out[ranks[int(uid)]] = [sortkeys.id_hash(ref) for ref in chain]
    return out


@functools.lru_cache(maxsize=256)
def _prefix_lines(prefix: bytes) -> tuple[str, ...]:
    # One delivery's prefix is shared by its recipients' copies, and often
    # identical in form: cached per distinct value.
    block = split_header(prefix, 0, len(prefix))
    return tuple(f"{name}: {_needle(decode_words(value))}" for name, value in block.fields())


def _prefix_has(prefix: bytes | None, name: str, needle: str) -> bool:
    """SQLite's ``academail_prefix_has`` (see ``_Compiler._prefix``)."""
    if not prefix:
        return False
    for line in _prefix_lines(bytes(prefix)):
        if not name:
            if needle in line:
                return True
        elif line.startswith(f"{name}:") and needle in line[len(name) + 1 :]:
            return True
    return False


__all__ = [
    "Changes", "Conjunction", "DateMatch", "Either", "Everything", "FetchRow", "Flag", "FlagRow",
    "HasFlag", "HeaderMatch", "MailboxInfo", "ModseqAtLeast", "Negation", "SearchTooComplex", "SizeMatch",
    "acl_of", "check_administer", "delete_acl", "my_rights", "set_acl",
    "Snapshot", "TextMatch", "UidIn", "append_messages", "changes_since",
    "content_structures", "copy_messages", "create_mailbox", "delete_mailbox", "fetch_rows", "flag_rows",
    "list_mailbox_infos", "list_shared_infos", "mailbox_info", "rights_on", "read_blob", "rename_mailbox",
    "mailbox_state", "reads_flags", "search_uids", "select_snapshot", "sort_uids", "thread_rows", "ThreadRows", "claim_recent", "recent_count", "subscribe_mailbox", "subscription_names",
    "vanished_uids",
]
