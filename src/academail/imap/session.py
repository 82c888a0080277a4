"""One IMAP session: the command handlers, run after the server has parsed a
command and checked it against the state table (``state.ALLOWED``). Handlers call
store and accounts functions off the event loop (``Session.run``), and announce
other sessions' changes (EXISTS, FETCH FLAGS, EXPUNGE/VANISHED) only where RFC
3501 §7.4.1 and RFC 7162 allow it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings

from academail.accounts.services import (
    check_sign_in,
    do_note_plaintext_refused,
    pause_before_refusal,
)
from academail.imap import limits
from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.parsing import search as S
from academail.imap.parsing.fetch import FetchItem
from academail.imap.parsing.lexer import SequenceSet
from academail.imap.render import fetch_items, flags_item, pin
from academail.imap.state import State
from academail.imap.view import InvalidSequence, SelectedView
from academail.server import sasl
from academail.store import imap as store
from academail.store.errors import (
    InvalidMailboxName,
    MailboxExists,
    MailboxNotFound,
    ProtectedMailbox,
    QuotaExceeded,
    StoreError,
)
from academail.store.events import MailEvent, Subscription, bus
from academail.store.messages import do_expunge, do_set_flags, quota_usage

if TYPE_CHECKING:
    from academail.imap.server import Connection

log = logging.getLogger(__name__)
T = TypeVar("T")

SEPARATOR = "/"
FETCH_CHUNK = 500
# RFC 6154 attributes of the special folders.
SPECIAL_USE_ATTRIBUTES = {
    "sent": "\\Sent", "drafts": "\\Drafts", "trash": "\\Trash", "junk": "\\Junk", "archive": "\\Archive",
}
ENABLEABLE = ("CONDSTORE", "QRESYNC", "UTF8=ACCEPT")
# Resynchronisations in flight, shared by the sessions whose views are in the
# same state: (account, mailbox, modseq, last UID) -> (the newest event the
# starting session had seen, result). One delivery wakes every phone idling on
# that INBOX, and they all ask the same question.
_RESYNCS: dict[tuple[int, int, int, int], tuple[MailEvent | None, asyncio.Future[store.Changes]]] = {}
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
        "UTF8=ACCEPT",
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

    # -- plumbing ---------------------------------------------------------------
    @property
    def utf8(self) -> bool:
        return "UTF8=ACCEPT" in self.enabled

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self.enabled

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

    async def untagged(self, text: str | bytes) -> None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        await self.conn.write(b"* " + data + b"\r\n")

    async def tagged(self, tag: str, status: str, text: str, code: str | None = None) -> None:
        coded = f"[{code}] " if code else ""
        await self.conn.write(f"{tag} {status} {coded}{text}\r\n".encode())

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
        if self.subscription is None or self.view is None:
            return
        queue = self.subscription.queue
        while not queue.empty():
            event = queue.get_nowait()
            if event.mailbox_id == self.view.mailbox_id:
                self._poke(event)

    def _poke(self, event: MailEvent) -> None:
        assert self.view is not None
        self.view.poked = True
        self.last_event = event

    async def _changes_since(self, view: SelectedView) -> store.Changes:
        """``store.changes_since`` for this view, sharing a query already in
        flight for the same view state when it was started by a session that
        had already received our newest event (the very same object: the bus
        hands one instance to every subscriber). That query then sees every
        change the event announced: events are published after commit, and
        the query started after the event arrived."""
        key = (self.account, view.mailbox_id, view.modseq, view.last_uid)
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
        FETCH, STORE or SEARCH, whose sequence numbers would shift (RFC 3501 §7.4.1)."""
        if self.state is not State.SELECTED:
            return
        self._drain_events()
        view = self.selected
        if view.poked:
            view.poked = False
            try:
                changes = await self._changes_since(view)
            except MailboxNotFound:
                await self.untagged(f"BYE {R.BYE_MAILBOX_GONE}")
                self.state = State.LOGOUT
                return
            for uid in changes.expunged:
                if view.seq_of(uid) is not None:
                    view.pending_expunge.add(uid)
            for row in changes.changed:
                seq = view.seq_of(row.uid)
                if seq is None or row.uid in view.pending_expunge or view.reported.get(row.uid, 0) >= row.modseq:
                    continue
                await self.untagged(self._flags_fetch(seq, row.uid, row.flags, row.keywords, row.modseq))
            view.modseq = max(view.modseq, changes.highestmodseq)
            view.reported = {u: m for u, m in view.reported.items() if m > view.modseq}
            view.uidnext = max(view.uidnext, changes.uidnext)
            if expunge_ok:
                await self._send_expunged(sorted(view.pending_expunge))
            if changes.new_uids:
                view.add(changes.new_uids)
                await self.untagged(f"{view.exists} EXISTS")
        elif expunge_ok and view.pending_expunge:
            await self._send_expunged(sorted(view.pending_expunge))

    async def _send_expunged(self, uids: list[int]) -> None:
        """EXPUNGE responses in descending order, or one VANISHED (RFC 7162 §3.2.10)."""
        if not uids:
            return
        view = self.selected
        if "QRESYNC" in self.enabled:
            present = [u for u in uids if view.seq_of(u) is not None]
            view.remove(present)
            if present:
                await self.untagged(f"VANISHED {R.number_set(present)}")
            return
        for seq in view.remove(uids):
            await self.untagged(f"{seq} EXPUNGE")

    def _flags_fetch(self, seq: int, uid: int, flags: int, keywords: str, modseq: int, *, with_uid: bool = True) -> bytes:
        items = [flags_item(flags, keywords)]
        if with_uid:
            items.insert(0, b"UID %d" % uid)
        if self.condstore:
            items.append(b"MODSEQ (%d)" % modseq)
        return b"%d FETCH (" % seq + b" ".join(items) + b")"

    # -- dispatch -------------------------------------------------------------------
    async def dispatch(self, command: C.Command) -> None:
        handler = getattr(self, "do_" + command.name.replace(" ", "_").lower())
        await handler(command)

    # -- any state ------------------------------------------------------------------
    async def do_capability(self, command: C.Command) -> None:
        await self.untagged(f"CAPABILITY {self.capability_line()}")
        await self.ok(command)

    async def do_noop(self, command: C.Command) -> None:
        await self.announce(expunge_ok=True)  # RFC 3501 §6.1.2: the polling command
        await self.ok(command)

    async def do_logout(self, command: C.Command) -> None:
        await self.untagged(f"BYE {R.BYE_LOGOUT}")
        await self.ok(command)
        self.state = State.LOGOUT

    async def do_id(self, command: C.Command) -> None:
        # RFC 2971: answer with our own identification. The client's name names
        # the device in the sign-in journal when it comes before LOGIN.
        assert isinstance(command, C.Id)
        if self.state is State.NOT_AUTHENTICATED:
            for key, value in command.params or ():
                if key.lower() == "name" and value:
                    self.client_name = value[:100]
        await self.untagged('ID ("name" "academail" "vendor" "academail")')
        await self.ok(command)

    # -- not authenticated ------------------------------------------------------------
    async def do_starttls(self, command: C.Command) -> None:
        if self.conn.tls or not self.conn.starttls_available:
            await self.bad(command, R.BAD_TLS_ACTIVE)
            return
        await self.conn.start_tls(f"{command.tag} OK {R.OK_STARTTLS}\r\n".encode())

    async def do_login(self, command: C.Command) -> None:
        assert isinstance(command, C.Login)
        if not self.conn.tls:
            # RFC 9051 §6.2.3: LOGINDISABLED; the owner's journal says why (phone diagnosis).
            await self.run(do_note_plaintext_refused, command.user, protocol="imap",
                           remote_addr=self.conn.peer, client_name=self.client_name)
            await self.no(command, R.NO_LOGIN_DISABLED, R.CODE_PRIVACYREQUIRED)
            return
        await self._authenticate(command, command.user, command.password)

    async def do_authenticate(self, command: C.Command) -> None:
        assert isinstance(command, C.Authenticate)
        if not self.conn.tls:
            await self.no(command, R.NO_LOGIN_DISABLED, R.CODE_PRIVACYREQUIRED)
            return
        if command.mechanism != "PLAIN":
            await self.no(command, R.NO_MECHANISM, R.CODE_CANNOT)
            return
        initial = command.initial
        if initial is None:
            await self.conn.write(b"+ \r\n")
            initial = (await self.conn.next_line()).rstrip(b"\r\n")
        if initial == b"*":  # RFC 3501 §6.2.2: the client cancels
            await self.bad(command, R.BAD_AUTH_CANCELLED)
            return
        if initial == b"=":  # RFC 4959 §3: an empty initial response
            initial = b""
        try:
            plain = sasl.decode_plain(initial)
        except sasl.SaslError:
            await self.bad(command, "Invalid SASL PLAIN response")
            return
        if plain.acts_for_another:
            await self.no(command, R.NO_AUTH_FAILED, "AUTHORIZATIONFAILED")
            return
        await self._authenticate(command, plain.user, plain.password)

    async def _authenticate(self, command: C.Command, user: str, password: str) -> None:
        result = await self.run(
            check_sign_in, user, password, protocol="imap", remote_addr=self.conn.peer, client_name=self.client_name
        )
        account = result.account
        if account is None:
            await pause_before_refusal(result)
            if result.throttled:
                # RFC 5530 §3 [UNAVAILABLE]: a temporary refusal, so the client
                # does not ask the person for their password again.
                await self.no(command, R.NO_AUTH_THROTTLED.format(seconds=result.retry_after), R.CODE_UNAVAILABLE)
            else:
                await self.no(command, R.NO_AUTH_FAILED, R.CODE_AUTHENTICATIONFAILED)
            return
        # Checked after the password, so the refusal tells nothing to someone without it.
        if not limits.by_account.acquire(account.pk, limits.MAX_CONNECTIONS_PER_ACCOUNT):
            await self.no(command, R.NO_TOO_MANY_FOR_ACCOUNT, R.CODE_LIMIT)  # RFC 5530 §3
            return
        self.counted_account = account.pk
        self.account_id = account.pk
        self.state = State.AUTHENTICATED
        self.subscription = bus.subscribe(account.pk)
        await self.ok(command, f"CAPABILITY {self.capability_line()}", f"{command.name} {R.OK_DONE}")

    # -- authenticated ---------------------------------------------------------------
    async def do_enable(self, command: C.Command) -> None:
        assert isinstance(command, C.Enable)
        newly: list[str] = []
        for cap in command.capabilities:
            if cap in ENABLEABLE and cap not in self.enabled:
                self.enabled.add(cap)
                newly.append(cap)
                if cap == "QRESYNC":
                    self.enabled.add("CONDSTORE")  # RFC 7162 §3.2.3
        await self.untagged("ENABLED" + "".join(" " + c for c in newly))  # RFC 5161 §3.2
        await self.ok(command)

    async def do_namespace(self, command: C.Command) -> None:
        await self.untagged('NAMESPACE (("" "/")) NIL NIL')  # RFC 2342: personal only
        await self.ok(command)

    async def _unselect(self) -> None:
        if self.view is not None:
            self.view = None
            self.state = State.AUTHENTICATED

    async def do_select(self, command: C.Command) -> None:
        assert isinstance(command, C.Select)
        if self.view is not None:
            await self._unselect()
            await self.untagged(f"OK [{R.CODE_CLOSED}] Previous mailbox closed")  # RFC 7162 §3.2.11
        if command.qresync is not None and "QRESYNC" not in self.enabled:
            await self.bad(command, "QRESYNC is not enabled")  # RFC 7162 §3.2.5
            return
        if command.condstore:
            self.enabled.add("CONDSTORE")  # RFC 7162 §3.1.8
        try:
            snap = await self.run(store.select_snapshot, self.account, command.mailbox)
        except MailboxNotFound as exc:
            await self.no(command, exc.message, R.CODE_NONEXISTENT)
            return
        info = snap.info
        view = SelectedView(
            mailbox_id=info.id, name=info.name, uidvalidity=info.uidvalidity, uids=snap.uids,
            highestmodseq=info.highestmodseq, uidnext=info.uidnext, readonly=command.readonly,
        )
        flags = " ".join(R.SYSTEM_FLAGS)
        await self.untagged(f"FLAGS ({flags})")
        permanent = "" if command.readonly else f"{flags} \\*"
        await self.untagged(f"OK [PERMANENTFLAGS ({permanent})] Flags permitted")
        await self.untagged(f"{view.exists} EXISTS")
        await self.untagged("0 RECENT")  # no \Recent here (RFC 9051 drops it)
        if snap.first_unseen is not None:
            await self.untagged(f"OK [UNSEEN {snap.first_unseen}] First unseen")
        await self.untagged(f"OK [UIDVALIDITY {info.uidvalidity}] UIDs valid")
        await self.untagged(f"OK [UIDNEXT {info.uidnext}] Predicted next UID")
        await self.untagged(f"OK [HIGHESTMODSEQ {info.highestmodseq}] Highest")  # RFC 7162 §3.1.2.1
        self.view = view
        self.state = State.SELECTED
        if command.qresync is not None and command.qresync.uidvalidity == info.uidvalidity:
            await self._qresync(command.qresync)
        code = R.CODE_READ_ONLY if command.readonly else R.CODE_READ_WRITE
        await self.ok(command, code)

    async def _qresync(self, q: C.Qresync) -> None:
        """RFC 7162 §3.2.5.2: VANISHED (EARLIER) then the flags changed since."""
        view = self.selected
        known = q.known_uids.resolve(max(view.uidnext - 1, 1)) if q.known_uids else None
        vanished = await self.run(store.vanished_uids, view.mailbox_id, q.modseq, known)
        if vanished:
            await self.untagged(f"VANISHED (EARLIER) {R.number_set(vanished)}")
        if view.uids:
            rows = await self.run(store.flag_rows, view.mailbox_id, [(view.uids[0], view.last_uid)], changed_since=q.modseq)
            for row in rows:
                seq = view.seq_of(row.uid)
                if seq is not None:
                    await self.untagged(self._flags_fetch(seq, row.uid, row.flags, row.keywords, row.modseq))

    do_examine = do_select

    async def do_create(self, command: C.Command) -> None:
        assert isinstance(command, C.MailboxCommand)
        name = command.mailbox.rstrip(SEPARATOR)  # RFC 3501 §6.3.3: "foo/" creates "foo"
        if name.upper() == "INBOX":
            await self.no(command, "INBOX already exists", R.CODE_ALREADYEXISTS)
            return
        try:
            await self.run(store.create_mailbox, self.account, name)
        except MailboxExists as exc:
            await self.no(command, exc.message, R.CODE_ALREADYEXISTS)
            return
        except InvalidMailboxName as exc:
            await self.no(command, exc.message, R.CODE_CANNOT)
            return
        await self.ok(command)

    async def do_delete(self, command: C.Command) -> None:
        assert isinstance(command, C.MailboxCommand)
        try:
            await self.run(store.delete_mailbox, self.account, command.mailbox)
        except MailboxNotFound as exc:
            await self.no(command, exc.message, R.CODE_NONEXISTENT)
            return
        except ProtectedMailbox as exc:
            await self.no(command, exc.message, R.CODE_CANNOT)
            return
        await self.ok(command)

    async def do_rename(self, command: C.Command) -> None:
        assert isinstance(command, C.Rename)
        try:
            await self.run(store.rename_mailbox, self.account, command.mailbox, command.new_name.rstrip(SEPARATOR))
        except MailboxNotFound as exc:
            await self.no(command, exc.message, R.CODE_NONEXISTENT)
            return
        except MailboxExists as exc:
            await self.no(command, exc.message, R.CODE_ALREADYEXISTS)
            return
        except (ProtectedMailbox, InvalidMailboxName) as exc:
            await self.no(command, exc.message, R.CODE_CANNOT)
            return
        await self.ok(command)

    async def _subscribe(self, command: C.Command, subscribed: bool) -> None:
        assert isinstance(command, C.MailboxCommand)
        try:
            await self.run(store.subscribe_mailbox, self.account, command.mailbox, subscribed)
        except MailboxNotFound as exc:
            await self.no(command, exc.message, R.CODE_NONEXISTENT)
            return
        await self.ok(command)

    async def do_subscribe(self, command: C.Command) -> None:
        await self._subscribe(command, True)

    async def do_unsubscribe(self, command: C.Command) -> None:
        await self._subscribe(command, False)

    async def do_list(self, command: C.Command) -> None:
        assert isinstance(command, C.ListCommand)
        lsub = command.name == "LSUB"
        if command.patterns == ("",) and not command.extended:
            # RFC 3501 §6.3.8: the hierarchy delimiter and root.
            await self.untagged(f'{command.name} (\\Noselect) "/" ""')
            await self.ok(command)
            return
        boxes = await self.run(store.list_mailbox_infos, self.account)
        names = {b.name for b in boxes}
        regexes = [_pattern(command.reference + p) for p in command.patterns]
        subscribed_only = lsub or "SUBSCRIBED" in command.selection
        special_only = "SPECIAL-USE" in command.selection
        show_subscribed = "SUBSCRIBED" in command.selection or "SUBSCRIBED" in command.returns
        for box in boxes:
            if not any(rx.match(box.name) for rx in regexes):
                continue
            if subscribed_only and not box.subscribed:
                continue
            if special_only and not (box.special_use and box.special_use != "inbox"):
                continue
            attributes: list[str] = []
            if not lsub:
                children = any(n.startswith(box.name + SEPARATOR) for n in names)
                attributes.append("\\HasChildren" if children else "\\HasNoChildren")
                if show_subscribed and box.subscribed:
                    attributes.append("\\Subscribed")
            use = SPECIAL_USE_ATTRIBUTES.get(box.special_use or "")
            if use:
                attributes.append(use)
            line = f"{command.name} ({' '.join(attributes)}) \"/\" ".encode() + self.wire_name(box.name)
            await self.untagged(line)
            if command.status_items and not lsub:
                await self.untagged(b"STATUS " + self.wire_name(box.name) + b" " + _status_items(box, command.status_items))
        await self.ok(command)

    do_lsub = do_list

    async def do_status(self, command: C.Command) -> None:
        assert isinstance(command, C.Status)
        try:
            info = await self.run(store.mailbox_info, self.account, command.mailbox)
        except MailboxNotFound as exc:
            await self.no(command, exc.message, R.CODE_NONEXISTENT)
            return
        if "DELETED" in command.items:
            await self.bad(command, "STATUS DELETED is not supported")
            return
        await self.untagged(b"STATUS " + self.wire_name(info.name) + b" " + _status_items(info, command.items))
        await self.ok(command)

    async def do_append(self, command: C.Command) -> None:
        assert isinstance(command, C.Append)
        if len(command.message) > settings.MAX_MESSAGE_SIZE:
            await self.no(command, "Message too big / message trop volumineux", R.CODE_TOOBIG)  # RFC 7889
            return
        if not command.message:
            await self.no(command, "Empty message", R.CODE_CANNOT)
            return
        try:
            bits, keywords = parse_flags(command.flags)
        except ValueError as exc:
            await self.bad(command, str(exc))
            return
        try:
            uidvalidity, uid = await self.run(
                store.append_message, self.account, command.mailbox, command.message,
                flags=bits, keywords=" ".join(keywords), internaldate=command.date,
            )
        except MailboxNotFound as exc:
            await self.no(command, exc.message, R.CODE_TRYCREATE)  # RFC 3501 §6.3.11
            return
        except QuotaExceeded as exc:
            await self.no(command, exc.message, R.CODE_OVERQUOTA)  # RFC 9208 §4.4
            return
        await self.announce(expunge_ok=True)
        await self.ok(command, f"APPENDUID {uidvalidity} {uid}")  # RFC 4315 §3

    async def do_idle(self, command: C.Command) -> None:
        """RFC 2177: report changes as they happen until the client sends DONE."""
        await self.conn.write(f"+ {R.OK_IDLE}\r\n".encode())
        await self.announce(expunge_ok=True)
        await self.conn.flush()
        subscription = self.subscription
        assert subscription is not None
        loop = asyncio.get_running_loop()
        reader = asyncio.ensure_future(self.conn.next_line())
        try:
            while True:
                # One future per wait, resolved by a new event or by the
                # client's line: no task per event and no asyncio.wait, which
                # mattered when a delivery wakes a thousand sessions at once.
                if subscription.queue.empty() and not reader.done():
                    wake: asyncio.Future[None] = loop.create_future()

                    def wake_up(_: object, wake: asyncio.Future[None] = wake) -> None:
                        if not wake.done():
                            wake.set_result(None)

                    subscription.wakeup = wake
                    reader.add_done_callback(wake_up)
                    try:
                        await wake
                    finally:
                        subscription.wakeup = None
                        reader.remove_done_callback(wake_up)
                if not subscription.queue.empty():
                    while not subscription.queue.empty():
                        event = subscription.queue.get_nowait()
                        if self.view is not None and event.mailbox_id == self.view.mailbox_id:
                            self._poke(event)
                    await self.announce(expunge_ok=True)
                    await self.conn.flush()
                    if self.state is State.LOGOUT:
                        return
                if reader.done():
                    line = reader.result().rstrip(b"\r\n")
                    if line.upper() == b"DONE":
                        await self.ok(command)
                    else:
                        await self.bad(command, "Expected DONE")
                    return
        finally:
            for task in (reader,):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def do_getquotaroot(self, command: C.Command) -> None:
        assert isinstance(command, C.MailboxCommand)
        try:
            info = await self.run(store.mailbox_info, self.account, command.mailbox)
        except MailboxNotFound as exc:
            await self.no(command, exc.message, R.CODE_NONEXISTENT)
            return
        used, limit = await self.run(quota_usage, self.account)
        # RFC 9208 §4.3: one quota root, "", for the whole account.
        if limit > 0:
            await self.untagged(b"QUOTAROOT " + self.wire_name(info.name) + b' ""')
            await self.untagged(_quota_line(used, limit))
        else:
            await self.untagged(b"QUOTAROOT " + self.wire_name(info.name))
        await self.ok(command)

    async def do_getquota(self, command: C.Command) -> None:
        assert isinstance(command, C.GetQuota)
        used, limit = await self.run(quota_usage, self.account)
        if command.root != "" or limit <= 0:
            await self.no(command, "No such quota root", R.CODE_NONEXISTENT)
            return
        await self.untagged(_quota_line(used, limit))
        await self.ok(command)

    # -- selected ---------------------------------------------------------------------
    def _uids(self, command: C.Command, sequence: SequenceSet, uid: bool) -> list[int]:
        return self.selected.uids_for(sequence, uid=uid)

    async def do_check(self, command: C.Command) -> None:
        await self.announce(expunge_ok=True)
        await self.ok(command)

    async def do_close(self, command: C.Command) -> None:
        view = self.selected
        if not view.readonly:
            # RFC 3501 §6.4.2: expunge silently, no EXPUNGE responses.
            await self.run(do_expunge, self.account, view.mailbox_id)
        await self._unselect()
        await self.ok(command)

    async def do_unselect(self, command: C.Command) -> None:
        await self._unselect()  # RFC 3691
        await self.ok(command)

    async def do_expunge(self, command: C.Command) -> None:
        view = self.selected
        if view.readonly:
            await self.no(command, R.NO_READ_ONLY, R.CODE_READ_ONLY)
            return
        ranges = None
        if isinstance(command, C.UidExpunge):  # RFC 4315 §2.1
            ranges = to_ranges(self._uids(command, command.set, True))
            if not ranges:
                await self.announce(expunge_ok=True)
                await self.ok(command)
                return
        removed = await self.run(do_expunge, self.account, view.mailbox_id, ranges)
        await self._send_expunged(sorted(set(removed) | view.pending_expunge))
        await self.announce(expunge_ok=True)
        await self.ok(command)

    do_uid_expunge = do_expunge

    async def do_search(self, command: C.Command) -> None:
        assert isinstance(command, C.Search)
        if command.charset not in (None, "UTF-8", "US-ASCII"):
            await self.no(command, "Unsupported charset", R.CODE_BADCHARSET)  # RFC 3501 §6.4.4
            return
        view = self.selected
        criterion, uses_modseq = self._criterion(command.key)
        if uses_modseq:
            self.enabled.add("CONDSTORE")  # RFC 7162 §3.1: MODSEQ search enables it
        try:
            found = await self.run(store.search_uids, view.mailbox_id, criterion)
        except store.SearchTooComplex:
            await self.no(command, "Search too complex", R.CODE_LIMIT)
            return
        results = [(uid, modseq) for uid, modseq in found if view.seq_of(uid) is not None]
        numbers = [uid if command.uid else (view.seq_of(uid) or 0) for uid, _ in results]
        highest = max((m for _, m in results), default=0)
        if command.returns is None:
            line = "SEARCH" + "".join(f" {n}" for n in numbers)
            if uses_modseq and numbers:
                line += f" (MODSEQ {highest})"  # RFC 7162 §3.1.5
            await self.untagged(line)
        else:
            # RFC 4731 §3.1: ESEARCH with the options asked for.
            parts = [f'ESEARCH (TAG "{command.tag}")'] + (["UID"] if command.uid else [])
            returns = command.returns
            if numbers:
                if "MIN" in returns:
                    parts.append(f"MIN {min(numbers)}")
                if "MAX" in returns:
                    parts.append(f"MAX {max(numbers)}")
            if "COUNT" in returns:
                parts.append(f"COUNT {len(numbers)}")
            if numbers and "ALL" in returns:
                parts.append(f"ALL {R.number_set(sorted(numbers))}")
            if uses_modseq and numbers:
                parts.append(f"MODSEQ {highest}")
            await self.untagged(" ".join(parts))
        await self.announce(expunge_ok=command.uid)
        await self.ok(command)

    def _criterion(self, key: S.SearchKey) -> tuple[store.Criterion, bool]:
        view = self.selected
        uses_modseq = False
        by_name = {name.lower(): bit for bit, name in store.Flag.NAMES.items()}

        def convert(k: S.SearchKey) -> store.Criterion:
            nonlocal uses_modseq
            if isinstance(k, S.Const):
                return store.Everything(k.value)
            if isinstance(k, S.FlagKey):
                bit = by_name.get(k.flag.lower(), 0)
                if k.flag.startswith("\\") and not bit:
                    return store.Everything(not k.present)  # \Recent and unknown flags
                return store.HasFlag(bit, "" if bit else k.flag, k.present)
            if isinstance(k, S.TextKey):
                return store.TextMatch(k.field, k.value)
            if isinstance(k, S.HeaderKey):
                if k.field in ("subject", "from", "to", "cc", "bcc"):
                    return store.TextMatch(k.field, k.value)
                # Other header fields are not cached: match the full-text index.
                return store.TextMatch("text", k.value) if k.value else store.Everything(True)
            if isinstance(k, S.DateKey):
                return store.DateMatch(k.field, k.op, k.date)
            if isinstance(k, S.SizeKey):
                return store.SizeMatch(k.larger, k.size)
            if isinstance(k, S.SetKey):
                if k.uid:
                    return store.UidIn(tuple(k.set.resolve(view.last_uid)) if view.uids else ())
                seqs = k.set.resolve(view.exists)
                uids = [view.uids[s - 1] for lo, hi in seqs for s in range(max(lo, 1), min(hi, view.exists) + 1)]
                return store.UidIn(tuple(to_ranges(sorted(set(uids)))))
            if isinstance(k, S.ModseqKey):
                uses_modseq = True
                return store.ModseqAtLeast(k.modseq)
            if isinstance(k, S.Not):
                return store.Negation(convert(k.key))
            if isinstance(k, S.Or):
                return store.Either(convert(k.left), convert(k.right))
            return store.Conjunction(tuple(convert(x) for x in k.keys))

        return convert(key), uses_modseq

    async def do_fetch(self, command: C.Command) -> None:
        assert isinstance(command, C.Fetch)
        view = self.selected
        try:
            uids = self._uids(command, command.set, command.uid)
        except InvalidSequence as exc:
            await self.bad(command, f"Invalid sequence set: {exc}")
            return
        items = list(command.items)
        names = {i.name for i in items}
        if command.uid and "UID" not in names:
            items.insert(0, FetchItem("UID"))  # RFC 3501 §6.4.8
        if "MODSEQ" in names or command.changed_since is not None:
            self.enabled.add("CONDSTORE")  # RFC 7162 §3.1: these enable CONDSTORE
        with_modseq = "MODSEQ" in names or command.changed_since is not None
        sets_seen = not view.readonly and any(
            (i.section is not None and not i.peek) or i.name in ("RFC822", "RFC822.TEXT") for i in items
        )
        newly_seen: dict[int, store.FlagRow] = {}
        if sets_seen and uids:
            # RFC 3501 §6.4.5: a non-PEEK body fetch sets \Seen.
            changes = await self.run(do_set_flags, self.account, view.mailbox_id, to_ranges(uids), mode="add", flags=store.Flag.SEEN)
            for change in changes:
                view.reported[change.uid] = change.modseq
                newly_seen[change.uid] = store.FlagRow(change.uid, change.flags, change.keywords, change.modseq)
        if command.vanished and command.changed_since is not None:
            ranges = command.set.resolve(view.last_uid) if view.uids else []
            vanished = await self.run(store.vanished_uids, view.mailbox_id, command.changed_since, ranges)
            if vanished:
                await self.untagged(f"VANISHED (EARLIER) {R.number_set(vanished)}")
        structure = any(i.name in ("BODYSTRUCTURE", "BODY", "RFC822.HEADER", "RFC822.TEXT") or i.section is not None for i in items)
        envelope = "ENVELOPE" in names
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start : start + FETCH_CHUNK]
            lines = await self.run(
                _render_chunk, view.mailbox_id, chunk, items, structure, envelope, command.changed_since,
                with_modseq or (self.condstore and "FLAGS" in names), newly_seen,
            )
            # One write per chunk: a TLS record and a buffer check per line
            # would cost more than rendering the line.
            out = [b"* %d FETCH (" % seq + body + b")\r\n" for uid, body in lines if (seq := view.seq_of(uid)) is not None]
            if out:
                await self.conn.write(b"".join(out))
        await self.announce(expunge_ok=command.uid)
        await self.ok(command)

    async def do_store(self, command: C.Command) -> None:
        assert isinstance(command, C.Store)
        view = self.selected
        if view.readonly:
            await self.no(command, R.NO_READ_ONLY, R.CODE_READ_ONLY)
            return
        try:
            uids = self._uids(command, command.set, command.uid)
            bits, keywords = parse_flags(command.flags)
        except (InvalidSequence, ValueError) as exc:
            await self.bad(command, str(exc))
            return
        ranges = to_ranges(uids)
        modified: list[int] = []
        if command.unchanged_since is not None:
            self.enabled.add("CONDSTORE")
            # RFC 7162 §3.1.3: messages changed after UNCHANGEDSINCE are not touched.
            rows = await self.run(store.flag_rows, view.mailbox_id, ranges, changed_since=command.unchanged_since)
            modified = [r.uid for r in rows]
        if ranges:
            changes = await self.run(
                do_set_flags, self.account, view.mailbox_id, ranges, mode=command.mode, flags=bits,
                keywords=keywords, unchanged_since=command.unchanged_since,
            )
        else:
            changes = []
        for change in changes:
            view.reported[change.uid] = change.modseq
        if not command.silent and ranges:
            skip = set(modified)
            rows = await self.run(store.flag_rows, view.mailbox_id, ranges)
            for row in rows:
                seq = view.seq_of(row.uid)
                if seq is not None and row.uid not in skip:
                    await self.untagged(self._flags_fetch(seq, row.uid, row.flags, row.keywords, row.modseq, with_uid=command.uid))
        elif command.silent and self.condstore:
            # RFC 7162 §3.1.3: even with .SILENT, report the new MODSEQ.
            for change in changes:
                seq = view.seq_of(change.uid)
                if seq is not None:
                    await self.untagged(f"{seq} FETCH (UID {change.uid} MODSEQ ({change.modseq}))")
        await self.announce(expunge_ok=command.uid)
        if modified:
            numbers = modified if command.uid else sorted(s for u in modified if (s := view.seq_of(u)))
            await self.ok(command, f"MODIFIED {R.number_set(numbers)}", "Conditional STORE failed")
        else:
            await self.ok(command)

    async def do_copy(self, command: C.Command) -> None:
        assert isinstance(command, C.Copy)
        view = self.selected
        if command.move and view.readonly:
            await self.no(command, R.NO_READ_ONLY, R.CODE_READ_ONLY)
            return
        try:
            uids = self._uids(command, command.set, command.uid)
        except InvalidSequence as exc:
            await self.bad(command, f"Invalid sequence set: {exc}")
            return
        if not uids:
            await self.ok(command)
            return
        try:
            uidvalidity, mapping = await self.run(
                store.copy_messages, self.account, view.mailbox_id, to_ranges(uids), command.mailbox, move=command.move
            )
        except MailboxNotFound as exc:
            await self.no(command, exc.message, R.CODE_TRYCREATE)
            return
        except QuotaExceeded as exc:
            await self.no(command, exc.message, R.CODE_OVERQUOTA)
            return
        code = None
        if mapping:
            code = f"COPYUID {uidvalidity} {R.number_set(s for s, _ in mapping)} {R.number_set(d for _, d in mapping)}"
        if command.move:
            # RFC 6851 §4.3: COPYUID in an untagged OK, then the expunges.
            if code:
                await self.untagged(f"OK [{code}] Moved")
            await self._send_expunged([s for s, _ in mapping])
            await self.announce(expunge_ok=True)
            await self.ok(command)
            return
        await self.announce(expunge_ok=command.uid)
        await self.ok(command, code)

    do_move = do_copy


