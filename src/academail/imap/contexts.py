"""Live searches (RFC 5267 §4.3, CONTEXT=SEARCH and CONTEXT=SORT): a SEARCH
or SORT with ``RETURN (UPDATE)`` keeps its result, and the session tells the
client how it changes — ``* ESEARCH (TAG "t") ADDTO (...)`` and
``REMOVEFROM (...)`` — as messages arrive, are expunged or change flags.

A context belongs to the selected view (``SelectedView.contexts``), so it
ends with the selection (§4.3: "when the mailbox is no longer selected") or
at CANCELUPDATE (§4.3.5). Its result is kept as UIDs in an ``array('I')``,
4 bytes a message, in mailbox order for SEARCH and in sort order for SORT;
a session holds at most ``limits.MAX_UPDATE_CONTEXTS`` of them and
``limits.MAX_CONTEXT_UIDS`` UIDs in all (beyond: ``NO [NOUPDATE]``, §4.3.1).

Updates are incremental: only the UIDs that changed (new, flags changed,
expunged) are tested again, with one query per context restricted to them.
A SORT context whose result gains a message reads the sort order again to
place it: sort keys never change for a message, so the order of the others
stays, and positions are computed from that order (§4.3.3).

The criteria are those of the original command as the session resolved
them then: a sequence-number set or \\Recent in the program keeps naming
the messages it named at that time.
"""

from __future__ import annotations

from array import array
from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from academail.imap import limits
from academail.imap import responses as R
from academail.store import imap as store

if TYPE_CHECKING:
    from academail.imap.session import Session


@dataclass
class Context:
    tag: str
    uid: bool  # UID SEARCH/SORT: updates in UIDs, else in sequence numbers (§4.3.2)
    criterion: store.Criterion  # without the view's bound on known UIDs
    sort: tuple[tuple[str, bool], ...] | None  # None: SEARCH, kept in mailbox order
    results: array[int] = field(default_factory=lambda: array("I"))


@dataclass
class Contexts:
    """The live searches of one selected view, by tag, and the UIDs the
    session itself changed, to test again at the next announce."""

    live: dict[str, Context] = field(default_factory=dict)
    recheck: set[int] = field(default_factory=set)

    def held(self) -> int:
        return sum(len(c.results) for c in self.live.values())

    def room_for(self, count: int) -> bool:
        """§4.3.1: whether one more context of ``count`` results fits."""
        return len(self.live) < limits.MAX_UPDATE_CONTEXTS and self.held() + count <= limits.MAX_CONTEXT_UIDS


def start(session: Session, tag: str, uid: bool, criterion: store.Criterion,
          sort: tuple[tuple[str, bool], ...] | None, uids: Iterable[int]) -> None:
    """Keep a context for ``tag`` with its first result ``uids`` (in the
    order the client was given them). The caller checked ``room_for``."""
    session.selected.contexts.live[tag] = Context(tag, uid, criterion, sort, array("I", uids))


def note_changed(session: Session, uids: Iterable[int]) -> None:
    """UIDs this session changed itself (STORE): tested again at the next
    announce, without waiting for the bus to echo the change back."""
    view = session.view
    if view is not None and view.contexts.live:
        view.contexts.recheck.update(uids)


async def removing(session: Session, uids: list[int]) -> None:
    """Before EXPUNGE or VANISHED for ``uids``: REMOVEFROM for those in a
    result, while their sequence numbers are still valid (§4.3.4: "MUST be
    sent prior to the expunge notification itself")."""
    view = session.selected
    if not view.contexts.live:
        return
    gone = set(uids)
    for context in list(view.contexts.live.values()):
        leaving = [u for u in context.results if u in gone]
        if leaving:
            await _apply(session, context, set(leaving), [])


async def refresh(session: Session, candidates: set[int]) -> None:
    """Test ``candidates`` (UIDs of the view that are new or whose flags
    changed) again against each context, and send what entered or left its
    result. New messages' EXISTS has been sent already (§4.3.3: ADDTO with
    sequence numbers comes after it)."""
    view = session.selected
    contexts = view.contexts
    candidates = _in_view(session, candidates | contexts.recheck)
    contexts.recheck.clear()
    if not candidates or not contexts.live:
        return
    ranges = tuple(_ranges(sorted(candidates)))
    everything = len(ranges) > store.MAX_SEARCH_RANGES
    if everything:
        ranges = ((1, view.last_uid),)  # too scattered: test every known message
    for context in list(contexts.live.values()):
        try:
            found = await session.run(
                store.search_uids, view.mailbox_id, store.Conjunction((context.criterion, store.UidIn(ranges))),
                seen_for=view.seen_for,
            )
        except store.SearchTooComplex:
            await drop(session, context.tag)
            continue
        matching = {uid for uid, _ in found}
        members = set(context.results)  # for this pass only
        tested = members if everything else candidates
        leaving = {u for u in tested if u in members and u not in matching}
        entering = [u for u in sorted(matching - members) if view.seq_of(u) is not None]
        if leaving or entering:
            await _apply(session, context, leaving, entering)
        if contexts.held() > limits.MAX_CONTEXT_UIDS:
            await drop(session, context.tag)


