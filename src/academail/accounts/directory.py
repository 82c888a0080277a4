"""The académie's directory as address completion needs it: active accounts,
name and address, nothing else. ``webmail.directory`` merges it with the
person's recent recipients for the To/Cc/Bcc boxes.

The directory is searched by prefix of the first name, the last name (either
order) or the address, accents and case ignored ("herve" finds "Hervé"). The
accounts table has no accent-folded column, so each process keeps a sorted
in-memory prefix index of folded keys (three per account; about 24 MiB for
60,000 accounts), rebuilt from one query every ``WEBMAIL_DIRECTORY_TTL``
seconds in a background thread (the first build blocks; later ones let the
old index answer meanwhile); a lookup is a binary search. The at most 10 candidates are then read
again by primary key, with the ``active`` condition, so a suspended or disabled
account never shows, even before the next rebuild.
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from academail.accounts.models import Account, Status
from academail.store.search import fold as fold_text

MAX_RESULTS = 10
MIN_QUERY = 2
MAX_QUERY = 100


def fold(text: str) -> str:
    """Lower case, accents removed, spaces collapsed: "  Hervé  LE  Guen" -> "herve le guen"."""
    return " ".join(fold_text(text).split())  # the one folding (store.search.fold), spaces collapsed


@dataclass(frozen=True)
class Person:
    name: str
    address: str
    recent: bool = False

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "address": self.address, "recent": self.recent}


class _PrefixIndex:
    """Sorted (folded key, account id) pairs of the active accounts."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, int]] = []
        self.built = 0.0
        self.rebuilding = False
        self.lock = threading.Lock()

    def _rebuild(self) -> None:
        keys: list[tuple[str, int]] = []
        rows = Account.objects.filter(status=Status.ACTIVE).values_list("pk", "first_name", "last_name", "address")
        for pk, first, last, address in rows.iterator(chunk_size=5000):
            keys.append((fold(f"{first} {last}"), pk))
            keys.append((fold(f"{last} {first}"), pk))
            keys.append((address.lower(), pk))
        keys.sort()
        self.keys = keys
        self.built = time.monotonic()

    def _refresh_in_background(self) -> None:
        try:
            self._rebuild()
        finally:
            connection.close()  # this thread's own connection
            self.rebuilding = False

    def lookup(self, prefix: str, limit: int) -> list[int]:
        ttl = float(getattr(settings, "WEBMAIL_DIRECTORY_TTL", 300))
        if not self.built:
            with self.lock:
                if not self.built:
                    self._rebuild()
        elif time.monotonic() - self.built > ttl and not self.rebuilding:
            # A rebuild takes about a second for 60,000 accounts: the old index
            # keeps answering meanwhile (the active check below stays exact).
            with self.lock:
                if not self.rebuilding:
                    self.rebuilding = True
                    threading.Thread(target=self._refresh_in_background, name="directory-index", daemon=True).start()
        keys = self.keys
        found: list[int] = []
        position = bisect.bisect_left(keys, (prefix, 0))
        # Three keys per account, so a bounded walk gives ``limit`` distinct people.
        for key, pk in keys[position : position + limit * 6]:
            if not key.startswith(prefix):
                break
            if pk not in found:
                found.append(pk)
                if len(found) == limit:
                    break
        return found

    def forget(self) -> None:
        self.built = 0.0


_index = _PrefixIndex()


def forget_index() -> None:
    """Rebuild the directory index at the next lookup (tests, account imports)."""
    _index.forget()


def search_directory(query: str, *, limit: int = MAX_RESULTS) -> list[Person]:
    """Active accounts whose name or address starts with ``query`` (folded)."""
    prefix = fold(query)[:MAX_QUERY]
    if len(prefix) < MIN_QUERY:
        return []
    ids = _index.lookup(prefix, limit)
    if not ids:
        return []
    rows = {
        pk: Person(f"{first} {last}".strip(), address)
        for pk, first, last, address in Account.objects.filter(pk__in=ids, status=Status.ACTIVE).values_list(
            "pk", "first_name", "last_name", "address"
        )
    }
    return [rows[pk] for pk in ids if pk in rows]


def active_names(addresses: list[str]) -> dict[str, str]:
    """The display names ("First Last") of those ``addresses`` that belong to
    active accounts (one query on the address index); others are left out."""
    if not addresses:
        return {}
    return {
        address: f"{first} {last}".strip()
        for first, last, address in Account.objects.filter(address__in=addresses, status=Status.ACTIVE).values_list(
            "first_name", "last_name", "address"
        )
    }