def _status_items(info: store.MailboxInfo, items: Iterable[str]) -> bytes:
    values = {
        "MESSAGES": info.messages, "RECENT": 0, "UIDNEXT": info.uidnext,
        "UIDVALIDITY": info.uidvalidity, "UNSEEN": info.unseen,
        "HIGHESTMODSEQ": info.highestmodseq, "SIZE": info.size,  # RFC 8438
    }
    return ("(" + " ".join(f"{i} {values[i]}" for i in items if i in values) + ")").encode()


def _quota_line(used: int, limit: int) -> bytes:
    # RFC 9208 §5.2: STORAGE in units of 1024 octets.
    return b'QUOTA "" (STORAGE %d %d)' % ((used + 1023) // 1024, limit // 1024)


def _pattern(pattern: str) -> re.Pattern[str]:
    """A LIST pattern (RFC 3501 §6.3.8): "*" matches anything, "%" anything but
    the hierarchy separator. INBOX is matched case-insensitively (RFC 3501 §5.1)."""

    def translate(text: str) -> str:
        return "".join(".*" if ch == "*" else "[^/]*" if ch == "%" else re.escape(ch) for ch in text)

    if pattern[:5].upper() == "INBOX":
        return re.compile("(?i:INBOX)" + translate(pattern[5:]) + r"\Z", re.DOTALL)
    return re.compile(translate(pattern) + r"\Z", re.DOTALL)


def _render_chunk(
    mailbox_id: int,
    uids: list[int],
    items: list[FetchItem],
    structure: bool,
    envelope: bool,
    changed_since: int | None,
    with_modseq: bool,
    newly_seen: dict[int, store.FlagRow],
) -> list[tuple[int, bytes]]:
    """Rows and their FETCH data for one chunk (runs in a store thread: reads
    the database and the blobs)."""
    del structure, envelope  # what the rows need is decided per content by render.pin
    rows = store.fetch_rows(mailbox_id, uids, changed_since=changed_since)
    pinned = pin(rows, items)
    if pinned.need_root or pinned.need_envelope:
        # Only the contents whose rendering is not cached: their JSON is read
        # and decoded here, once, then rendered and cached by fetch_items.
        missing = pinned.need_root | pinned.need_envelope
        found = store.content_structures(
            sorted(missing), structure=bool(pinned.need_root), envelope=bool(pinned.need_envelope)
        )
        rows = [
            dataclasses.replace(row, root=found[row.sha256][0], envelope=found[row.sha256][1])
            if row.sha256 in found else row
            for row in rows
        ]
    has_flags = any(i.name == "FLAGS" for i in items)
    out: list[tuple[int, bytes]] = []
    for row in rows:
        seen = newly_seen.get(row.uid)
        if seen is not None:
            row = store.FetchRow(
                uid=row.uid, modseq=max(row.modseq, seen.modseq), flags=row.flags | store.Flag.SEEN,
                keywords=row.keywords, internaldate=row.internaldate, size=row.size, prefix=row.prefix,
                sha256=row.sha256, root=row.root, envelope=row.envelope,
            )
        row_items = items
        if seen is not None and not has_flags:
            row_items = [*items, FetchItem("FLAGS")]  # RFC 3501 §6.4.5: report the new \Seen
        data = fetch_items(row, row_items, store.read_blob, with_modseq=with_modseq, pinned=pinned)
        if any(i.name == "UID" for i in row_items):
            data.insert(0, b"UID %d" % row.uid)
        out.append((row.uid, b" ".join(data)))
    return out


__all__ = ["Session", "StoreError", "capabilities"]
