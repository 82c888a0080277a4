"""Address autocompletion for To/Cc/Bcc: the académie's directory (active
accounts: name and address, nothing else) and the person's recent recipients.

The directory is searched by prefix of the first name, the last name (either
order) or the address, accents and case ignored ("herve" finds "Hervé"). The
accounts table has no accent-folded column, so each process keeps a sorted
in-memory prefix index of folded keys (three per account; about 24 MiB for
60,000 accounts), rebuilt from one query every ``WEBMAIL_DIRECTORY_TTL``
seconds in a background thread (the first build blocks; later ones let the
old index answer meanwhile); a lookup is a binary search. The at most 10 candidates are then read
again by primary key, with the ``active`` condition, so a suspended or disabled
account never shows, even before the next rebuild.

Recent recipients are derived from the last ``RECENT_SCAN`` messages of
Envoyés (To and Cc of the stored contents; keyset on the (mailbox, uid) index)
rather than kept in a table of their own: nothing to migrate or to keep in step
when a sent message is deleted.

Against bulk scraping of 60,000 names: a query needs 2 characters, answers at
most ``MAX_RESULTS``, and each account may ask ``RATE_LIMIT`` times per minute
(Django's cache; per process with the default local-memory cache, shared when a
shared cache is configured). Beyond that the answer is 429 with a French hint.
"""

from __future__ import annotations

import bisect
import threading
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from academail.accounts.models import Account, Status
from academail.store.mailboxes import special_mailbox
from academail.store.models import Message

MAX_RESULTS = 10
MIN_QUERY = 2
MAX_QUERY = 100
RECENT_SCAN = 200
RATE_LIMIT = 60  # queries per account per minute; typing with a 250 ms debounce stays far below


def fold(text: str) -> str:
    """Lower case, accents removed, spaces collapsed: "  Hervé  LE  Guen" -> "herve le guen"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


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


def recent_recipients(account_id: int, query: str, *, limit: int = MAX_RESULTS) -> list[Person]:
    """The account's own recent recipients (newest first) whose address starts
    with ``query``, or whose part after a dot does ("martin" finds
    julie.martin@...). Only this account's Envoyés is read."""
    prefix = fold(query)
    if len(prefix) < MIN_QUERY:
        return []
    sent = special_mailbox(account_id, "sent")
    rows = (
        Message.objects.filter(mailbox_id=sent.pk)
        .order_by("-uid")
        .values_list("content__to_text", "content__cc_text")[:RECENT_SCAN]
    )
    seen: set[str] = set()
    found: list[Person] = []
    for to_text, cc_text in rows:
        # The store keeps bare addresses joined by ", " (store.messages._content_row).
        for address in f"{to_text},{cc_text}".split(","):
            address = address.strip().lower()
            if not address or address in seen:
                continue
            seen.add(address)
            local = address.partition("@")[0]
            if address.startswith(prefix) or any(part.startswith(prefix) for part in local.split(".")[1:]):
                found.append(Person("", address, recent=True))
                if len(found) == limit:
                    return found
    return found


def access_suggestions(account_id: int, query: str) -> list[Person]:
    """What the To/Cc/Bcc box proposes to the signed-in account: its recent
    recipients first (named from the directory when they are colleagues), then
    the directory; at most MAX_RESULTS, no address twice, no field but name and
    address."""
    directory = search_directory(query)
    names = {p.address: p.name for p in directory}
    recent = recent_recipients(account_id, query)
    missing = [p.address for p in recent if p.address not in names]
    if missing:
        names.update(
            {
                address: f"{first} {last}".strip()
                for first, last, address in Account.objects.filter(
                    address__in=missing, status=Status.ACTIVE
                ).values_list("first_name", "last_name", "address")
            }
        )
    merged: list[Person] = [Person(names.get(p.address, ""), p.address, recent=True) for p in recent]
    listed = {p.address for p in merged}
    merged.extend(p for p in directory if p.address not in listed)
    return merged[:MAX_RESULTS]


def _over_rate(account_id: int) -> bool:
    key = f"webmail:directory:{account_id}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=70)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=70)
        count = 1
    return count > int(getattr(settings, "WEBMAIL_DIRECTORY_RATE", RATE_LIMIT))


@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    """GET ``?q=``: JSON ``{"results": [{"name", "address", "recent"}]}``."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Votre session a expiré : reconnectez-vous.")}, status=401)
    account_id = int(request.user.pk)
    if _over_rate(account_id):
        response = JsonResponse(
            {"error": _("Trop de recherches dans l'annuaire : patientez une minute, ou saisissez l'adresse complète.")},
            status=429,
        )
        response["Retry-After"] = "60"
        return response
    query = request.GET.get("q", "")[:MAX_QUERY]
    response = JsonResponse({"results": [p.as_json() for p in access_suggestions(account_id, query)]})
    response["Cache-Control"] = "no-store"
    return response
