"""THREAD (RFC 5256 §2): ORDEREDSUBJECT and REFERENCES over the rows the store
gives (``store.imap.ThreadRow``), and the thread-list text of §4.

Pure functions: no database, no I/O. No maintained Python library implements
RFC 5256's variant of the JWZ algorithm (``jwzthreading`` is Python 2, 2005),
so the steps are here, numbered as in the RFC.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from academail.store.imap import ThreadRow as Row

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


@dataclass(eq=False)
class Node:
    """A container (§2.2 REFERENCES step 1): a message, or none (a dummy)."""

    row: Row | None = None
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)

    def adopt(self, child: Node) -> None:
        if child.parent is not None:
            child.parent.children.remove(child)
        child.parent = self
        self.children.append(child)

    def is_ancestor_of(self, other: Node) -> bool:
        node: Node | None = other
        while node is not None:
            if node is self:
                return True
            node = node.parent
        return False

    def first_row(self) -> Row | None:
        """The message, or a dummy's first child's (children sorted)."""
        if self.row is not None:
            return self.row
        return self.children[0].first_row() if self.children else None


def _sort_key(node: Node) -> tuple[object, int]:
    row = node.first_row()
    assert row is not None
    return (row.sent, row.uid)  # sent date, ties by sequence (= UID) order


def _sort_tree(nodes: list[Node]) -> None:
    """§2.2 step (4)/(6): every level by sent date, a dummy by its first child's."""
    for node in nodes:
        _sort_tree(node.children)
    nodes.sort(key=_sort_key)


def ordered_subject(rows: Sequence[Row]) -> list[Node]:
    """§2.1 ORDEREDSUBJECT: group by base subject, each group by sent date; the
    first message is the parent of all the others; threads by their first date."""
    groups: dict[str, Node] = {}
    for row in sorted(rows, key=lambda r: (r.base_subject, r.sent, r.uid)):
        node = Node(row)
        if row.base_subject in groups:
            groups[row.base_subject].adopt(node)
        else:
            groups[row.base_subject] = node
    roots = list(groups.values())
    roots.sort(key=_sort_key)
    return roots


def references(rows: Sequence[Row]) -> list[Node]:
    """§2.2 REFERENCES (after JWZ): link by Message-ID, prune dummies, sort,
    merge roots by base subject, sort again."""
    by_id: dict[str, Node] = {}

    def container(message_id: str) -> Node:
        if message_id not in by_id:
            by_id[message_id] = Node()
        return by_id[message_id]

    # Step (1)(A): a container per Message-ID; a missing or duplicate one gets a unique id.
    for row in rows:
        found = _MESSAGE_ID.findall(row.message_id or "")
        message_id = found[0] if found else ""
        if not message_id or (message_id in by_id and by_id[message_id].row is not None):
            message_id = f"\0{row.uid}"
        node = container(message_id)
        node.row = row
        # (B): link the References chain, keeping existing links and never a loop.
        chain = _MESSAGE_ID.findall(row.references or "") or _MESSAGE_ID.findall(row.in_reply_to or "")[:1]
        chain = [ref for ref in chain if ref != message_id]
        for parent_id, child_id in zip(chain, chain[1:], strict=False):
            parent, child = container(parent_id), container(child_id)
            if child.parent is None and child is not parent and not child.is_ancestor_of(parent):
                parent.adopt(child)
        # (C): the last reference is the parent, replacing any other, unless a loop.
        if chain:
            parent = container(chain[-1])
            if not node.is_ancestor_of(parent):
                parent.adopt(node)  # breaks the current parent link, if any
    # Step (2): the root set.
    roots = [node for node in by_id.values() if node.parent is None]
    # Step (3): prune dummies.
    roots = _prune(roots, at_root=True)
    # Step (4): sort by sent date.
    _sort_tree(roots)
    # Step (5): merge the roots sharing a base subject.
    roots = _merge_subjects(roots)
    # Step (6): sort again.
    _sort_tree(roots)
    return roots


def _prune(nodes: list[Node], *, at_root: bool) -> list[Node]:
    """§2.2 step (3): an empty dummy goes; a dummy with children gives them to
    its level, except at the root where it stays if it has more than one."""
    out: list[Node] = []
    for node in nodes:
        node.children = _prune(node.children, at_root=False)
        for child in node.children:
            child.parent = node
        if node.row is not None:
            out.append(node)
        elif not node.children:
            continue
        elif at_root and len(node.children) > 1:
            out.append(node)
        else:
            for child in node.children:  # all messages: no dummy stays below the root
                child.parent = node.parent
            out.extend(node.children)
    return out


def _merge_subjects(roots: list[Node]) -> list[Node]:
    """§2.2 step (5)(A)-(C)."""

    def subject(node: Node) -> str:
        row = node.first_row()
        return row.base_subject if row is not None else ""

    def is_reply(node: Node) -> bool:
        return node.row is not None and node.row.is_reply

    table: dict[str, Node] = {}
    for node in roots:  # (B)
        key = subject(node)
        if not key:
            continue
        old = table.get(key)
        if old is None or (node.row is None and old.row is not None) or (is_reply(old) and not is_reply(node)):
            table[key] = node
    out = list(roots)
    for node in roots:  # (C)
        key = subject(node)
        kept = table.get(key) if key else None
        if kept is None or kept is node:
            continue
        out.remove(node)
        if kept.row is None and node.row is None:
            for child in list(node.children):
                kept.adopt(child)
        elif kept.row is None:
            kept.adopt(node)
        elif is_reply(node) and not is_reply(kept):
            kept.adopt(node)
        else:
            dummy = Node()
            out[out.index(kept)] = dummy
            dummy.adopt(kept)
            dummy.adopt(node)
            table[key] = dummy
    return out


def render(roots: Sequence[Node], number: Callable[[int], int]) -> str:
    """§4 thread-list: "(3 6 (4 23)(44 7 96))"; ``number`` maps a UID to what
    the client asked for (UID or sequence number)."""

    def members(node: Node) -> str:
        parts: list[str] = []
        while True:
            if node.row is not None:
                parts.append(str(number(node.row.uid)))
            if len(node.children) == 1 and node.row is not None:
                node = node.children[0]
                continue
            if node.children:
                parts.append("".join(f"({members(child)})" for child in node.children))
            return " ".join(parts)

    return "".join(f"({members(root)})" for root in roots)


def thread(algorithm: str, rows: Sequence[Row]) -> list[Node]:
    return ordered_subject(rows) if algorithm == "ORDEREDSUBJECT" else references(rows)


__all__ = ["Node", "render", "thread"]
