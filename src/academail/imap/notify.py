"""NOTIFY (RFC 5465): what a session asked to be told without asking again,
and the telling. The events are those of the one bus that feeds IDLE
(``store.events``: in memory, or PostgreSQL LISTEN/NOTIFY across processes);
the session's queue is drained in ``Session._drain_events`` as before, and
the events of mailboxes other than the selected one are kept here, by
mailbox, until ``deliver`` sends them: an untagged STATUS per mailbox for
message events (§5.1-5.3: the selected mailbox gets EXISTS, FETCH and
EXPUNGE instead), LIST for MailboxName (§5.4) and SubscriptionChange
(§5.5), found by comparing the account's mailboxes and subscriptions with
the session's last look at them (the bus says "a mailbox changed", not how).

Notifications go out at every command's end and, between commands, while
the server waits for the next command (``server.Connection.read_command``).

Overflow (§5.8): more than ``MAX_PENDING`` mailboxes waiting, or events the
session's bus queue had to drop, end the notifications with
``* OK [NOTIFICATIONOVERFLOW]``, as if NOTIFY NONE had been given.

Only the account's own mailboxes are watched: the bus tells a session of
another owner's mailbox only while it is selected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.parsing.fetch import FetchItem
from academail.store import imap as store

if TYPE_CHECKING:
    from academail.imap.session import Session

MAX_PENDING = 1000  # mailboxes with events not yet told; past it, overflow
# RFC 5465 §5: the events we can report; the others get NO [BADEVENT].
SUPPORTED = ("MessageNew", "MessageExpunge", "FlagChange", "MailboxName", "SubscriptionChange")
MESSAGE_EVENTS = frozenset({"MessageNew", "MessageExpunge", "FlagChange"})
# The bus's event kinds and the NOTIFY event each one is.
EVENT_OF_KIND = {"exists": "MessageNew", "expunge": "MessageExpunge", "flags": "FlagChange"}


class NotifyError(ValueError):
    """A NOTIFY SET the server refuses: ``status`` is BAD or NO, ``code`` the response code."""

    def __init__(self, status: str, text: str, code: str | None = None) -> None:
        super().__init__(text)
        self.status, self.text, self.code = status, text, code


def check(filters: tuple[C.NotifyFilter, ...]) -> None:
    """RFC 5465 §3.1, §5 and §6: raise NotifyError for a NOTIFY SET that is
    malformed (BAD) or names events we do not report (NO [BADEVENT])."""
    unknown = sorted({e for f in filters for e in f.events if e not in SUPPORTED})
    if unknown:
        raise NotifyError("NO", f"Unsupported events: {' '.join(unknown)[:200]}", f"BADEVENT ({' '.join(SUPPORTED)})")
    if sum(f.kind in ("SELECTED", "SELECTED-DELAYED") for f in filters) > 1:
        raise NotifyError("BAD", "SELECTED or SELECTED-DELAYED only once")
    for f in filters:
        events = set(f.events)
        # §5: MessageNew and MessageExpunge together; FlagChange needs them.
        if ("MessageNew" in events) != ("MessageExpunge" in events):
            raise NotifyError("BAD", "MessageNew and MessageExpunge go together")
        if "FlagChange" in events and "MessageNew" not in events:
            raise NotifyError("BAD", "FlagChange needs MessageNew and MessageExpunge")
        # §5.1: fetch attributes only for the selected mailbox.
        if f.fetch and f.kind not in ("SELECTED", "SELECTED-DELAYED"):
            raise NotifyError("BAD", "MessageNew fetch attributes only with SELECTED or SELECTED-DELAYED")


@dataclass
class Notifying:
    """One session's NOTIFY SET, and what it has not told yet."""

    filters: tuple[C.NotifyFilter, ...]
    names: dict[int, str] = field(default_factory=dict)  # the account's mailboxes, last look
    subscribed: set[str] = field(default_factory=set)  # the subscription list, last look
    pending: dict[int, set[str]] = field(default_factory=dict)  # mailbox id -> NOTIFY events
    mailboxes_changed: bool = False  # a "mailbox" event: compare names and subscriptions again
    dropped: int = 0  # the bus queue's drop count when this began
    overflowed: bool = False

    def selected_filter(self) -> C.NotifyFilter | None:
        return next((f for f in self.filters if f.kind in ("SELECTED", "SELECTED-DELAYED")), None)

    def filter_for(self, name: str) -> C.NotifyFilter | None:
        """The first non-selected filter naming mailbox ``name`` (§6)."""
        for f in self.filters:
            if (
                (f.kind == "INBOXES" and name == "INBOX")  # where mail is delivered: the INBOX
                or f.kind == "PERSONAL"
                or (f.kind == "SUBSCRIBED" and name in self.subscribed)
                or (f.kind == "MAILBOXES" and name in f.mailboxes)
                or (f.kind == "SUBTREE" and any(name == m or name.startswith(m + "/") for m in f.mailboxes))
            ):
                return f
        return None

    def wants(self, name: str, event: str) -> bool:
        f = self.filter_for(name)
        return f is not None and event in f.events

    def selected_events(self) -> tuple[str, ...]:
        """What the selected mailbox reports between commands: its SELECTED
        filter's events, or those of the filter naming it otherwise."""
        f = self.selected_filter()
        return f.events if f is not None else ()

    def note(self, mailbox_id: int, kind: str) -> None:
        """An event of the bus for a mailbox other than the selected one."""
        if kind == "mailbox":
            self.mailboxes_changed = True
            return
        event = EVENT_OF_KIND.get(kind)
        if event is None:
            return
        if mailbox_id not in self.pending and len(self.pending) >= MAX_PENDING:
            self.overflowed = True
            return
        self.pending.setdefault(mailbox_id, set()).add(event)


