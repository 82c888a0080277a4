"""FETCH and UID FETCH: the hot path of every mail client's sync. The rows
are read and rendered in a store thread, a chunk at a time, and written in
one piece per chunk."""

from __future__ import annotations

import dataclasses
from collections.abc import Container

from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.parsing.fetch import FetchItem
from academail.imap.render import UnknownTransferEncoding, fetch_items, pin
from academail.imap.session import Session, to_ranges
from academail.imap.view import InvalidSequence
from academail.store import imap as store
from academail.store.messages import do_set_flags

FETCH_CHUNK = 500


async def do_fetch(session: Session, command: C.Fetch) -> None:
    view = session.selected
    try:
        uids = session.uids(command.set, command.uid)
    except InvalidSequence as exc:
        await session.bad(command, f"Invalid sequence set: {exc}")
        return
    items = list(command.items)
    names = {i.name for i in items}
    if command.uid and "UID" not in names:
        items.insert(0, FetchItem("UID"))  # RFC 3501 §6.4.8
    if "MODSEQ" in names or command.changed_since is not None:
        await session.enable_condstore()  # RFC 7162 §3.1: these enable CONDSTORE
    with_modseq = "MODSEQ" in names or command.changed_since is not None
    # RFC 4314 §4: \Seen is set only with the "s" right.
    sets_seen = not view.readonly and "s" in view.rights and any(
        (i.section is not None and not i.peek) or i.name in ("RFC822", "RFC822.TEXT") for i in items
    )
    newly_seen: dict[int, store.FlagRow] = {}
    if sets_seen and uids:
        # RFC 3501 §6.4.5: a non-PEEK body fetch sets \Seen.
        changes = await session.run(do_set_flags, session.account, view.mailbox_id, to_ranges(uids), mode="add", flags=store.Flag.SEEN)
        for change in changes:
            view.reported[change.uid] = change.modseq
            newly_seen[change.uid] = store.FlagRow(change.uid, change.flags, change.keywords, change.modseq)
    if command.vanished and command.changed_since is not None:
        ranges = command.set.resolve(view.last_uid) if view.uids else []
        vanished = await session.run(store.vanished_uids, view.mailbox_id, command.changed_since, ranges)
        if vanished:
            await session.untagged(f"VANISHED (EARLIER) {R.number_set(vanished)}")
    for start in range(0, len(uids), FETCH_CHUNK):
        chunk = uids[start : start + FETCH_CHUNK]
        try:
            lines = await session.run(
                render_chunk, view.mailbox_id, chunk, items, command.changed_since,
                with_modseq or (session.condstore and "FLAGS" in names), newly_seen, view.recent.copy(),
                view.seen_for,
            )
        except UnknownTransferEncoding:
            await session.no(command, "Unknown Content-Transfer-Encoding", "UNKNOWN-CTE")  # RFC 3516 §4.3
            return
        # One write per chunk: a TLS record and a buffer check per line
        # would cost more than rendering the line.
        out = [b"* %d FETCH (" % seq + body + b")\r\n" for uid, body in lines if (seq := view.seq_of(uid)) is not None]
        if out:
            await session.conn.write(b"".join(out))
    await session.announce(expunge_ok=command.uid)
    await session.ok(command)


def render_chunk(
    mailbox_id: int,
    uids: list[int],
    items: list[FetchItem],
    changed_since: int | None,
    with_modseq: bool,
    newly_seen: dict[int, store.FlagRow],
    recent: Container[int] = (),
    seen_for: int | None = None,
) -> list[tuple[int, bytes]]:
    """Rows and their FETCH data for one chunk (runs in a store thread: reads
    the database and the blobs). What each row needs read (structure,
    envelope) is decided per content by ``render.pin``."""
    rows = store.fetch_rows(mailbox_id, uids, changed_since=changed_since, seen_for=seen_for)
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
        data = fetch_items(row, row_items, store.read_blob, with_modseq=with_modseq, pinned=pinned, recent=recent)
        if any(i.name == "UID" for i in row_items):
            data.insert(0, b"UID %d" % row.uid)
        out.append((row.uid, b" ".join(data)))
    return out
