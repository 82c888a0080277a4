"""SEARCH and UID SEARCH, with ESEARCH results (RFC 4731) and MODSEQ (RFC
7162), SORT (RFC 5256 §3) with ESORT results (RFC 5267 §3) and THREAD (RFC 5256
§4), each run as one SQL query by the store; PARTIAL, UPDATE and CANCELUPDATE
of CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4, the live searches in
``imap.contexts``)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from academail.imap import contexts, threadcache, threads
from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.parsing import search as S
from academail.imap.session import Session, to_ranges
from academail.store import imap as store

T = TypeVar("T")


async def do_search(session: Session, command: C.Search) -> None:
    if command.charset not in (None, "UTF-8", "US-ASCII"):
        await session.no(command, "Unsupported charset", R.CODE_BADCHARSET)  # RFC 3501 §6.4.4
        return
    if not await _tag_free(session, command, command.returns):
        return
    view = session.selected
    condition, uses_modseq = _criterion(session, command.key)
    if uses_modseq:
        await session.enable_condstore()  # RFC 7162 §3.1: MODSEQ search enables it
    try:
        found = await session.run(store.search_uids, view.mailbox_id, _known(session, condition), seen_for=view.seen_for)
    except store.SearchTooComplex:
        await session.no(command, "Search too complex", R.CODE_LIMIT)
        return
    results = found  # only UIDs the view holds (``_known``)
    numbers = [uid for uid, _ in results] if command.uid else [view.seq_of(uid) or 0 for uid, _ in results]
    highest = max((m for _, m in results), default=0)
    if command.returns is None:
        line = "SEARCH" + "".join(f" {n}" for n in numbers)
        if uses_modseq and numbers:
            line += f" (MODSEQ {highest})"  # RFC 7162 §3.1.5
        await session.untagged(line)
    else:
        # RFC 4731 §3.1: ESEARCH with the options asked for; numbers ascend,
        # so MIN and MAX are the first and the last.
        parts = _esearch(command.tag, command.uid, command.returns, command.partial, numbers)
        if uses_modseq and numbers:
            parts.append(f"MODSEQ {_esearch_modseq(command.returns, results, numbers)}")
        await session.untagged(" ".join(parts))
        await _keep(session, command, command.returns, condition, None, [uid for uid, _ in results])
    await session.announce(expunge_ok=command.uid)
    await session.ok(command)


async def do_sort(session: Session, command: C.Sort) -> None:
    """RFC 5256 §3: the messages SEARCH would find, in the order of the sort
    keys, ties by sequence number; SORT answers ``* SORT n...``, ESORT's
    RETURN (RFC 5267 §3.2) an ESEARCH response in that order."""
    view = session.selected
    if not await _tag_free(session, command, command.returns):
        return
    condition = await _condition(session, command, command.charset, command.key)
    if condition is None:
        return
    found = await _query(session, command, condition, store.sort_uids, command.keys)
    if found is None:
        return
    numbers = [uid for uid, _ in found] if command.uid else [view.seq_of(uid) or 0 for uid, _ in found]
    if command.returns is None:
        await session.untagged("SORT" + "".join(f" {n}" for n in numbers))
    else:
        # RFC 5267 §3.2: MIN and MAX are the first and last in sort order,
        # ALL (and PARTIAL, §4.4) keep the sort order.
        await session.untagged(" ".join(_esearch(command.tag, command.uid, command.returns, command.partial, numbers)))
        await _keep(session, command, command.returns, condition, command.keys, [uid for uid, _ in found])
    await session.announce(expunge_ok=command.uid)
    await session.ok(command)


async def do_cancelupdate(session: Session, command: C.CancelUpdate) -> None:
    """RFC 5267 §4.3.5: no more updates for these searches. A tag naming no
    live search is refused (NO) and then nothing is cancelled."""
    live = session.selected.contexts.live
    unknown = [tag for tag in command.tags if tag not in live]
    if unknown:
        await session.no(command, f"{R.NO_UNKNOWN_CONTEXT}: {unknown[0][:40]}")
        return
    for tag in command.tags:
        live.pop(tag, None)
    await session.ok(command, text=R.OK_NO_MORE_UPDATES)


def _esearch(tag: str, uid: bool, returns: tuple[str, ...], partial: tuple[int, int] | None, numbers: list[int]) -> list[str]:
    """The ESEARCH response's parts for ``numbers`` in the order they are
    given (mailbox order for SEARCH, sort order for SORT)."""
    parts = [f'ESEARCH (TAG "{tag}")'] + (["UID"] if uid else [])
    if numbers:
        if "MIN" in returns:
            parts.append(f"MIN {numbers[0]}")
        if "MAX" in returns:
            parts.append(f"MAX {numbers[-1]}")
    if "COUNT" in returns:
        parts.append(f"COUNT {len(numbers)}")
    if numbers and "ALL" in returns:
        parts.append(f"ALL {R.number_set(numbers)}")
    if partial is not None:
        # RFC 5267 §4.4: positions first:last of the result (1-based, either
        # way round), the range echoed as given, NIL when none is there.
        low, high = sorted(partial)
        window = numbers[low - 1 : high]
        parts.append(f"PARTIAL ({partial[0]}:{partial[1]} {R.number_set(window) if window else 'NIL'})")
    return parts


async def _tag_free(session: Session, command: C.Command, returns: tuple[str, ...] | None) -> bool:
    """RFC 5267 §4.3: UPDATE under a tag a live search already has is BAD."""
    if returns is not None and "UPDATE" in returns and command.tag in session.selected.contexts.live:
        await session.bad(command, R.BAD_TAG_REUSE)
        return False
    return True


async def _keep(
    session: Session, command: C.Command, returns: tuple[str, ...], condition: store.Criterion,
    sort: tuple[tuple[str, bool], ...] | None, uids: list[int],
) -> None:
    """RETURN (UPDATE): keep the search live (RFC 5267 §4.3), or refuse with
    ``NO [NOUPDATE "tag"]`` past the session's bound (§4.3.1); the other
    return options were answered either way."""
    if "UPDATE" not in returns:
        return
    uid = isinstance(command, (C.Search, C.Sort)) and command.uid
    if not session.selected.contexts.room_for(len(uids)):
        await session.untagged(f'NO [{R.CODE_NOUPDATE} "{command.tag}"] {R.NO_TOO_MANY_CONTEXTS}')
        return
    contexts.start(session, command.tag, uid, condition, sort, uids)


async def do_thread(session: Session, command: C.Thread) -> None:
    """RFC 5256 §4: ``* THREAD`` with the messages SEARCH would find, threaded
    by the algorithm asked for (§2), as sequence numbers or UIDs."""
    view = session.selected
    # Sequence numbers from a copy of the view's UIDs, taken here in the loop
    # (with their key: the answer in sequence numbers depends on them).
    numbering = None if command.uid else (list(view.uids), view.uids.key())
    condition = await _condition(session, command, command.charset, command.key)
    if condition is None:
        return
    text = await _query(session, command, condition, _thread_text, command.algorithm, numbering)
    if text is None:
        return
    await session.untagged(f"THREAD {text}" if text else "THREAD")
    await session.announce(expunge_ok=command.uid)
    await session.ok(command)


def _thread_text(
    mailbox_id: int, criterion: store.Criterion, algorithm: str, numbering: tuple[list[int], Hashable] | None, *,
    seen_for: int | None = None,
) -> str:
    """In the store's thread, off the event loop: the rows, the threads and
    their text (100,000 messages cost a few hundred ms of CPU), or the same
    text kept from an earlier command on the same state of the mailbox
    (``imap.threadcache``). ``numbering``: the view's UIDs and their key, to
    answer sequence numbers; None for UIDs. ``seen_for``: whose \\Seen the
    criteria test (``SelectedView.seen_for``).

    The cyclic garbage collector is paused meanwhile: the hundreds of
    thousands of rows and containers made here would otherwise trigger
    repeated full collections over them (half of the CPU time at 100,000
    messages, bench/imap_sort.py); none of them is garbage until the end."""
    state = store.mailbox_state(mailbox_id)
    query = (algorithm, criterion, seen_for, None if numbering is None else numbering[1])
    flags = store.reads_flags(criterion)
    if state is not None and (text := threadcache.ANSWERS.get(mailbox_id, state, query, flags=flags)) is not None:
        return text
    paused = gc.isenabled()
    gc.disable()
    try:
        links = algorithm == "REFERENCES"  # ORDEREDSUBJECT reads no Message-ID
        rows = store.thread_rows(mailbox_id, criterion, seen_for=seen_for, links=links)
        tree = threads.thread(algorithm, rows)
        if numbering is None:
            text = threads.render(tree, rows.uids)
        else:
            sequence = {uid: seq for seq, uid in enumerate(numbering[0], 1)}
            text = threads.render(tree, [sequence[uid] for uid in rows.uids])
    finally:
        if paused:
            gc.enable()
    # Kept only if no change committed while it was computed (the state is
    # read again): then it is the answer for that state.
    if state is not None and store.mailbox_state(mailbox_id) == state:
        threadcache.ANSWERS.put(mailbox_id, state, query, text, flags=flags)
    return text


async def _condition(session: Session, command: C.Command, charset: str, key: S.SearchKey) -> store.Criterion | None:
    """SORT's and THREAD's search part: the charset (RFC 5256 §3 and §4: a
    mandatory argument, NO [BADCHARSET] when unknown), then the criteria as
    SEARCH has them. None once the NO is sent."""
    if charset not in ("UTF-8", "US-ASCII"):
        await session.no(command, "Unsupported charset", R.CODE_BADCHARSET)
        return None
    condition, uses_modseq = _criterion(session, key)
    if uses_modseq:
        await session.enable_condstore()  # RFC 7162 §3.1
    return condition


async def _query(
    session: Session, command: C.Command, condition: store.Criterion, query: Callable[..., T], *args: Any
) -> T | None:
    """``query(mailbox_id, criterion, *args)`` in the store's thread over the
    messages the session knows; None once NO [LIMIT] is sent."""
    try:
        view = session.selected
        return await session.run(query, view.mailbox_id, _known(session, condition), *args, seen_for=view.seen_for)
    except store.SearchTooComplex:
        await session.no(command, "Search too complex", R.CODE_LIMIT)
        return None


def _esearch_modseq(returns: tuple[str, ...], results: list[tuple[int, int]], numbers: list[int]) -> int:
    """RFC 4731 §3.2: with MIN and/or MAX but neither ALL nor COUNT, MODSEQ is the
    highest mod-sequence of the message(s) returned; otherwise of all found."""
    if "ALL" in returns or "COUNT" in returns or not ({"MIN", "MAX"} & set(returns)):
        return max(m for _, m in results)
    picked = {min(numbers) if "MIN" in returns else None, max(numbers) if "MAX" in returns else None}
    return max(m for (_, m), n in zip(results, numbers, strict=True) if n in picked)


def _criterion(session: Session, key: S.SearchKey) -> tuple[store.Criterion, bool]:
    view = session.selected
    uses_modseq = False
    by_name = {name.lower(): bit for bit, name in store.Flag.NAMES.items()}

    def convert(k: S.SearchKey) -> store.Criterion:
        nonlocal uses_modseq
        if isinstance(k, S.Const):
            return store.Everything(k.value)
        if isinstance(k, S.FlagKey):
            if k.flag.lower() == "\\recent":
                # RFC 3501 §2.3.2: \Recent is this session's, not stored: its UIDs.
                recent = store.UidIn(tuple((first, end - 1) for first, end in view.recent.ranges))
                return recent if k.present else store.Negation(recent)
            bit = by_name.get(k.flag.lower(), 0)
            if k.flag.startswith("\\") and not bit:
                return store.Everything(not k.present)  # unknown system flags
            return store.HasFlag(bit, "" if bit else k.flag, k.present)
        if isinstance(k, S.TextKey):
            return store.TextMatch(k.field, k.value)
        if isinstance(k, S.HeaderKey):
            return store.HeaderMatch(k.field, k.value)  # RFC 3501 §6.4.4 HEADER
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


def _known(session: Session, condition: store.Criterion) -> store.Criterion:
    """``condition`` over the messages this session knows only: every stored
    UID up to its last is in the view (UIDs are given in commit order), later
    ones are not announced yet. In the query, so no answer is filtered UID by UID."""
    view = session.selected
    known = store.UidIn(((1, view.last_uid),)) if view.uids else store.Everything(False)
    return store.Conjunction((condition, known))
