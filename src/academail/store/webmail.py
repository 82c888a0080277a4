"""Read-side queries and small actions the webmail pages need, on top of the
store's own functions: the folder pane (special folders first, counters, quota),
a page of a folder, a message with its bytes and part map, search results with
their folders, and the message actions of the list and reading pages (read,
flag, move, delete to Corbeille, report as junk).

Every lookup goes through ``access_mailbox`` / ``access_message``: an id that
belongs to another account raises MailboxNotFound or MessageNotFound, which
the views turn into a 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from academail.mime.parse import Part
from academail.store.errors import MailboxNotFound
from academail.store.mailboxes import (
    DEFAULT_MAILBOXES,
    DISPLAY_NAMES,
    access_mailbox,
    list_mailboxes,
    special_mailbox,
)
from academail.store.messages import (
    MAX_UID,
    access_message,
    do_copy,
    do_expunge,
    do_set_flags,
    page_messages,
    quota_usage,
    read_raw,
    search_messages,
)
from academail.store.models import Flag, Mailbox, Message, SpecialUse

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
    def level(self) -> str:
        """"" below 80 %, "warning" from 80 %, "critical" from 95 %."""
        if self.percent >= 95:
            return "critical"
        if self.percent >= 80:
            return "warning"
        return ""


@dataclass(frozen=True)
class FolderPane:
    folders: list[Folder]
    quota: Quota


def folder_pane(account_id: int) -> FolderPane:
    """The folder list (special folders first, in their usual order, then the
    person's folders by name) and the quota: two queries."""
    boxes = list_mailboxes(account_id)
    boxes.sort(
        key=lambda m: (
            0 if m.special_use else 1,
            _SPECIAL_ORDER.get(m.special_use or "", 99),
            m.name.casefold(),
        )
    )
    folders = [Folder(m, display_name(m) if m.special_use else m.name.rsplit("/", 1)[-1], m.name.count("/")) for m in boxes]
    used, limit = quota_usage(account_id)
    return FolderPane(folders, Quota(used, limit))


@dataclass(frozen=True)
class Page:
    mailbox: Mailbox
    messages: list[Message]
    older: int | None  # the ``before_uid`` of the next page, None on the last one


def folder_page(account_id: int, mailbox_id: int, *, before_uid: int | None = None) -> Page:
    """One page (newest first) of a folder of the account; keyset on UID."""
    mailbox = access_mailbox(account_id, mailbox_id)
    rows = page_messages(mailbox, before_uid=before_uid, limit=PAGE_SIZE + 1)
    older = rows[PAGE_SIZE - 1].uid if len(rows) > PAGE_SIZE else None
    return Page(mailbox, rows[:PAGE_SIZE], older)


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
    """The message with its blob and part map; with ``mark_seen``, \\Seen is set
    (in its own transaction, publishing "flags") if it was not."""
    message = access_message(account_id, mailbox_id, uid)
    mailbox = access_mailbox(account_id, mailbox_id)
    if mark_seen and not message.flags & Flag.SEEN:
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


def search_page(account_id: int, query: str, *, before_id: int | None = None) -> Found:
    """Search the whole account (accents and case ignored), newest first, with
    each message's content and folder loaded in one more query."""
    hits = search_messages(account_id, query, before_id=before_id, limit=PAGE_SIZE + 1)
    ids = [m.pk for m in hits[:PAGE_SIZE]]
    loaded = Message.objects.select_related("content", "mailbox").in_bulk(ids)
    rows = [loaded[i] for i in ids if i in loaded and loaded[i].mailbox.account_id == account_id]
    older = hits[PAGE_SIZE - 1].pk if len(hits) > PAGE_SIZE else None
    return Found(rows, older)


# --- actions --------------------------------------------------------------------

ACTIONS = ("seen", "unseen", "flag", "unflag", "move", "delete", "junk")


def _ranges(uids: Sequence[int]) -> list[tuple[int, int]]:
    return [(u, u) for u in sorted(set(uids)) if 0 < u <= MAX_UID]


def do_message_action(
    account_id: int, mailbox_id: int, uids: Sequence[int], action: str, *, target_id: int | None = None
) -> int:
    """Apply a list or reading-page action to ``uids`` of a folder of the account;
    returns how many messages it touched.

    "answered" sets \\Answered (after a reply); "delete" moves to Corbeille, or removes for good in Corbeille itself;
    "junk" moves to Indésirables; "move" needs ``target_id`` (one of the
    account's folders). Raises MailboxNotFound, QuotaExceeded, ValueError
    (unknown action). Precondition: none (each store call has its own transaction)."""
    mailbox = access_mailbox(account_id, mailbox_id)
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
        target = special_mailbox(account_id, "trash")
    elif action == "junk":
        target = special_mailbox(account_id, "junk")
    elif action == "move":
        if target_id is None:
            raise MailboxNotFound("Choisissez le dossier de destination.")
        target = access_mailbox(account_id, target_id)
    else:
        raise ValueError(action)
    if target.pk == mailbox.pk:
        return 0
    return len(do_copy(account_id, mailbox_id, ranges, target.pk, move=True))


__all__ = [
    "ACTIONS", "Folder", "FolderPane", "Found", "Opened", "PAGE_SIZE", "Page", "Quota",
    "display_name", "do_message_action", "folder_page", "folder_pane", "inbox", "open_message",
    "search_page",
]
