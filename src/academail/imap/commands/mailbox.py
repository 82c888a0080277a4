"""Mailboxes and quota: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST
and LSUB (with LIST-EXTENDED, LIST-STATUS and SPECIAL-USE), STATUS, and
GETQUOTAROOT / GETQUOTA (RFC 9208)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.session import Session
from academail.store import imap as store
from academail.store.errors import (
    InvalidMailboxName,
    MailboxExists,
    MailboxNotFound,
    NoPermission,
    ProtectedMailbox,
)
from academail.store.messages import quota_usage

SEPARATOR = "/"
# RFC 6154 attributes of the special folders.
SPECIAL_USE_ATTRIBUTES = {
    "sent": "\\Sent", "drafts": "\\Drafts", "trash": "\\Trash", "junk": "\\Junk", "archive": "\\Archive",
}


async def do_create(session: Session, command: C.Create) -> None:
    name = command.mailbox.rstrip(SEPARATOR)  # RFC 3501 §6.3.3: "foo/" creates "foo"
    if name.upper() == "INBOX":
        await session.no(command, "INBOX already exists", R.CODE_ALREADYEXISTS)
        return
    try:
        await session.run(store.create_mailbox, session.account, name)
    except MailboxExists as exc:
        await session.no(command, exc.message, R.CODE_ALREADYEXISTS)
        return
    except InvalidMailboxName as exc:
        await session.no(command, exc.message, R.CODE_CANNOT)
        return
    except NoPermission as exc:
        await session.no(command, exc.message, R.CODE_NOPERM)  # RFC 4314 §4: "k" on the parent
        return
    await session.ok(command)


async def do_delete(session: Session, command: C.Delete) -> None:
    try:
        await session.run(store.delete_mailbox, session.account, command.mailbox)
    except MailboxNotFound as exc:
        await session.no(command, exc.message, R.CODE_NONEXISTENT)
        return
    except NoPermission as exc:
        await session.no(command, exc.message, R.CODE_NOPERM)  # RFC 4314 §4: "x" on the mailbox
        return
    except ProtectedMailbox as exc:
        await session.no(command, exc.message, R.CODE_CANNOT)
        return
    await session.ok(command)


async def do_rename(session: Session, command: C.Rename) -> None:
    try:
        await session.run(store.rename_mailbox, session.account, command.mailbox, command.new_name.rstrip(SEPARATOR))
    except MailboxNotFound as exc:
        await session.no(command, exc.message, R.CODE_NONEXISTENT)
        return
    except MailboxExists as exc:
        await session.no(command, exc.message, R.CODE_ALREADYEXISTS)
        return
    except NoPermission as exc:
        await session.no(command, exc.message, R.CODE_NOPERM)  # RFC 4314 §4: "x" on the old, "k" on the new parent
        return
    except (ProtectedMailbox, InvalidMailboxName) as exc:
        await session.no(command, exc.message, R.CODE_CANNOT)
        return
    await session.ok(command)


async def _subscribe(session: Session, command: C.Subscribe | C.Unsubscribe, subscribed: bool) -> None:
    try:
        await session.run(store.subscribe_mailbox, session.account, command.mailbox, subscribed)
    except MailboxNotFound as exc:
        await session.no(command, exc.message, R.CODE_NONEXISTENT)
        return
    await session.ok(command)


async def do_subscribe(session: Session, command: C.Subscribe) -> None:
    await _subscribe(session, command, True)


async def do_unsubscribe(session: Session, command: C.Unsubscribe) -> None:
    await _subscribe(session, command, False)


async def do_list(session: Session, command: C.ListCommand) -> None:
    lsub = command.name == "LSUB"
    if command.patterns == ("",) and not command.extended:
        # RFC 3501 §6.3.8: the hierarchy delimiter and root.
        await session.untagged(f'{command.name} (\\Noselect) "/" ""')
        await session.ok(command)
        return
    boxes = await session.run(store.list_mailbox_infos, session.account)
    boxes += _with_parents(await session.run(store.list_shared_infos, session.account))
    names = {b.name for b in boxes}
    regexes = [_pattern(command.reference + p) for p in command.patterns]
    subscribed_only = lsub or "SUBSCRIBED" in command.selection
    special_only = "SPECIAL-USE" in command.selection
    show_subscribed = "SUBSCRIBED" in command.selection or "SUBSCRIBED" in command.returns
    recursive = "RECURSIVEMATCH" in command.selection and "SUBSCRIBED" in command.selection
    subscribed = await session.run(store.subscription_names, session.account) if subscribed_only or show_subscribed else set()
    # Shared folders count as subscribed: the owner's subscriptions are not the
    # member's, and clients listing with LSUB (Thunderbird) should show them.
    subscribed |= {b.name for b in boxes if b.shared and b.id != NOSELECT}
    # RFC 3501 §6.3.4/§6.3.9, RFC 5258 §3.1: a subscribed name whose mailbox was
    # deleted is still listed by LSUB and LIST (SUBSCRIBED), as \NonExistent.
    gone = sorted(subscribed - names, key=str.casefold) if subscribed_only else []
    out: list[bytes] = []
    entries: list[tuple[str, store.MailboxInfo | None]] = [(b.name, b) for b in boxes] + [(n, None) for n in gone]
    for name, box in entries:
        if not any(rx.match(name) for rx in regexes):
            continue
        # RFC 5258 §3.5: with RECURSIVEMATCH, a parent of a subscribed mailbox is
        # listed with CHILDINFO ("SUBSCRIBED") whether or not it is subscribed.
        childinfo = recursive and any(n.startswith(name + SEPARATOR) for n in subscribed)
        if lsub and name not in subscribed:
            # RFC 3501 §6.3.9: "%" returns an unsubscribed parent of a subscribed
            # mailbox the pattern does not reach, as \Noselect.
            hidden = [n for n in subscribed if n.startswith(name + SEPARATOR)]
            if hidden and not all(any(rx.match(n) for rx in regexes) for n in hidden):
                out.append(b'* LSUB (\\Noselect) "/" ' + session.wire_name(name) + b"\r\n")
            continue
        if subscribed_only and name not in subscribed and not childinfo:
            continue
        # RFC 6154 names the person's own special folders; a shared Envoyés is not theirs.
        own_special = box is not None and not box.shared and box.special_use
        if special_only and not (own_special and box and box.special_use != "inbox"):
            continue
        attributes: list[str] = []
        if box is None:
            if not lsub:
                attributes.append("\\NonExistent")  # RFC 5258 §3.4; LSUB shows it plain (RFC 3501 §6.3.9)
        elif not lsub:
            if box.id == NOSELECT:
                attributes.append("\\Noselect")
            children = any(n.startswith(name + SEPARATOR) for n in names)
            attributes.append("\\HasChildren" if children else "\\HasNoChildren")
        if show_subscribed and not lsub and name in subscribed:
            attributes.append("\\Subscribed")
        use = SPECIAL_USE_ATTRIBUTES.get(box.special_use or "") if box and own_special else None
        if use:
            attributes.append(use)
        line = f"{command.name} ({' '.join(attributes)}) \"/\" ".encode() + session.wire_name(name)
        if childinfo:
            line += b' ("CHILDINFO" ("SUBSCRIBED"))'
        out.append(b"* " + line + b"\r\n")
        if command.status_items and not lsub and box is not None and box.id != NOSELECT:
            recent = await session.run(store.recent_count, box.id) if "RECENT" in command.status_items else 0
            items = _status_items(box, command.status_items, recent)
            out.append(b"* STATUS " + session.wire_name(name) + b" " + items + b"\r\n")
    # One write for the whole answer: a TLS record per line cost more than
    # building the lines (200 shared folders).
    if out:
        await session.conn.write(b"".join(out))
    await session.ok(command)


async def do_status(session: Session, command: C.Status) -> None:
    try:
        info = await session.run(store.mailbox_info, session.account, command.mailbox)
    except MailboxNotFound as exc:
        await session.no(command, exc.message, R.CODE_NONEXISTENT)
        return
    if "DELETED" in command.items:
        await session.bad(command, "STATUS DELETED is not supported")
        return
    recent = await session.run(store.recent_count, info.id) if "RECENT" in command.items else 0
    await session.untagged(b"STATUS " + session.wire_name(info.name) + b" " + _status_items(info, command.items, recent))
    await session.ok(command)


async def do_getquotaroot(session: Session, command: C.GetQuotaRoot) -> None:
    try:
        info = await session.run(store.mailbox_info, session.account, command.mailbox)
    except MailboxNotFound as exc:
        await session.no(command, exc.message, R.CODE_NONEXISTENT)
        return
    # RFC 9208 §4.3: one quota root per owner: "" for the account's own
    # mailbox, "Partagés/<owner>" for a shared one, whose owner's quota
    # counts what members put there (a member's APPEND fills the school's).
    root = store.quota_root_of(info)
    used, limit = await session.run(quota_usage, info.owner_id or session.account)
    if limit > 0:
        await session.untagged(b"QUOTAROOT " + session.wire_name(info.name) + b" " + session.wire_name(root))
        await session.untagged(_quota_line(root, used, limit, session))
    else:
        await session.untagged(b"QUOTAROOT " + session.wire_name(info.name))
    await session.ok(command)


async def do_getquota(session: Session, command: C.GetQuota) -> None:
    # RFC 9208 §4.2: a root the account cannot see is answered as one that
    # does not exist (RFC 4314 §6: no leak).
    owner = await session.run(store.quota_root_owner, session.account, command.root)
    used, limit = await session.run(quota_usage, owner) if owner is not None else (0, 0)
    if owner is None or limit <= 0:
        await session.no(command, "No such quota root", R.CODE_NONEXISTENT)
        return
    await session.untagged(_quota_line(command.root, used, limit, session))
    await session.ok(command)


NOSELECT = 0  # the id of a level of the shared namespace that is no folder


def _with_parents(shared: list[store.MailboxInfo]) -> list[store.MailboxInfo]:
    """The shared namespace's folders, each preceded by the levels above it
    that are no folder ("Partagés", "Partagés/<owner>"), listed \\Noselect
    (RFC 3501 §6.3.8)."""
    out: list[store.MailboxInfo] = []
    seen: set[str] = {b.name for b in shared}
    for box in shared:
        parts = box.name.split(SEPARATOR)
        for depth in range(1, len(parts)):
            parent = SEPARATOR.join(parts[:depth])
            if parent not in seen:
                seen.add(parent)
                out.append(store.MailboxInfo(
                    id=NOSELECT, name=parent, special_use=None, uidvalidity=0, uidnext=0, highestmodseq=0,
                    messages=0, unseen=0, size=0,
                ))
        out.append(box)
    return out


def _status_items(info: store.MailboxInfo, items: Iterable[str], recent: int = 0) -> bytes:
    values = {
        "MESSAGES": info.messages, "RECENT": recent, "UIDNEXT": info.uidnext,
        "UIDVALIDITY": info.uidvalidity, "UNSEEN": info.unseen,
        "HIGHESTMODSEQ": info.highestmodseq, "SIZE": info.size,  # RFC 8438
    }
    return ("(" + " ".join(f"{i} {values[i]}" for i in items if i in values) + ")").encode()


def _quota_line(root: str, used: int, limit: int, session: Session) -> bytes:
    # RFC 9208 §5.2: STORAGE in units of 1024 octets.
    return b"QUOTA " + session.wire_name(root) + b" (STORAGE %d %d)" % ((used + 1023) // 1024, limit // 1024)


def _pattern(pattern: str) -> re.Pattern[str]:
    """A LIST pattern (RFC 3501 §6.3.8): "*" matches anything, "%" anything but
    the hierarchy separator. INBOX is matched case-insensitively (RFC 3501 §5.1)."""

    def translate(text: str) -> str:
        return "".join(".*" if ch == "*" else "[^/]*" if ch == "%" else re.escape(ch) for ch in text)

    if pattern[:5].upper() == "INBOX":
        return re.compile("(?i:INBOX)" + translate(pattern[5:]) + r"\Z", re.DOTALL)
    return re.compile(translate(pattern) + r"\Z", re.DOTALL)