async def start(session: Session, command: C.Notify) -> None:
    """NOTIFY SET (checked): the first look at the mailboxes, and with STATUS
    (§3.1) a STATUS now for each mailbox whose filter has message events."""
    assert command.filters is not None
    notifying = Notifying(command.filters)
    subscription = session.subscription
    if subscription is not None:
        notifying.dropped = subscription.dropped
    infos = await _look(session, notifying)
    session.notify = notifying
    if command.status:
        selected = session.view.mailbox_id if session.view is not None else None
        for info in infos:
            if info.id != selected and any(notifying.wants(info.name, e) for e in MESSAGE_EVENTS):
                await _status(session, info, ("MessageNew", "MessageExpunge", "FlagChange"))


async def deliver(session: Session) -> None:
    """Send what is pending: overflow first if it came to that, then LIST for
    renamed, created, deleted or (un)subscribed mailboxes, then STATUS for
    the others' message events."""
    notifying = session.notify
    if notifying is None:
        return
    subscription = session.subscription
    if notifying.overflowed or (subscription is not None and subscription.dropped > notifying.dropped):
        session.notify = None
        await session.untagged(f"OK [{R.CODE_NOTIFICATIONOVERFLOW}] {R.OK_NOTIFICATION_OVERFLOW}")
        return
    if not notifying.pending and not notifying.mailboxes_changed:
        return
    before, subscribed_before = dict(notifying.names), set(notifying.subscribed)
    infos = await _look(session, notifying)
    if notifying.mailboxes_changed:
        notifying.mailboxes_changed = False
        await _mailbox_names(session, notifying, before)
        await _subscriptions(session, notifying, subscribed_before)
    pending, notifying.pending = notifying.pending, {}
    selected = session.view.mailbox_id if session.view is not None else None
    for info in infos:
        events = pending.get(info.id)
        if events and info.id != selected:
            wanted = [e for e in events if notifying.wants(info.name, e)]
            if wanted:
                await _status(session, info, wanted)


async def _look(session: Session, notifying: Notifying) -> list[store.MailboxInfo]:
    infos = await session.run(store.list_mailbox_infos, session.account)
    notifying.names = {info.id: info.name for info in infos}
    notifying.subscribed = await session.run(store.subscription_names, session.account)
    return infos


async def _status(session: Session, info: store.MailboxInfo, events: Iterable[str]) -> None:
    """§5.2, §5.3: STATUS with what the events changed (HIGHESTMODSEQ when
    CONDSTORE is on, RFC 7162 §3.1.11)."""
    events = set(events)
    items = [f"MESSAGES {info.messages}"]
    if "MessageNew" in events:
        items.append(f"UIDNEXT {info.uidnext}")
    items.append(f"UNSEEN {info.unseen}")
    if session.condstore:
        items.append(f"HIGHESTMODSEQ {info.highestmodseq}")
    await session.untagged(b"STATUS " + session.wire_name(info.name) + b" (" + " ".join(items).encode() + b")")


async def _mailbox_names(session: Session, notifying: Notifying, before: dict[int, str]) -> None:
    """§5.4 MailboxName: LIST for a new mailbox, LIST (\\NonExistent) for a
    deleted one, LIST with OLDNAME for a renamed one (RFC 5465 §5.4)."""
    after = notifying.names
    for mailbox_id, name in sorted(after.items(), key=lambda item: item[1]):
        old = before.get(mailbox_id)
        if old is None:
            if notifying.wants(name, "MailboxName"):
                await session.untagged(b'LIST () "/" ' + session.wire_name(name))
        elif old != name and (notifying.wants(name, "MailboxName") or notifying.wants(old, "MailboxName")):
            await session.untagged(
                b'LIST () "/" ' + session.wire_name(name) + b' ("OLDNAME" (' + session.wire_name(old) + b"))"
            )
    for mailbox_id, old in sorted(before.items(), key=lambda item: item[1]):
        if mailbox_id not in after and notifying.wants(old, "MailboxName"):
            await session.untagged(b'LIST (\\NonExistent) "/" ' + session.wire_name(old))


async def _subscriptions(session: Session, notifying: Notifying, before: set[str]) -> None:
    """§5.5 SubscriptionChange: LIST (\\Subscribed) for a new subscription,
    LIST () for one removed."""
    for name in sorted(notifying.subscribed - before):
        if notifying.wants(name, "SubscriptionChange"):
            await session.untagged(b'LIST (\\Subscribed) "/" ' + session.wire_name(name))
    for name in sorted(before - notifying.subscribed):
        if notifying.wants(name, "SubscriptionChange"):
            await session.untagged(b'LIST () "/" ' + session.wire_name(name))


async def fetch_new(session: Session, uids: list[int], items: tuple[FetchItem, ...]) -> None:
    """§5.1: MessageNew's fetch attributes for the new messages of the
    selected mailbox, after their EXISTS; rendered as FETCH renders them,
    without setting \\Seen."""
    # Imported here: the FETCH handlers import the session, which imports this module.
    from academail.imap.commands.fetch import render_chunk

    view = session.selected
    wanted = list(items)
    if not any(i.name == "UID" for i in wanted):
        wanted.insert(0, FetchItem("UID"))
    lines = await session.run(
        render_chunk, view.mailbox_id, uids, wanted, None, session.condstore, {}, view.recent.copy(), view.seen_for,
    )
    out = [b"* %d FETCH (" % seq + body + b")\r\n" for uid, body in lines if (seq := view.seq_of(uid)) is not None]
    if out:
        await session.conn.write(b"".join(out))
