"""Read-side queries and small actions the webmail pages need, on top of the
store's own functions: the folder pane (special folders first, counters, quota),
a page of a folder, a message with its bytes and part map, search results with
their folders, the folders' counters (live updates), the recent recipients of
Envoyés (address suggestions), and the message actions of the list and reading pages (read,
flag, move, delete to Corbeille, report as junk).

Every lookup goes through ``access_mailbox`` / ``access_message``: an id that
belongs to another account raises MailboxNotFound or MessageNotFound, which
the views turn into a 404.

The webmail imports the store's types from here (``Flag``, ``Mailbox``,
``Message``, ``SpecialUse``): nothing outside ``store/`` imports
``store.models``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from academail.mime.parse import Part
from academail.store import acl
from academail.store import seen as personal_seen
from academail.store.errors import MailboxNotFound, MessageNotFound
from academail.store.mailboxes import (
    DEFAULT_MAILBOXES,
    DISPLAY_NAMES,
    access_mailbox,
    list_mailboxes,
    special_mailbox,
)
from academail.store.messages import (
    MAX_UID,
    Criteria,
    access_message,
    do_copy,
    do_expunge,
    do_set_flags,
    quota_usage,
    read_raw,
    search_messages,
)
from academail.store.models import Flag, Mailbox, Message, SpecialUse
from academail.store.quota import is_full, threshold_of

PAGE_SIZE = 50
_SPECIAL_ORDER = {use: index for index, (use, _) in enumerate(DEFAULT_MAILBOXES)}


def display_name(mailbox: Mailbox) -> str:
    """What a person reads: "Boîte de réception" for INBOX, else the name."""
    if mailbox.special_use in DISPLAY_NAMES:
        return DISPLAY_NAMES[mailbox.special_use]
    return mailbox.name


@dataclass(frozen=True)
class Folder:
    mailbox: Mailbox
    label: str
    depth: int

    @property
    def special(self) -> bool:
        return bool(self.mailbox.special_use)


@dataclass(frozen=True)
class Quota:
    used: int
    limit: int

    @property
    def percent(self) -> int:
        if self.limit <= 0:
            return 0
        return min(100, self.used * 100 // self.limit)

    @property
    def threshold(self) -> int:
        """The notice threshold reached (80, 90, 95; 0 below): ``store.quota``."""
        return threshold_of(self.percent)

    @property
    def full(self) -> bool:
        """No new message gets in (senders get ``452 4.2.2``)."""
        return is_full(self.used, self.limit)

    @property
    def level(self) -> str:
        """"" below 80 %, "warning" from 80 %, "critical" from 95 %."""
        if self.percent >= 95:
            return "critical"
        if self.percent >= 80:
            return "warning"
        return ""


@dataclass(frozen=True)
class Switch:
    """One entry of the mailbox switcher: the person's own mailbox, or one
    whose folders are shared with them (a functional mailbox, a delegation,
    a colleague's folder), with the unread count of the folder it opens."""

    owner_id: int
    label: str
    address: str
    mailbox_id: int
    unseen: int
    current: bool


@dataclass(frozen=True)
class FolderPane:
    folders: list[Folder]
    quota: Quota
    # Empty when nothing is shared with the person (no switcher shown).
    switcher: list[Switch] = field(default_factory=list)
    owner_id: int = 0  # whose folders ``folders`` are


def _sorted_folders(boxes: list[Mailbox]) -> list[Folder]:
    boxes.sort(
        key=lambda m: (
            0 if m.special_use else 1,
            _SPECIAL_ORDER.get(m.special_use or "", 99),
            m.name.casefold(),
        )
    )
    return [Folder(m, display_name(m) if m.special_use else m.name.rsplit("/", 1)[-1], m.name.count("/")) for m in boxes]


def folder_pane(account_id: int, current: int | None = None) -> FolderPane:
    """The folder list (special folders first, in their usual order, then the
    folders by name) and the quota of the person's own mailbox, or of the
    shared mailbox ``current`` belongs to; and the mailbox switcher when
    something is shared with the person (``store.acl.visible_shared``). Three
    queries, four with shared mailboxes."""
    own = list_mailboxes(account_id)
    shared = acl.visible_shared(account_id, inboxes=True)
    owner = account_id
    boxes = own
    if current is not None and shared and all(m.pk != current for m in own):
        current_owner = Mailbox.objects.filter(pk=current).values_list("account_id", flat=True).first()
        theirs = acl.visible_shared(account_id, owner_id=current_owner) if current_owner else []
        if any(s.mailbox.pk == current for s in theirs):
            owner, boxes = current_owner or account_id, [s.mailbox for s in theirs]
            personal_seen.show_counts(account_id, boxes)  # per-person \Seen: the person's own counts
    personal_seen.show_counts(account_id, [s.mailbox for s in shared])
    folders = _sorted_folders(boxes)
    used, limit = quota_usage(owner)
    switcher: list[Switch] = []
    if shared:
        inbox_box = next((m for m in own if m.special_use == SpecialUse.INBOX), own[0] if own else None)
        if inbox_box is not None:
            switcher.append(Switch(account_id, "", "", inbox_box.pk, inbox_box.unseen, owner == account_id))
        seen_owners: set[int] = set()
        for item in shared:  # sorted by owner, INBOX first
            if item.mailbox.account_id in seen_owners:
                continue
            seen_owners.add(item.mailbox.account_id)
            switcher.append(Switch(
                item.mailbox.account_id, item.owner_name or item.owner_address, item.owner_address,
                item.mailbox.pk, item.mailbox.unseen, owner == item.mailbox.account_id,
            ))
    return FolderPane(folders, Quota(used, limit), switcher, owner)


# The list's sorts: URL word -> column of store_message. "date" is the order
# of arrival (UID, which follows INTERNALDATE for delivered mail): the unique
# (mailbox, uid) index. The others have an index (mailbox, key, uid), and ties
# are broken by UID in the same direction, so keyset pagination never skips
# nor repeats a message.
SORTS = {"date": "uid", "expediteur": "sender_sort", "objet": "subject_sort", "taille": "size"}
DEFAULT_DIRECTION = {"date": "desc", "expediteur": "asc", "objet": "asc", "taille": "desc"}
PAGE_SIZES = (25, 50, 100)


@dataclass(frozen=True)
class Page:
    mailbox: Mailbox
    messages: list[Message]
    older: int | None  # UID of the last message shown when there is a next page, else None
    sort: str = "date"
    descending: bool = True
    next_key: str = ""  # the sort key of that last message ("" for the date sort)


def _sort_value(message: Message, column: str) -> str:
    return str(getattr(message, column))


def folder_page(
    account_id: int,
    mailbox_id: int,
    *,
    before_uid: int | None = None,
    sort: str = "date",
    descending: bool = True,
    after: tuple[str, int] | None = None,
    page_size: int = PAGE_SIZE,
) -> Page:
    """One page of a folder of the account, sorted by ``sort`` (a key of SORTS).

    Keyset pagination: ``after`` is the (sort key, UID) of the last message of
    the previous page (``before_uid`` is the older form for the date order,
    newest first). Each page is one range scan of an index, whatever its depth.
    Raises MailboxNotFound (a folder the account may not read, ``store.acl``)
    and ValueError (unknown sort)."""
    mailbox = access_mailbox(account_id, mailbox_id, "r")
    column = SORTS[sort]
    if before_uid is not None and after is None and sort == "date" and descending:
        after = ("", before_uid)
    rows = page_messages_sorted(mailbox.pk, column, descending=descending, after=after, limit=page_size + 1)
    shown = rows[:page_size]
    personal_seen.show_messages(account_id, mailbox, shown)
    personal_seen.show_counts(account_id, [mailbox])
    more = len(rows) > page_size
    last = shown[-1] if more else None
    return Page(
        mailbox,
        shown,
        last.uid if last else None,
        sort,
        descending,
        _sort_value(last, column) if last and column != "uid" else "",
    )


def page_messages_sorted(
    mailbox_id: int, column: str, *, descending: bool, after: tuple[str, int] | None, limit: int
) -> list[Message]:
    """Up to ``limit`` messages of a mailbox in (column, uid) order after the
    keyset ``after``, each with its content (two queries). Precondition: the
    mailbox was reached through ``access_mailbox``."""
    if column not in SORTS.values():
        raise ValueError(column)
    direction, compare = ("DESC", "<") if descending else ("ASC", ">")
    args: list[object] = [mailbox_id]
    if column == "uid":
        where = "" if after is None else f" AND uid {compare} %s"
        order = f"uid {direction}"
        if after is not None:
            args.append(after[1])
    else:
        where = ""
        if after is not None:
            key: object = int(after[0]) if column == "size" else after[0]
            # Row-value comparison: one index range on (mailbox_id, column, uid).
            where = f" AND ({column}, uid) {compare} (%s, %s)"
            args.extend([key, after[1]])
        order = f"{column} {direction}, uid {direction}"
    args.append(limit)
    sql = f"SELECT id FROM store_message WHERE mailbox_id = %s{where} ORDER BY {order} LIMIT %s"  # noqa: S608 (whitelisted column)
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        ids = [row[0] for row in cursor.fetchall()]
    loaded = Message.objects.select_related("content").in_bulk(ids)
    return [loaded[i] for i in ids if i in loaded]


# --- conversations -------------------------------------------------------------

_CONVERSATION_SCAN_CHUNK = 300
_CONVERSATION_SCAN_LIMIT = 20  # chunks per page at most: a page may end short, never slow
MAX_PARTICIPANTS = 4


@dataclass(frozen=True)
class Conversation:
    thread_key: str
    latest: Message  # the newest message of the conversation in this folder
    count: int
    unseen: int
    participants: list[str]


@dataclass(frozen=True)
class ConversationPage:
    mailbox: Mailbox
    conversations: list[Conversation]
    older: int | None  # ``before_uid`` of the next page


def conversation_page(
    account_id: int, mailbox_id: int, *, before_uid: int | None = None, page_size: int = PAGE_SIZE
) -> ConversationPage:
    """A page of the folder's conversations (messages sharing ``Content.thread_key``),
    the one with the newest message first.

    A conversation belongs to the page of its newest message: the walk goes down
    the (mailbox, uid) index from ``before_uid`` and keeps the first message of
    each thread, skipping threads that have a newer message (shown on an earlier
    page: one indexed query per chunk, through content.thread_key and the
    (content, mailbox) index). Counts and participants: two grouped queries for
    the page's threads only."""
    mailbox = access_mailbox(account_id, mailbox_id)
    limit = before_uid if before_uid is not None else MAX_UID + 1
    seen: set[str] = set()
    found: list[tuple[str, int]] = []  # (thread_key, newest uid)
    cursor_uid = limit
    older: int | None = None
    with connection.cursor() as cursor:
        for _ in range(_CONVERSATION_SCAN_LIMIT):
            cursor.execute(
                "SELECT m.uid, c.thread_key FROM store_message m JOIN store_content c ON c.id = m.content_id"
                " WHERE m.mailbox_id = %s AND m.uid < %s ORDER BY m.uid DESC LIMIT %s",
                [mailbox.pk, cursor_uid, _CONVERSATION_SCAN_CHUNK],
            )
            chunk = [(int(uid), str(key)) for uid, key in cursor.fetchall()]
            if not chunk:
                break
            fresh: list[tuple[str, int]] = []
            for uid, key in chunk:
                if key not in seen:
                    seen.add(key)
                    fresh.append((key, uid))
            if fresh and before_uid is not None:
                marks = ",".join(["%s"] * len(fresh))
                cursor.execute(
                    "SELECT DISTINCT c.thread_key FROM store_content c JOIN store_message m ON m.content_id = c.id"  # noqa: S608
                    f" WHERE c.thread_key IN ({marks}) AND m.mailbox_id = %s AND m.uid >= %s",
                    [*(key for key, _ in fresh), mailbox.pk, before_uid],
                )
                earlier = {row[0] for row in cursor.fetchall()}
                fresh = [item for item in fresh if item[0] not in earlier]
            found.extend(fresh)
            cursor_uid = chunk[-1][0]
            if len(found) > page_size:
                break
            if len(chunk) < _CONVERSATION_SCAN_CHUNK:
                cursor_uid = 0
                break
        if len(found) > page_size:
            found = found[:page_size]
            older = found[-1][1]
        elif cursor_uid > 1:
            older = cursor_uid  # the scan stopped early: carry on from there
        keys = [key for key, _ in found]
        stats: dict[str, tuple[int, int]] = {}
        people: dict[str, list[str]] = {key: [] for key in keys}
        if keys:
            marks = ",".join(["%s"] * len(keys))
            flags, flag_params = personal_seen.flags_sql(personal_seen.viewer(account_id, mailbox.account_id))
            cursor.execute(
                f"SELECT c.thread_key, COUNT(*), SUM(CASE WHEN {flags} %% 2 = 0 THEN 1 ELSE 0 END)"  # noqa: S608
                " FROM store_message m JOIN store_content c ON c.id = m.content_id"
                f" WHERE c.thread_key IN ({marks}) AND m.mailbox_id = %s GROUP BY c.thread_key",
                [*flag_params, *keys, mailbox.pk],
            )
            stats = {str(key): (int(n), int(unseen or 0)) for key, n, unseen in cursor.fetchall()}
            cursor.execute(
                "SELECT c.thread_key, c.from_name, c.from_addr, MAX(m.uid) AS newest"  # noqa: S608
                " FROM store_message m JOIN store_content c ON c.id = m.content_id"
                f" WHERE c.thread_key IN ({marks}) AND m.mailbox_id = %s"
                " GROUP BY c.thread_key, c.from_name, c.from_addr ORDER BY newest DESC LIMIT %s",
                [*keys, mailbox.pk, len(keys) * MAX_PARTICIPANTS * 4],
            )
            for key, name, addr, _ in cursor.fetchall():
                label = name or addr
                names = people[str(key)]
                if label and label not in names and len(names) < MAX_PARTICIPANTS:
                    names.append(label)
    latest = {
        m.uid: m for m in Message.objects.select_related("content").filter(mailbox=mailbox, uid__in=[u for _, u in found])
    }
    personal_seen.show_messages(account_id, mailbox, list(latest.values()))
    conversations = [
        Conversation(key, latest[uid], *stats.get(key, (1, 0)), people.get(key, []))
        for key, uid in found
        if uid in latest
    ]
    return ConversationPage(mailbox, conversations, older if older and older > 1 else None)


@dataclass(frozen=True)
class Thread:
    mailbox: Mailbox
    messages: list[Opened]


MAX_THREAD_MESSAGES = 100


def open_conversation(account_id: int, mailbox_id: int, thread_key: str, *, mark_seen: bool = False) -> Thread:
    """The messages of one conversation in a folder, oldest first (at most the
    newest MAX_THREAD_MESSAGES), each with its blob and part map. An unknown or
    foreign thread key is MessageNotFound."""
    mailbox = access_mailbox(account_id, mailbox_id, "r")
    uids = list(
        Message.objects.filter(mailbox=mailbox, content__thread_key=thread_key)
        .order_by("-uid")
        .values_list("uid", flat=True)[:MAX_THREAD_MESSAGES]
    )
    if not uids:
        raise MessageNotFound("Cette conversation n'existe pas ou a été supprimée.")
    opened = [open_message(account_id, mailbox_id, uid) for uid in reversed(uids)]
    unseen = [o.message.uid for o in opened if not o.message.flags & Flag.SEEN]
    if mark_seen and unseen and may_mark_seen(account_id, mailbox):  # one transaction, one "flags" event
        do_set_flags(account_id, mailbox_id, _ranges(unseen), mode="add", flags=Flag.SEEN)
        for item in opened:
            item.message.flags |= Flag.SEEN
    return Thread(mailbox, opened)


def may_mark_seen(account_id: int, mailbox: Mailbox) -> bool:
    """Opening a message marks it read only with the "s" right (RFC 4314 §4)."""
    return "s" in acl.rights_of(account_id, mailbox)


def inbox(account_id: int) -> Mailbox:
    return special_mailbox(account_id, "inbox")


@dataclass(frozen=True)
class Opened:
    message: Message
    mailbox: Mailbox
    raw: bytes  # the blob alone: part offsets are relative to it
    root: Part

    @property
    def full(self) -> bytes:
        """The bytes a client sees (delivery prefix, then the blob)."""
        return bytes(self.message.prefix) + self.raw


def open_message(account_id: int, mailbox_id: int, uid: int, *, mark_seen: bool = False) -> Opened:
    """The message with its blob and part map, in a folder the account may
    read (``store.acl``); with ``mark_seen``, \\Seen is set (in its own
    transaction, publishing "flags") if it was not and the account may set it."""
    message = access_message(account_id, mailbox_id, uid, "r")
    mailbox = message.mailbox
    personal_seen.show_messages(account_id, mailbox, [message])
    if mark_seen and not message.flags & Flag.SEEN and may_mark_seen(account_id, mailbox):
        do_set_flags(account_id, mailbox_id, [(uid, uid)], mode="add", flags=Flag.SEEN)
        message.flags |= Flag.SEEN
    full = read_raw(message)
    raw = full[len(bytes(message.prefix)) :]
    structure: dict[str, Any] = message.content.structure or {}
    root = Part.from_dict(structure["root"]) if "root" in structure else Part("", 0, 0, len(raw))
    return Opened(message, mailbox, raw, root)


@dataclass(frozen=True)
class Found:
    messages: list[Message]
    older: int | None  # the ``before_id`` of the next page


def search_page(
    account_id: int, query: str | Criteria, *, before_id: int | None = None, owner_id: int | None = None,
) -> Found:
    """Search the account (words, or advanced criteria; accents and case
    ignored), newest first, with each message's content and folder loaded in
    one more query. ``owner_id``: search that owner's mailbox instead (a
    functional mailbox the person is viewing), only in the folders they may
    read ("r", ``store.acl``); nothing when they may read none."""
    if owner_id is None or owner_id == account_id:
        owner_id, readable = account_id, None
    else:
        readable = [s.mailbox.pk for s in acl.visible_shared(account_id, owner_id=owner_id) if "r" in s.rights]
        if isinstance(query, Criteria) and query.mailbox_id is not None and query.mailbox_id not in readable:
            return Found([], None)
    hits = search_messages(owner_id, query, mailbox_ids=readable, before_id=before_id, limit=PAGE_SIZE + 1,
                           related=("content", "mailbox"))
    rows = [m for m in hits[:PAGE_SIZE] if m.mailbox.account_id == owner_id]
    if readable is not None:
        by_folder: dict[int, list[Message]] = {}
        for row in rows:
            by_folder.setdefault(row.mailbox_id, []).append(row)
        for messages in by_folder.values():
            personal_seen.show_messages(account_id, messages[0].mailbox, messages)
    older = hits[PAGE_SIZE - 1].pk if len(hits) > PAGE_SIZE else None
    return Found(rows, older)


def shared_entry(account_id: int, owner_id: int) -> int | None:
    """A folder of ``owner_id`` that ``account_id`` may read (its INBOX
    first), to open their folder pane; None when there is none."""
    if owner_id == account_id:
        return None
    readable = [s for s in acl.visible_shared(account_id, owner_id=owner_id) if "r" in s.rights]
    return readable[0].mailbox.pk if readable else None


def shared_counters(account_id: int, owner_id: int) -> list[Counters]:
    """``mailbox_counters`` for the folders of ``owner_id`` that ``account_id``
    may see (the live updates of a functional mailbox being viewed), with the
    person's own unseen counts under per-person \\Seen; empty when none."""
    if owner_id == account_id:
        return []
    boxes = [s.mailbox for s in acl.visible_shared(account_id, owner_id=owner_id)]
    personal_seen.show_counts(account_id, boxes)
    return [
        Counters(b.pk, False, b.messages, b.unseen, b.uidnext, b.highestmodseq)
        for b in boxes
    ]


# --- actions --------------------------------------------------------------------

ACTIONS = ("seen", "unseen", "flag", "unflag", "move", "delete", "junk", "notjunk")


def _ranges(uids: Sequence[int]) -> list[tuple[int, int]]:
    return [(u, u) for u in sorted(set(uids)) if 0 < u <= MAX_UID]


def do_message_action(
    account_id: int, mailbox_id: int, uids: Sequence[int], action: str, *, target_id: int | None = None
) -> int:
    """Apply a list or reading-page action to ``uids`` of a folder of the account;
    returns how many messages it touched.

    "answered" sets \\Answered (after a reply); "delete" moves to Corbeille, or removes for good in Corbeille itself;
    "junk" moves to Indésirables, "notjunk" from there back to the INBOX
    (both teach the spam filter, ``store.signals``); "move" needs ``target_id`` (one of the
    account's folders). In someone else's mailbox (``store.acl``), Corbeille,
    Indésirables and the INBOX are the owner's, and each store call checks
    the rights it needs (NoPermission). Raises MailboxNotFound, NoPermission,
    QuotaExceeded, ValueError (unknown action). Precondition: none (each store
    call has its own transaction)."""
    mailbox = access_mailbox(account_id, mailbox_id, "r")
    owner = mailbox.account_id
    ranges = _ranges(uids)
    if not ranges:
        return 0
    if action == "answered":  # after a reply was sent
        return len(do_set_flags(account_id, mailbox_id, ranges, mode="add", flags=Flag.ANSWERED))
    if action in ("seen", "unseen", "flag", "unflag"):
        flag = Flag.SEEN if action in ("seen", "unseen") else Flag.FLAGGED
        mode = "add" if action in ("seen", "flag") else "remove"
        return len(do_set_flags(account_id, mailbox_id, ranges, mode=mode, flags=flag))
    if action == "delete" and mailbox.special_use == SpecialUse.TRASH:
        do_set_flags(account_id, mailbox_id, ranges, mode="add", flags=Flag.DELETED)
        return len(do_expunge(account_id, mailbox_id, ranges))
    if action == "delete":
        target = special_mailbox(owner, "trash")
    elif action == "junk":
        target = special_mailbox(owner, "junk")
    elif action == "notjunk":
        target = special_mailbox(owner, "inbox")
    elif action == "move":
        if target_id is None:
            raise MailboxNotFound("Choisissez le dossier de destination.")
        target = access_mailbox(account_id, target_id, "i")
    else:
        raise ValueError(action)
    if target.pk == mailbox.pk:
        return 0
    return len(do_copy(account_id, mailbox_id, ranges, target.pk, move=True, to_owner_trash=action == "delete"))


def sent_recipients(account_id: int, *, limit: int) -> list[tuple[str, str]]:
    """(To, Cc) of the newest ``limit`` messages of the account's Envoyés, newest
    first: bare addresses joined by ", " as ``_content_row`` keeps them. One
    keyset read on the (mailbox, uid) index; only this account's Envoyés."""
    sent = special_mailbox(account_id, "sent")
    return list(
        Message.objects.filter(mailbox_id=sent.pk)
        .order_by("-uid")
        .values_list("content__to_text", "content__cc_text")[:limit]
    )


@dataclass(frozen=True)
class Counters:
    """One folder's counters as the live updates compare them."""

    mailbox_id: int
    inbox: bool
    messages: int
    unseen: int
    uidnext: int
    modseq: int


def mailbox_counters(account_id: int) -> list[Counters]:
    """Every folder of the account with its counters: one query on
    ``store_mailbox`` filtered by account (its foreign-key index)."""
    rows = (
        Mailbox.objects.filter(account_id=account_id)
        .order_by()
        .values_list("pk", "special_use", "messages", "unseen", "uidnext", "highestmodseq")
    )
    return [
        Counters(pk, use == SpecialUse.INBOX, messages, unseen, uidnext, modseq)
        for pk, use, messages, unseen, uidnext, modseq in rows
    ]


__all__ = [
    "ACTIONS", "Conversation", "ConversationPage", "Counters", "DEFAULT_DIRECTION", "Flag", "Folder", "FolderPane",
    "Found", "Mailbox", "Message", "Opened", "PAGE_SIZE", "PAGE_SIZES", "Page", "Quota", "SORTS", "SpecialUse",
    "Thread", "conversation_page", "display_name", "do_message_action", "folder_page", "folder_pane", "inbox",
    "mailbox_counters", "open_conversation", "open_message", "page_messages_sorted", "search_page",
    "sent_recipients", "shared_counters", "shared_entry",
]
