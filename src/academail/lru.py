"""The one bounded, least-recently-used map of the process's caches, shared by
threads: the rendered FETCH pieces (``imap.render``), the THREAD answers
(``imap.threadcache``) and the threading rows of large mailboxes
(``store.threadindex``). Each of them kept its own copy of the same
OrderedDict, lock and eviction loop, bounded in entries, characters or rows;
the rule now lives here once, and each cache keeps only what is its own
(what is worth keeping, what outdates an entry, the file behind it).

An entry has a weight (``weight(value)``, or given to ``put``; 1 when
neither, so a bound in entries is a bound in weight). The map holds at most
``bound`` in total weight and, if ``entries`` is given, at most that many
entries: past either, the least recently used entries go first (a ``get``
that finds an entry, or a ``put``, makes it the most recent). An entry
heavier than ``bound`` on its own is not kept, and its key then holds
nothing. It imports nothing of academail, so any package may use it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """Least recently used entries, at most ``bound`` in total weight (and
    ``entries`` entries when given). Every method takes the one lock: each
    call is atomic, a sequence of calls is not."""

    def __init__(self, bound: int, weight: Callable[[V], int] | None = None, *, entries: int | None = None) -> None:
        self.bound = bound
        self.entries = entries
        self._weigh = weight
        self._data: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value of ``key``, now the most recently used; None when absent."""
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return None
            self._data.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V, weight: int | None = None) -> bool:
        """Keep ``value`` under ``key`` as the most recently used, replacing
        (and un-weighing) what the key held, then drop the least recently used
        entries past the bounds. ``weight`` overrides the weight function.
        Returns whether it is kept: not when heavier than ``bound`` alone
        (the key then holds nothing)."""
        if weight is None:
            weight = 1 if self._weigh is None else self._weigh(value)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            if weight > self.bound:
                return False
            self._data[key] = (value, weight)
            self._weight += weight
            while self._weight > self.bound or (self.entries is not None and len(self._data) > self.entries):
                _, (_, dropped) = self._data.popitem(last=False)
                self._weight -= dropped
            return True

    def pop(self, key: K) -> V | None:
        """Remove ``key``; its value, or None when absent."""
        with self._lock:
            found = self._data.pop(key, None)
            if found is None:
                return None
            self._weight -= found[1]
            return found[0]

    def discard_where(self, outdated: Callable[[K], bool]) -> int:
        """Remove the entries whose key ``outdated`` says is; how many went.
        A walk over every key: for small maps (or rare calls)."""
        with self._lock:
            keys = [key for key in self._data if outdated(key)]
            for key in keys:
                self._weight -= self._data.pop(key)[1]
            return len(keys)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._weight = 0

    @property
    def weight(self) -> int:
        """The total weight held."""
        return self._weight

    def keys(self) -> list[K]:
        """The keys, least recently used first (a copy: tests, diagnostics)."""
        with self._lock:
            return list(self._data)

    def __len__(self) -> int:
        return len(self._data)


__all__ = ["LRU"]
