"""STORE and UID STORE: flags and keywords, with UNCHANGEDSINCE (RFC 7162)."""

from __future__ import annotations

from academail.imap import contexts
from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.session import Session, parse_flags, to_ranges
from academail.imap.view import InvalidSequence
from academail.store import imap as store
from academail.store.messages import do_set_flags


async def do_store(session: Session, command: C.Store) -> None:
    view = session.selected
    if view.readonly:
        await session.no(command, R.NO_READ_ONLY, R.CODE_READ_ONLY)
        return
    try:
        uids = session.uids(command.set, command.uid)
        bits, keywords = parse_flags(command.flags)
    except (InvalidSequence, ValueError) as exc:
        await session.bad(command, str(exc))
        return
    ranges = to_ranges(uids)
    modified: list[int] = []
    if command.unchanged_since is not None:
        await session.enable_condstore()
        # RFC 7162 §3.1.3: messages changed after UNCHANGEDSINCE are not touched.
        rows = await session.run(
            store.flag_rows, view.mailbox_id, ranges, changed_since=command.unchanged_since, seen_for=view.seen_for
        )
        modified = [r.uid for r in rows]
    if ranges:
        changes = await session.run(
            do_set_flags, session.account, view.mailbox_id, ranges, mode=command.mode, flags=bits,
            keywords=keywords, unchanged_since=command.unchanged_since,
        )
    else:
        changes = []
    for change in changes:
        view.reported[change.uid] = change.modseq
    contexts.note_changed(session, (change.uid for change in changes))  # RFC 5267 §4.3
    if command.silent:
        # RFC 3501 §7.2.6: a new keyword is announced even when no FETCH follows.
        for change in changes:
            await session.note_keywords(change.keywords)
    if not command.silent and ranges:
        skip = set(modified)
        rows = await session.run(store.flag_rows, view.mailbox_id, ranges, seen_for=view.seen_for)
        for row in rows:
            seq = view.seq_of(row.uid)
            if seq is not None and row.uid not in skip:
                await session.note_keywords(row.keywords)
                await session.untagged(session.flags_fetch(seq, row.uid, row.flags, row.keywords, row.modseq, with_uid=command.uid))
    elif command.silent and session.condstore:
        # RFC 7162 §3.1.3: even with .SILENT, report the new MODSEQ.
        for change in changes:
            seq = view.seq_of(change.uid)
            if seq is not None:
                await session.untagged(f"{seq} FETCH (UID {change.uid} MODSEQ ({change.modseq}))")
    await session.announce(expunge_ok=command.uid)
    if modified:
        numbers = modified if command.uid else sorted(s for u in modified if (s := view.seq_of(u)))
        await session.ok(command, f"MODIFIED {R.number_set(numbers)}", "Conditional STORE failed")
    else:
        await session.ok(command)
