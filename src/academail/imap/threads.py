"""THREAD (RFC 5256 §2): ORDEREDSUBJECT and REFERENCES over the columns the
store gives (``store.imap.ThreadRows``), and the thread-list text of §4.

Pure functions: no database, no I/O. No maintained Python library implements
RFC 5256's variant of the JWZ algorithm (``jwzthreading`` is Python 2, 2005),
so the steps are here, numbered as in the RFC.

Written for 100,000 messages well under 200 ms of CPU (bench/imap_sort.py),
so there are no objects per message: a container is an int. The store gives
the messages in sent-date order (ties by UID), so container ``r`` < n is the
message of rank ``r`` and compares by its number; a dummy is a number >= n.
Message-IDs are 63-bit keys computed at delivery (``store.sortkeys``): no
text is parsed or hashed here. Step (1) keeps parent links only; children
are gathered once, in rank order, so every level is born sorted (step 4);
no step recurses, so a chain of 10,000 replies is no deeper for Python than
one message.
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from academail.store.imap import ThreadRows


class Threads(NamedTuple):
    """The threads, as containers: ``roots`` in order, ``children[c]`` of each
    container in order (None: none). Containers below ``messages`` are the
    messages by rank; the others are dummies (§2.2: a message not there)."""

    roots: list[int]
    children: list[list[int] | None]
    messages: int


def ordered_subject(rows: ThreadRows) -> Threads:
    """§2.1 ORDEREDSUBJECT: group by base subject, each group by sent date; the
    first message is the parent of all the others; threads by their first date."""
    subjects = rows.subjects
    n = len(subjects)
    # The first message of each subject: built from the last to the first, so
    # the earliest is written last (a dict built in C, not a loop).
    first = dict(zip(reversed(subjects), range(n - 1, -1, -1), strict=True))
    children: list[list[int] | None] = [None] * n
    for rank in [rank for rank, subject in enumerate(subjects) if first[subject] != rank]:  # in sent order
        parent = first[subjects[rank]]
        level = children[parent]
        if level is None:
            children[parent] = [rank]
        else:
            level.append(rank)
    return Threads(sorted(first.values()), children, n)


def references(rows: ThreadRows) -> Threads:  # noqa: C901, PLR0912, PLR0915 (the RFC's steps, in order)
    """§2.2 REFERENCES (after JWZ): link by Message-ID, prune dummies, sort,
    merge roots by base subject, sort again."""
    n = len(rows.uids)
    ids = rows.message_ids
    chains = rows.references
    # Step (1) reads the messages in UID order (as Dovecot does: which of two
    # messages with one Message-ID keeps it, and which link is made first).
    # Most often sent order is UID order too (mail arrives as it is sent):
    # then the ranks are that order, found by one pass in C.
    uids = rows.uids
    ordered = all(map(operator.lt, uids, itertools.islice(uids, 1, None)))
    order: Sequence[int] = range(n) if ordered else sorted(range(n), key=uids.__getitem__)
    # (A): the first message with an id owns its container (the dict is built
    # from the last to the first, so the first is written last); a message
    # without one, or with a duplicate, has a container no id leads to.
    backwards = order[::-1]
    by_id = dict(zip(reversed(ids) if ordered else [ids[rank] for rank in backwards], backwards, strict=True))
    by_id.pop(0, None)
    parent = [-1] * n
    # Whether a container was ever made a parent: one that never was is
    # nobody's ancestor, and the loop check needs no walk up the chain.
    has_child = bytearray(n)

    def is_ancestor(node: int, other: int) -> bool:
        if not has_child[node]:
            return node == other
        while other >= 0:
            if other == node:
                return True
            other = parent[other]
        return False

    for rank in itertools.compress(range(n), chains) if ordered else [rank for rank in order if chains[rank]]:
        chain = chains[rank]
        own = ids[rank]
        if own and own in chain and by_id[own] == rank:
            chain = [key for key in chain if key != own]  # never its own parent
        # (B): link the References chain, keeping existing links and never
        # making a loop.
        previous = -1
        for key in chain:
            node = by_id.get(key)
            if node is None:
                node = by_id[key] = len(parent)  # a dummy
                parent.append(-1)
                has_child.append(0)
            if previous >= 0 and parent[node] < 0 and not is_ancestor(node, previous):
                parent[node] = previous
                has_child[previous] = 1
            previous = node
        # (C): the last reference is the parent, replacing any other, unless a loop.
        if previous >= 0 and not is_ancestor(rank, previous):
            parent[rank] = previous
            has_child[previous] = 1
    total = len(parent)
    # Steps (2) and (3): the roots have no parent; a dummy that is not a root
    # gives its children to its parent (up through dummies), so each message
    # hangs from a message or from a dummy root; a dummy root goes with no
    # child, gives way to its child with one, stays with more.
    lifted = parent[:n]
    kept = [0] * (total - n)  # children of each dummy root
    for rank in [rank for rank, up in enumerate(lifted) if up >= n]:
        up = lifted[rank]
        if parent[up] >= 0:
            path = []
            while up >= n and parent[up] >= 0:
                path.append(up)
                up = parent[up]
            for dummy in path:  # the next message under these dummies goes straight up
                parent[dummy] = up
            lifted[rank] = up
        if up >= n:
            kept[up - n] += 1
    children: list[list[int] | None] = [None] * total
    roots = [rank for rank, up in enumerate(lifted) if up < 0]
    alone = False  # a dummy root with one child gives way to it
    for rank in [rank for rank, up in enumerate(lifted) if up >= 0]:  # in rank order: born sorted (step 4)
        up = lifted[rank]
        if up >= n and kept[up - n] == 1:
            roots.append(rank)
            alone = True
            continue
        level = children[up]
        if level is None:
            children[up] = [rank]
        else:
            level.append(rank)
    # Step (4): a dummy root sorts by its first child, which is a message.
    sort_key = list(range(total))
    dummies = [dummy for dummy in range(n, total) if kept[dummy - n] > 1]
    for dummy in dummies:
        sort_key[dummy] = children[dummy][0]  # type: ignore[index]
    if dummies or alone:
        roots.extend(dummies)
        roots.sort(key=sort_key.__getitem__)
    # Steps (5) and (6).
    return _merge_subjects(rows, Threads(roots, children, n), sort_key)


def _merge_subjects(rows: ThreadRows, threads: Threads, sort_key: list[int]) -> Threads:  # noqa: C901
    """§2.2 step (5)(A)-(C): the roots sharing a base subject are gathered,
    then step (6) sorts again what changed."""
    roots, children, n = threads
    subjects = rows.subjects
    replies = rows.replies

    def is_reply(node: int) -> bool:
        return node < n and bool(replies[node])

    # (A): a dummy's subject is its first child's (a message).
    keys = [subjects[node] if node < n else subjects[children[node][0]] for node in roots]  # type: ignore[index]
    # Most subjects are one root's: only those shared by several go through (B).
    counts = Counter(keys)
    shared = {key for key, count in counts.items() if count > 1 and key}
    if not shared:
        return threads
    table: dict[str, int] = {}
    for node, key in zip(roots, keys, strict=True):  # (B)
        if key not in shared:
            continue
        old = table.get(key)
        if old is None:
            table[key] = node
        elif (node >= n and old < n) or (is_reply(old) and not is_reply(node)):
            table[key] = node
    out: list[int] = list(roots)
    position = {node: index for index, node in enumerate(roots)}
    changed: list[int] = []
    for index, (node, key) in enumerate(zip(roots, keys, strict=True)):  # (C)
        if key not in shared:
            continue
        kept = table[key]
        if kept == node:
            continue
        out[index] = -1
        if kept >= n and node >= n:  # two dummies: one takes the other's children
            children[kept].extend(children[node])  # type: ignore[union-attr, arg-type]
        elif kept >= n or (is_reply(node) and not is_reply(kept)):
            level = children[kept]
            if level is None:
                children[kept] = [node]
            else:
                level.append(node)
        else:  # neither a reply of the other: both under a new dummy
            dummy = len(children)
            children.append([kept, node])
            sort_key.append(0)
            out[position[kept]] = dummy
            table[key] = dummy
            kept = dummy
        changed.append(kept)
    # Step (6): the levels that changed, then the roots, sorted again.
    for node in changed:
        children[node].sort(key=sort_key.__getitem__)  # type: ignore[union-attr]
        if node >= n:
            sort_key[node] = sort_key[children[node][0]]  # type: ignore[index]
    merged = [node for node in out if node >= 0]
    merged.sort(key=sort_key.__getitem__)
    return Threads(merged, children, n)


def render(threads: Threads, numbers: Sequence[int]) -> str:
    """§4 thread-list: "(3 6 (4 23)(44 7 96))"; ``numbers[r]`` is what the
    client asked for (UID or sequence number) of the message of rank r.
    Without recursion: a chain of messages is one run of numbers, a fork
    opens one parenthesis per child. Each number is formatted as it is
    written (no list of every message's text made first)."""
    roots, children, n = threads
    out: list[str] = []
    append = out.append
    for root in roots:
        if root < n and children[root] is None:  # most threads: one message
            append(f"({numbers[root]})")
            continue
        # The stack holds text to emit and containers to open.
        stack: list[str | int] = [")", root, "("]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                append(item)
                continue
            node = item
            parts: list[str] = []
            level = children[node]
            while node < n and level is not None and len(level) == 1:
                parts.append(str(numbers[node]))
                node = level[0]
                level = children[node]
            if node < n:
                parts.append(str(numbers[node]))
            append(" ".join(parts))
            if level:
                if parts:
                    append(" ")
                for child in reversed(level):
                    if child < n and children[child] is None:
                        stack.append(f"({numbers[child]})")
                    else:
                        stack.extend((")", child, "("))
    return "".join(out)


def thread(algorithm: str, rows: ThreadRows) -> Threads:
    return ordered_subject(rows) if algorithm == "ORDEREDSUBJECT" else references(rows)


__all__ = ["Threads", "render", "thread"]
