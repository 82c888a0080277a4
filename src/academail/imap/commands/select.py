"""Opening and closing a mailbox: SELECT and EXAMINE (with CONDSTORE and
QRESYNC, RFC 7162), CHECK, CLOSE, UNSELECT (RFC 3691), EXPUNGE and UID
EXPUNGE (RFC 4315)."""

from __future__ import annotations

from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.session import Session, to_ranges
from academail.imap.state import State
from academail.imap.view import SelectedView
from academail.store import imap as store
from academail.store import messages
from academail.store.errors import (
    MailboxNotFound,
)


async def _unselect(session: Session) -> None:
    if session.view is not None:
        session.view = None
        session.state = State.AUTHENTICATED
        session.watch_owner(None)


async def do_select(session: Session, command: C.Select) -> None:
    if session.view is not None:
        await _unselect(session)
        await session.untagged(f"OK [{R.CODE_CLOSED}] Previous mailbox closed")  # RFC 7162 §3.2.11
    if command.qresync is not None and "QRESYNC" not in session.enabled:
        await session.bad(command, "QRESYNC is not enabled")  # RFC 7162 §3.2.5
        return
    if command.condstore:
        session.enabled.add("CONDSTORE")  # RFC 7162 §3.1.8
    try:
        snap = await session.run(store.select_snapshot, session.account, command.mailbox)
    except MailboxNotFound as exc:
        await session.no(command, exc.message, R.CODE_NONEXISTENT)
        return
    info = snap.info
    # RFC 4314 §4: without any right to change the mailbox it opens read-only.
    readonly = command.readonly or not any(ch in info.rights for ch in "stwie")
    view = SelectedView(
        mailbox_id=info.id, name=info.name, uidvalidity=info.uidvalidity, uids=snap.uids,
        highestmodseq=info.highestmodseq, uidnext=info.uidnext, readonly=readonly,
        rights=info.rights, shared=info.shared, seen_for=info.seen_for,
    )
    view.keywords = set(snap.keywords)
    # RFC 3501 §2.3.2: a read-write session takes the \Recent of what no
    # session has seen; a read-only one (EXAMINE, §6.3.2) only looks.
    view.recent.add(*(snap.recent if readonly else await session.run(store.claim_recent, info.id)))
    session.view = view
    if info.shared:
        session.watch_owner(info.owner_id)
    await session.untagged(session.flags_line())
    permanent = "" if readonly else _permanent_flags(info.rights)
    await session.untagged(f"OK [PERMANENTFLAGS ({permanent})] Flags permitted")
    await session.untagged(f"{view.exists} EXISTS")
    await session.untagged(f"{view.recent_count} RECENT")  # RFC 3501 §7.3.2
    if snap.first_unseen is not None:
        await session.untagged(f"OK [UNSEEN {snap.first_unseen}] First unseen")
    await session.untagged(f"OK [UIDVALIDITY {info.uidvalidity}] UIDs valid")
    await session.untagged(f"OK [UIDNEXT {info.uidnext}] Predicted next UID")
    await session.untagged(f"OK [HIGHESTMODSEQ {info.highestmodseq}] Highest")  # RFC 7162 §3.1.2.1
    session.view = view
    session.state = State.SELECTED
    if command.qresync is not None and command.qresync.uidvalidity == info.uidvalidity:
        await _qresync(session, command.qresync)
    code = R.CODE_READ_ONLY if readonly else R.CODE_READ_WRITE
    await session.ok(command, code)


def _permanent_flags(rights: str) -> str:
    """The flags the session may change (RFC 4314 §4: "s" for \\Seen, "t"
    for \\Deleted, "w" for the others and new keywords)."""
    flags = [f for f in R.SYSTEM_FLAGS if (f == "\\Seen" and "s" in rights)
             or (f == "\\Deleted" and "t" in rights) or (f not in ("\\Seen", "\\Deleted") and "w" in rights)]
    if "w" in rights:
        flags.append("\\*")
    return " ".join(flags)


async def _qresync(session: Session, q: C.Qresync) -> None:
    """RFC 7162 §3.2.5.2: VANISHED (EARLIER) then the flags changed since."""
    view = session.selected
    known = q.known_uids.resolve(max(view.uidnext - 1, 1)) if q.known_uids else None
    vanished = await session.run(store.vanished_uids, view.mailbox_id, q.modseq, known)
    if vanished:
        await session.untagged(f"VANISHED (EARLIER) {R.number_set(vanished)}")
    if view.uids:
        rows = await session.run(
            store.flag_rows, view.mailbox_id, [(view.uids[0], view.last_uid)], changed_since=q.modseq,
            seen_for=view.seen_for,
        )
        for row in rows:
            seq = view.seq_of(row.uid)
            if seq is not None:
                await session.untagged(session.flags_fetch(seq, row.uid, row.flags, row.keywords, row.modseq))


async def do_check(session: Session, command: C.Check) -> None:
    await session.announce(expunge_ok=True)
    await session.ok(command)


async def do_close(session: Session, command: C.Close) -> None:
    view = session.selected
    if not view.readonly and "e" in view.rights:
        # RFC 3501 §6.4.2: expunge silently, no EXPUNGE responses (RFC 4314 §4: with "e").
        await session.run(messages.do_expunge, session.account, view.mailbox_id)
    await _unselect(session)
    await session.ok(command)


async def do_unselect(session: Session, command: C.Unselect) -> None:
    await _unselect(session)  # RFC 3691
    await session.ok(command)


async def do_expunge(session: Session, command: C.Expunge | C.UidExpunge) -> None:
    view = session.selected
    if view.readonly:
        await session.no(command, R.NO_READ_ONLY, R.CODE_READ_ONLY)
        return
    ranges = None
    if isinstance(command, C.UidExpunge):  # RFC 4315 §2.1
        ranges = to_ranges(session.uids(command.set, True))
        if not ranges:
            await session.announce(expunge_ok=True)
            await session.ok(command)
            return
    removed = await session.run(messages.do_expunge, session.account, view.mailbox_id, ranges)
    await session.send_expunged(sorted(set(removed) | view.pending_expunge))
    await session.announce(expunge_ok=True)
    await session.ok(command)