async def drop(session: Session, tag: str) -> None:
    """Stop updating ``tag`` and tell the client (§4.3.1 NOUPDATE)."""
    session.selected.contexts.live.pop(tag, None)
    await session.untagged(f'NO [{R.CODE_NOUPDATE} "{tag}"] {R.NO_CONTEXT_DROPPED}')


def _in_view(session: Session, uids: set[int]) -> set[int]:
    view = session.selected
    return {u for u in uids if view.seq_of(u) is not None}


async def _apply(session: Session, context: Context, leaving: set[int], entering: list[int]) -> None:
    """Change ``context``'s result and send one ESEARCH with the REMOVEFROM
    pairs, then the ADDTO pairs, which the client applies in order (§4.3.2)."""
    parts = [f'ESEARCH (TAG "{context.tag}")'] + (["UID"] if context.uid else [])
    if context.sort is None:
        # SEARCH: context position 0, sets in mailbox order (§4.3.3, §4.3.4).
        if leaving:
            context.results = array("I", (u for u in context.results if u not in leaving))
            parts.append(f"REMOVEFROM (0 {_numbers(session, context, sorted(leaving))})")
        if entering:
            for uid in entering:
                insort(context.results, uid)
            parts.append(f"ADDTO (0 {_numbers(session, context, entering)})")
    else:
        if entering:
            entering = await _placed(session, context, leaving, entering)
        removals = _runs_at([i for i, u in enumerate(context.results) if u in leaving])
        if removals:
            pairs, done = [], 0
            for start, count in removals:
                pairs.append(f"{start + 1 - done} {_numbers(session, context, context.results[start:start + count])}")
                done += count
            parts.append(f"REMOVEFROM ({' '.join(pairs)})")
            context.results = array("I", (u for u in context.results if u not in leaving))
        if entering:
            final = entering  # the whole new result, in sort order
            added = set(final) - set(context.results)
            runs = _runs_at([i for i, u in enumerate(final) if u in added])
            pairs = [f"{start + 1} {_numbers(session, context, final[start:start + count])}" for start, count in runs]
            context.results = array("I", final)
            if pairs:
                parts.append(f"ADDTO ({' '.join(pairs)})")
    if len(parts) > (2 if context.uid else 1):
        await session.untagged(" ".join(parts))


async def _placed(session: Session, context: Context, leaving: set[int], entering: list[int]) -> list[int]:
    """The SORT context's new result, in sort order: what stays, and
    ``entering``, ordered as the store sorts them now. A message that stays
    but that the store no longer finds (a change not announced yet) is
    treated as leaving; it is tested again when its change arrives."""
    view = session.selected
    assert context.sort is not None
    known = store.UidIn(((1, view.last_uid),))
    ordered = await session.run(
        store.sort_uids, view.mailbox_id, store.Conjunction((context.criterion, known)), context.sort,
        seen_for=view.seen_for,
    )
    staying = {u for u in context.results if u not in leaving}
    new = set(entering)
    result = [uid for uid, _ in ordered if uid in staying or uid in new]
    leaving.update(staying - set(result))
    return result


def _runs_at(positions: list[int]) -> list[tuple[int, int]]:
    """Ascending positions as (first, count) runs of consecutive positions."""
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and runs[-1][0] + runs[-1][1] == p:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((p, 1))
    return runs


def _ranges(uids: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for uid in uids:
        if out and uid == out[-1][1] + 1:
            out[-1] = (out[-1][0], uid)
        else:
            out.append((uid, uid))
    return out


def _numbers(session: Session, context: Context, uids: Iterable[int]) -> str:
    """UIDs as the context speaks: UIDs, or sequence numbers now (§4.3.2);
    ranges only where the order ascends (§3.2)."""
    if context.uid:
        return R.number_set(uids)
    view = session.selected
    return R.number_set(seq for u in uids if (seq := view.seq_of(u)) is not None)
