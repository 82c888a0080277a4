"""Address suggestions for To/Cc/Bcc: the person's recent recipients first
(named from the académie's directory when they are colleagues), then the
directory itself (``accounts.directory``: active accounts, prefix of either
name order or of the address, accents and case ignored).

Recent recipients are derived from the last ``RECENT_SCAN`` messages of
Envoyés (``store.webmail.sent_recipients``: To and Cc of the stored contents;
keyset on the (mailbox, uid) index) rather than kept in a table of their own:
nothing to migrate or to keep in step when a sent message is deleted.

Against bulk scraping of 60,000 names: a query needs 2 characters, answers at
most ``MAX_RESULTS``, and each account may ask ``RATE_LIMIT`` times per minute
(``check_rate``: Django's cache; per process with the default local-memory
cache, shared when a shared cache is configured). Beyond that the view answers
429 with a French hint.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from academail.accounts.directory import (
    MAX_QUERY,
    MAX_RESULTS,
    MIN_QUERY,
    Person,
    active_names,
    fold,
    search_directory,
)
from academail.store.webmail import sent_recipients

RECENT_SCAN = 200
RATE_LIMIT = 60  # queries per account per minute; typing with a 250 ms debounce stays far below


def recent_recipients(account_id: int, query: str, *, limit: int = MAX_RESULTS) -> list[Person]:
    """The account's own recent recipients (newest first) whose address starts
    with ``query``, or whose part after a dot does ("martin" finds
    julie.martin@...). Only this account's Envoyés is read."""
    prefix = fold(query)
    if len(prefix) < MIN_QUERY:
        return []
    rows = sent_recipients(account_id, limit=RECENT_SCAN)
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
    names.update(active_names(missing))
    merged: list[Person] = [Person(names.get(p.address, ""), p.address, recent=True) for p in recent]
    listed = {p.address for p in merged}
    merged.extend(p for p in directory if p.address not in listed)
    return merged[:MAX_RESULTS]


def over_rate(account_id: int) -> bool:
    """Count one query of ``account_id`` this minute; True beyond ``RATE_LIMIT``."""
    key = f"webmail:directory:{account_id}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=70)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=70)
        count = 1
    return count > int(getattr(settings, "WEBMAIL_DIRECTORY_RATE", RATE_LIMIT))


__all__ = ["MAX_QUERY", "RATE_LIMIT", "RECENT_SCAN", "access_suggestions", "over_rate", "recent_recipients"]
