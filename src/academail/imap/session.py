"""One IMAP session: its state (signed-in account, selected view, enabled
extensions), the replies, and the announcing of other sessions' changes
(EXISTS, FETCH FLAGS, EXPUNGE/VANISHED) only where RFC 3501 §7.4.1 and RFC
7162 allow it. The command handlers are in ``imap.commands``, one module per
family, run after the server has parsed a command and checked it against the
state table (``state.ALLOWED``); they call store and accounts functions off
the event loop (``Session.run``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings

from academail.imap import contexts, limits, notify
from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.parsing.lexer import SequenceSet
from academail.imap.render import flags_item
from academail.imap.state import State
from academail.imap.view import SelectedView
from academail.store import imap as store
from academail.store.errors import (
    MailboxNotFound,
    StoreError,
)
from academail.store.events import MailEvent, Subscription

if TYPE_CHECKING:
    from academail.imap.server import Connection

log = logging.getLogger(__name__)
T = TypeVar("T")

# Resynchronisations in flight, shared by the sessions whose views are in the
# same state: (account, mailbox, modseq, last UID, whose \Seen) -> (the newest event the
# starting session had seen, result). One delivery wakes every phone idling on
# that INBOX, and they all ask the same question.
_RESYNCS: dict[tuple[int, int, int, int, int | None], tuple[MailEvent | None, asyncio.Future[store.Changes]]] = {}
_KEYWORD = re.compile(r"^[!#$&'+\-.0-9:;<=>?@A-Z^_`a-z|~]{1,64}$")


def capabilities(*, tls: bool, authenticated: bool, starttls_offered: bool) -> str:
    caps = ["IMAP4rev1", "LITERAL+", "SASL-IR", "ID", "ENABLE"]
    if not authenticated:
        if tls:
            caps.append("AUTH=PLAIN")
        else:
            # RFC 3501 §6.2.3 / RFC 9051 §6.2.3: no plain-text password before TLS.
            if starttls_offered:
                caps.append("STARTTLS")
            caps.append("LOGINDISABLED")
        return " ".join(caps)
    caps += [
        "IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "SPECIAL-USE",
        "LIST-EXTENDED", "LIST-STATUS", "CONDSTORE", "QRESYNC", "ESEARCH", "QUOTA",
        "QUOTA=RES-STORAGE", f"APPENDLIMIT={settings.MAX_MESSAGE_SIZE}", "STATUS=SIZE",
        "UTF8=ACCEPT", "ACL", "RIGHTS=kxte",  # RFC 4314 §2.1 and §3
        "SORT", "ESORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",  # RFC 5256, RFC 5267 §3
        "CONTEXT=SEARCH", "CONTEXT=SORT",  # RFC 5267 §4
        "NOTIFY",  # RFC 5465
        "MULTIAPPEND", "BINARY", "COMPRESS=DEFLATE", "CATENATE",  # RFC 3502, 3516, 4978, 4469
    ]
    return " ".join(caps)


def to_ranges(uids: Iterable[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for uid in uids:
        if ranges and uid == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], uid)
        else:
            ranges.append((uid, uid))
    return ranges


def parse_flags(names: Iterable[str]) -> tuple[int, list[str]]:
    """Flag bits and keywords; ValueError for an unknown system flag."""
    bits = 0
    keywords: list[str] = []
    by_name = {name.lower(): bit for bit, name in store.Flag.NAMES.items()}
    for name in names:
        if name.startswith("\\"):
            if name.lower() == "\\recent":
                continue  # RFC 3501 §2.3.2: \Recent cannot be set by a client
            bit = by_name.get(name.lower())
            if bit is None:
                raise ValueError(f"unknown system flag {name[:40]}")
            bits |= bit
        elif _KEYWORD.match(name):
            keywords.append(name)
        else:
            raise ValueError("invalid keyword")
    return bits, keywords


class Session:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.state = State.NOT_AUTHENTICATED
        self.account_id: int | None = None
        self.view: SelectedView | None = None
        self.enabled: set[str] = set()
        self.subscription: Subscription | None = None
        self.client_name = ""  # the "name" the client gave in ID (RFC 2971), if before LOGIN
        self.counted_account: int | None = None  # counted in limits.by_account
        self.last_event: MailEvent | None = None  # newest event seen for the selected mailbox
        self.notify: notify.Notifying | None = None  # NOTIFY SET in force (RFC 5465)

    # -- plumbing ---------------------------------------------------------------
    @property
    def utf8(self) -> bool:
        return "UTF8=ACCEPT" in self.enabled

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self.enabled

    async def enable_condstore(self) -> None:
        """A CONDSTORE-enabling command (FETCH MODSEQ, CHANGEDSINCE, SEARCH MODSEQ,
        UNCHANGEDSINCE): the first one while a mailbox is selected reports the
        mailbox's HIGHESTMODSEQ (RFC 7162 §3.1)."""
        if self.condstore:
            return
        self.enabled.add("CONDSTORE")
        if self.view is not None:
            await self.untagged(f"OK [HIGHESTMODSEQ {self.view.modseq}] Highest")

    @property
    def account(self) -> int:
        assert self.account_id is not None
        return self.account_id

    @property
    def selected(self) -> SelectedView:
        assert self.view is not None
        return self.view

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self.conn.run(fn, *args, **kwargs)

    def text(self, text: str) -> str:
        """Human-readable response text: 7-bit unless UTF8=ACCEPT is enabled (RFC 6855 §3)."""
        return text if self.utf8 else R.seven_bit(text)

    async def untagged(self, text: str | bytes) -> None:
        data = self.text(text).encode("utf-8") if isinstance(text, str) else text
        await self.conn.write(b"* " + data + b"\r\n")

    async def tagged(self, tag: str, status: str, text: str, code: str | None = None) -> None:
        coded = f"[{code}] " if code else ""
        await self.conn.write(f"{tag} {status} {coded}{self.text(text)}\r\n".encode())

    async def ok(self, command: C.Command, code: str | None = None, text: str | None = None) -> None:
        await self.tagged(command.tag, "OK", text or f"{command.name} {R.OK_DONE}", code)

    async def no(self, command: C.Command, text: str, code: str | None = None) -> None:
        await self.tagged(command.tag, "NO", text, code)

    async def bad(self, command: C.Command, text: str, code: str | None = None) -> None:
        await self.tagged(command.tag, "BAD", text, code)

    def capability_line(self) -> str:
        return capabilities(
            tls=self.conn.tls, authenticated=self.state in (State.AUTHENTICATED, State.SELECTED),
            starttls_offered=self.conn.starttls_available,
        )

    def wire_name(self, name: str) -> bytes:
        return R.mailbox(name, utf8=self.utf8)

    def close(self) -> None:
        if self.counted_account is not None:
            limits.by_account.release(self.counted_account)
            self.counted_account = None
        if self.subscription is not None:
            self.subscription.close()
            self.subscription = None

    # -- announcing other sessions' changes ----------------------------------------
    def _drain_events(self) -> None:
        """Take the bus's events: the selected mailbox's poke its view, the
        others' are kept for NOTIFY when it is set (RFC 5465), else dropped
        (SELECT reads a fresh snapshot anyway)."""
        if self.subscription is None:
            return
        queue = self.subscription.queue
        while not queue.empty():
            event = queue.get_nowait()
            if self.view is not None and event.mailbox_id == self.view.mailbox_id:
                self.poke(event)
                if event.kind == "mailbox" and self.notify is not None:
                    self.notify.note(event.mailbox_id, event.kind)  # a rename of the selected one
            elif self.notify is not None:
                self.notify.note(event.mailbox_id, event.kind)

    def pending_events(self) -> bool:
        return self.subscription is not None and not self.subscription.queue.empty()

    async def wait_event_or(self, other: asyncio.Future[Any]) -> None:
        """Until the bus has an event for this session or ``other`` is done
        (the client's next line): one future per wait, resolved by either, no
        task per event and no asyncio.wait, which mattered when a delivery
        wakes a thousand idling sessions at once (IDLE, NOTIFY)."""
        subscription = self.subscription
        assert subscription is not None
        if not subscription.queue.empty() or other.done():
            return
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake_up(_: object) -> None:
            if not wake.done():
                wake.set_result(None)

        subscription.wakeup = wake
        other.add_done_callback(wake_up)
        try:
            await wake
        finally:
            subscription.wakeup = None
            other.remove_done_callback(wake_up)

    async def between_commands(self) -> None:
        """NOTIFY (RFC 5465) while the client sends nothing: the selected
        mailbox's changes when its filter asks for message events (EXPUNGE
        too with SELECTED, not with SELECTED-DELAYED, §5.1), and the rest."""
        notifying = self.notify
        if notifying is None:
            return
        self._drain_events()
        selected = notifying.selected_filter()
        if self.state is State.SELECTED and selected is not None and "MessageNew" in selected.events:
            new = await self._announce_selected(
                expunge_ok=selected.kind == "SELECTED", flags="FlagChange" in selected.events,
            )
            if new and selected.fetch and self.state is State.SELECTED:
                await notify.fetch_new(self, new, selected.fetch)
        await notify.deliver(self)

    def poke(self, event: MailEvent) -> None:
        assert self.view is not None
        self.view.poked = True
        self.last_event = event

    async def check_access(self) -> bool:
        """Before each command on someone else's mailbox: read the rights
        again (``store.rights_on``, the one rule), so a member removed while
        selected loses access at the next command. When access has ended the
        mailbox is closed (``OK [CLOSED]``, RFC 7162 §3.2.11) and False is
        returned."""
        view = self.view
        if view is None or not view.shared:
            return True
        rights = await self.run(store.rights_on, self.account, view.mailbox_id)
        if "r" in rights:
            view.rights = rights
            return True
        self.view = None
        self.state = State.AUTHENTICATED
        self.watch_owner(None)
        await self.untagged(f"OK [{R.CODE_CLOSED}] {R.NO_ACCESS_ENDED}")
        return False

    def watch_owner(self, owner_id: int | None) -> None:
        """Hear the events of the selected shared mailbox's owner (the bus
        announces a change to its owner's subscribers)."""
        if self.subscription is not None:
            self.subscription.watch({owner_id} if owner_id else set())

    async def _changes_since(self, view: SelectedView) -> store.Changes:
        """``store.changes_since`` for this view, sharing a query already in
        flight for the same view state when it was started by a session that
        had already received our newest event (the very same object: the bus
        hands one instance to every subscriber). That query then sees every
        change the event announced: events are published after commit, and
        the query started after the event arrived."""
        key = (self.account, view.mailbox_id, view.modseq, view.last_uid, view.seen_for)
        shared = _RESYNCS.get(key)
        if shared is not None and self.last_event is not None and shared[0] is self.last_event:
            return await asyncio.shield(shared[1])
        future = asyncio.ensure_future(self.run(store.changes_since, *key))
        _RESYNCS[key] = (self.last_event, future)

        def forget(done: asyncio.Future[store.Changes]) -> None:
            current = _RESYNCS.get(key)
            if current is not None and current[1] is done:
                del _RESYNCS[key]

        future.add_done_callback(forget)
        return await asyncio.shield(future)

    async def announce(self, *, expunge_ok: bool) -> None:
        """Tell the client what changed in the selected mailbox. EXPUNGE (or
        VANISHED with QRESYNC) only when ``expunge_ok``: never while answering
        FETCH, STORE or SEARCH, whose sequence numbers would shift (RFC 3501 §7.4.1).
        Then, with NOTIFY, what happened elsewhere (RFC 5465)."""
        self._drain_events()
        if self.state is State.SELECTED:
            await self._announce_selected(expunge_ok=expunge_ok)
        await notify.deliver(self)

    async def _announce_selected(self, *, expunge_ok: bool, flags: bool = True) -> list[int]:
        """``announce`` for the selected mailbox; the UIDs that became new.
        Without ``flags`` (NOTIFY without FlagChange, between commands) flag
        changes wait: the view's MODSEQ stays, so the next command tells them."""
        new_uids: list[int] = []
        view = self.selected
        candidates: set[int] = set()  # UIDs to test again against live searches
        if view.poked:
            view.poked = False
            try:
                changes = await self._changes_since(view)
            except MailboxNotFound:
                await self.untagged(f"BYE {R.BYE_MAILBOX_GONE}")
                self.state = State.LOGOUT
                return []
            for uid in changes.expunged:
                if view.seq_of(uid) is not None:
                    view.pending_expunge.add(uid)
            candidates.update(row.uid for row in changes.changed)
            candidates.update(changes.new_uids)
            if flags or not changes.changed:
                for row in changes.changed:
                    seq = view.seq_of(row.uid)
                    if seq is None or row.uid in view.pending_expunge or view.reported.get(row.uid, 0) >= row.modseq:
                        continue
                    await self.note_keywords(row.keywords)
                    await self.untagged(self.flags_fetch(seq, row.uid, row.flags, row.keywords, row.modseq))
                view.modseq = max(view.modseq, changes.highestmodseq)
                view.reported = {u: m for u, m in view.reported.items() if m > view.modseq}
            else:
                view.poked = True  # read again at the next command
                # New messages' own MODSEQ is not a flag change to tell then.
                view.reported.update(dict.fromkeys((u for u in changes.new_uids if u > view.last_uid), changes.highestmodseq))
            view.uidnext = max(view.uidnext, changes.uidnext)
            if expunge_ok:
                await self.send_expunged(sorted(view.pending_expunge))
            if changes.new_uids:
                new_uids = [u for u in changes.new_uids if u > view.last_uid]
                view.add(changes.new_uids)
                if not view.readonly:
                    # RFC 3501 §2.3.2: the first session told of new mail gets its \Recent.
                    view.recent.add(*await self.run(store.claim_recent, view.mailbox_id))
                await self.untagged(f"{view.exists} EXISTS")
                await self.untagged(f"{view.recent_count} RECENT")  # RFC 3501 §7.3.2
        elif expunge_ok and view.pending_expunge:
            await self.send_expunged(sorted(view.pending_expunge))
        if view.contexts.live and self.state is State.SELECTED:
            await contexts.refresh(self, candidates)  # after EXISTS (RFC 5267 §4.3.3)
        return new_uids

    async def send_expunged(self, uids: list[int]) -> None:
        """EXPUNGE responses in descending order, or one VANISHED (RFC 7162 §3.2.10)."""
        if not uids:
            return
        view = self.selected
        await contexts.removing(self, uids)  # REMOVEFROM first (RFC 5267 §4.3.4)
        if "QRESYNC" in self.enabled:
            present = [u for u in uids if view.seq_of(u) is not None]
            view.remove(present)
            if present:
                await self.untagged(f"VANISHED {R.number_set(present)}")
            return
        for seq in view.remove(uids):
            await self.untagged(f"{seq} EXPUNGE")

    def flags_line(self) -> str:
        """FLAGS: the system flags and the keywords in use (RFC 3501 §7.2.6)."""
        return "FLAGS (" + " ".join((*R.SYSTEM_FLAGS, *sorted(self.selected.keywords))) + ")"

    async def note_keywords(self, keywords: str) -> None:
        """Before a FETCH showing ``keywords``: a keyword the client has not seen
        yet gets an untagged FLAGS update first (RFC 3501 §7.2.6)."""
        view = self.selected
        new = {word for word in keywords.split() if word not in view.keywords}
        if new:
            view.keywords |= new
            await self.untagged(self.flags_line())

    def flags_fetch(self, seq: int, uid: int, flags: int, keywords: str, modseq: int, *, with_uid: bool = True) -> bytes:
        items = [flags_item(flags, keywords, uid in self.selected.recent)]
        if with_uid:
            items.insert(0, b"UID %d" % uid)
        if self.condstore:
            items.append(b"MODSEQ (%d)" % modseq)
        return b"%d FETCH (" % seq + b" ".join(items) + b")"

    def uids(self, sequence: SequenceSet, uid: bool) -> list[int]:
        """The UIDs a sequence set (of UIDs or of sequence numbers) names in the
        selected mailbox; raises InvalidSequence."""
        return self.selected.uids_for(sequence, uid=uid)


__all__ = ["Session", "StoreError", "capabilities"]
