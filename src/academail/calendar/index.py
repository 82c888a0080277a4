"""The event index: each calendar's occurrences as database rows
(``IndexedOccurrence``), so the agenda's views and CalDAV time-range REPORTs
read indexed rows instead of parsing every event file.

Radicale's files stay the truth; the index follows them. Every read first
compares the collection folder's signature (its mtime and its properties'
mtime, one ``stat`` each: Radicale renames a file into the folder at each
write) with the one indexed; when it moved, only the files whose mtime or
size changed are read again, and vanished ones dropped. So a write through
the webmail, a phone's PUT, a DELETE, a MOVE or a file restored from backup
is seen at the next read, whichever process made it, and the index is shared
by every process (the database), unlike a per-process cache.

Occurrences (RFC 5545 §3.3.10 RRULE, §3.8.5 EXDATE/RDATE, RECURRENCE-ID
overrides) are expanded with ``recurring_ical_events`` when a file is
indexed: a finite series fully (at most ``MAX_INDEXED``), an endless one as
one ``open`` row spanning from its first start, expanded when read.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import icalendar
import recurring_ical_events
from django.db import connection, transaction

from academail.accounts.models import Account
from academail.calendar.models import IndexedCalendar, IndexedFile, IndexedOccurrence

# A finite series with more occurrences than this is indexed as an open one.
MAX_INDEXED = 1000
FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
_BATCH = 500
# events.bounds: (start, end, all day) of a VEVENT in Europe/Paris.
Bounds = Callable[[icalendar.cal.Component], tuple[dt.datetime, dt.datetime, bool]]


@dataclass(frozen=True)
class Row:
    href: str
    uid: str
    summary: str
    location: str
    start: dt.datetime
    end: dt.datetime
    all_day: bool
    recurring: bool
    recurrence_id: str
    open: bool


def signature(folder: Path) -> str:
    stat = folder.stat()
    props = folder / ".Radicale.props"
    return f"{stat.st_mtime_ns}:{props.stat().st_mtime_ns if props.exists() else 0}"


def _rows(calendar: icalendar.Calendar, href: str, bounds: Bounds) -> list[Row]:
    """The occurrences of one calendar object (``bounds``: ``events.bounds``)."""
    vevents = [c for c in calendar.walk("VEVENT") if "DTSTART" in c]
    if not vevents:
        return []
    masters = [e for e in vevents if "RECURRENCE-ID" not in e]
    series = any("RRULE" in e or "RDATE" in e for e in masters) or len(vevents) > len(masters)
    if not series:
        return [row for event in vevents if (row := _row(href, event, bounds, recurring=False)) is not None]
    master = masters[0] if masters else vevents[0]
    head = _row(href, master, bounds, recurring=True)
    if head is None:
        return []
    occurrences = None
    if _bounded(masters):
        try:
            # From a month before: an override may move an occurrence before the series starts.
            expanded = recurring_ical_events.of(calendar, skip_bad_series=True).between(
                head.start - dt.timedelta(days=31), _last(masters, head.start))
        except (ValueError, TypeError, KeyError, OverflowError):
            return []
        if len(expanded) <= MAX_INDEXED:
            occurrences = expanded
    if occurrences is None:  # endless (or very long): one row, expanded at read time
        return [Row(href, head.uid, head.summary, head.location, head.start, FAR_FUTURE, head.all_day, True, "", True)]
    return [row for event in occurrences if (row := _row(href, event, bounds, recurring=True)) is not None]


def _row(href: str, event: icalendar.cal.Component, bounds: Bounds, *, recurring: bool) -> Row | None:
    try:
        start, end, all_day = bounds(event)
    except (ValueError, TypeError, KeyError):
        return None
    return Row(href, str(event.get("UID", "")), str(event.get("SUMMARY", ""))[:200], str(event.get("LOCATION", ""))[:200],
               start, end, all_day, recurring, event.decoded("DTSTART").isoformat() if recurring else "", False)


# Seconds between two occurrences of each RRULE FREQ (RFC 5545 §3.3.10), at least.
_FREQ_SECONDS = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400,
                 "MONTHLY": 28 * 86400, "YEARLY": 365 * 86400}
_BY_PARTS = ("BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS")


def _bounded(masters: list[icalendar.cal.Component]) -> bool:
    """Whether every rule surely ends within ``MAX_INDEXED`` occurrences, read
    from the rule itself (COUNT, or UNTIL over FREQ×INTERVAL times the BY*
    lists), so an endless or huge rule is never expanded here: it stays open."""
    total = 0
    for master in masters:
        rules = master.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
            if rule.get("COUNT"):
                total += int(rule["COUNT"][0])
                continue
            until = rule.get("UNTIL", [None])[0]
            frequency = _FREQ_SECONDS.get(str(rule.get("FREQ", [""])[0]).upper())
            if until is None or frequency is None:
                return False
            if not isinstance(until, dt.datetime):
                until = dt.datetime.combine(until, dt.time(23, 59, 59), dt.UTC)
            begin = master.decoded("DTSTART")
            if not isinstance(begin, dt.datetime):
                begin = dt.datetime.combine(begin, dt.time(), dt.UTC)
            span = ((until if until.tzinfo else until.replace(tzinfo=dt.UTC))
                    - (begin if begin.tzinfo else begin.replace(tzinfo=dt.UTC))).total_seconds()
            spread = 1
            for part in _BY_PARTS:
                spread *= max(1, len(rule.get(part, [])))
            interval = int(rule.get("INTERVAL", [1])[0] or 1)
            total += int(max(span, 0) // (frequency * interval) + 1) * spread
        rdates = master.get("RDATE")
        for value in rdates if isinstance(rdates, list) else [rdates] if rdates is not None else []:
            total += len(value.dts)
        if total > MAX_INDEXED:
            return False
    return True


def _last(masters: list[icalendar.cal.Component], first: dt.datetime) -> dt.datetime:
    """An instant after the last occurrence of bounded rules (their UNTIL, or far
    away for COUNT-bounded ones, which stop by themselves), plus a day."""
    ends = []
    for master in masters:
        rules = master.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
            until = rule.get("UNTIL", [None])[0]
            if until is None:
                return FAR_FUTURE - dt.timedelta(days=1)
            if not isinstance(until, dt.datetime):
                until = dt.datetime.combine(until, dt.time(), dt.UTC)
            ends.append(until if until.tzinfo else until.replace(tzinfo=dt.UTC))
        rdates = master.get("RDATE")
        for value in rdates if isinstance(rdates, list) else [rdates] if rdates is not None else []:
            for period in value.dts:
                moment = period.dt[0] if isinstance(period.dt, tuple) else period.dt
                if not isinstance(moment, dt.datetime):
                    moment = dt.datetime.combine(moment, dt.time(), dt.UTC)
                ends.append(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
    return max([first, *ends]) + dt.timedelta(days=2)


def _read(path: str) -> icalendar.Calendar | None:
    try:
        with open(path, "rb") as handle:
            parsed: icalendar.Calendar = icalendar.Calendar.from_ical(handle.read())
            return parsed
    except (OSError, ValueError):
        return None  # vanished meanwhile, or unreadable: skipped, never fatal


def do_refresh(account: Account, name: str, folder: Path, bounds: Bounds) -> IndexedCalendar:
    """Bring the index of ``account``'s calendar ``name`` (its ``folder``) up to
    date and return its row. One ``stat`` and one query when nothing changed.
    Precondition: not inside a transaction that must not see the index change."""
    seen = signature(folder)
    collection = IndexedCalendar.objects.filter(account=account, calendar=name).first()
    if collection is not None and collection.signature == seen:
        return collection
    with transaction.atomic():
        collection, _ = IndexedCalendar.objects.get_or_create(account=account, calendar=name)
        if connection.features.has_select_for_update:
            collection = IndexedCalendar.objects.select_for_update().get(pk=collection.pk)
        if collection.signature == seen:
            return collection  # another process did it meanwhile
        known = {f.href: f for f in IndexedFile.objects.filter(collection=collection)}
        with os.scandir(folder) as entries:
            present = {entry.name: entry.stat() for entry in entries
                       if not entry.name.startswith(".") and entry.is_file(follow_symlinks=False)}
        gone = [f.pk for href, f in known.items() if href not in present]
        changed = [(href, stat) for href, stat in present.items()
                   if href not in known or known[href].mtime_ns != stat.st_mtime_ns or known[href].size != stat.st_size]
        for start in range(0, len(gone), _BATCH):
            IndexedFile.objects.filter(pk__in=gone[start:start + _BATCH]).delete()
        replaced = [known[href].pk for href, _ in changed if href in known]
        for start in range(0, len(replaced), _BATCH):
            IndexedFile.objects.filter(pk__in=replaced[start:start + _BATCH]).delete()
        longest = collection.longest
        for first in range(0, len(changed), _BATCH):
            batch = changed[first:first + _BATCH]
            pending: list[IndexedOccurrence] = []
            files = IndexedFile.objects.bulk_create([
                IndexedFile(collection=collection, href=href, mtime_ns=stat.st_mtime_ns, size=stat.st_size)
                for href, stat in batch])
            for row, (href, _stat) in zip(files, batch, strict=True):
                parsed = _read(os.path.join(folder, href))
                for found in _rows(parsed, href, bounds) if parsed is not None else []:
                    if not found.open:
                        longest = max(longest, int((found.end - found.start).total_seconds()) + 1)
                    pending.append(IndexedOccurrence(
                        file=row, collection=collection, href=href, uid=found.uid[:255], summary=found.summary,
                        location=found.location, starts_at=found.start, ends_at=found.end, all_day=found.all_day,
                        recurring=found.recurring, recurrence_id=found.recurrence_id[:64], open=found.open))
            IndexedOccurrence.objects.bulk_create(pending, batch_size=_BATCH)
        collection.signature, collection.longest = seen, longest
        collection.save(update_fields=["signature", "longest"])
    return collection


_ROW_FIELDS = ("href", "uid", "summary", "location", "starts_at", "ends_at", "all_day", "recurring",
               "recurrence_id", "open")


def access_rows(collection: IndexedCalendar, start: dt.datetime, end: dt.datetime) -> list[Row]:
    """Indexed occurrences overlapping [start, end) (an instant event at
    ``start`` included), and the open series that began before ``end``.
    Tuples, not model instances: a busy week is a few hundred rows."""
    overlapping = IndexedOccurrence.objects.filter(
        collection=collection, open=False, starts_at__lt=end, ends_at__gte=start,
        starts_at__gte=start - dt.timedelta(seconds=collection.longest)).values_list(*_ROW_FIELDS)
    endless = IndexedOccurrence.objects.filter(
        collection=collection, open=True, starts_at__lt=end).values_list(*_ROW_FIELDS)
    rows = [Row(*values) for values in [*overlapping, *endless]
            # ends exactly at the window's start: not overlapping (RFC 4791 §9.9)
            if not (values[5] == start and values[4] != values[5])]
    rows.sort(key=lambda row: row.start)
    return rows


def do_fill_served(collection: IndexedCalendar, hrefs: list[str],
                   fetch: Callable[[list[str]], dict[str, tuple[str, str]]]) -> dict[str, tuple[str, str]]:
    """href -> (ETag, calendar-data) for these indexed files of ``collection``:
    kept ones from the index, the others asked once of ``fetch`` (Radicale:
    ``dav.access_served``) and kept on the file's row, which a change of the
    file replaces. A file not indexed or gone is left out."""
    known: dict[str, tuple[int, str, str]] = {}
    for first in range(0, len(hrefs), _BATCH):
        for href, pk, etag, served in IndexedFile.objects.filter(
                collection=collection, href__in=hrefs[first:first + _BATCH]).values_list("href", "pk", "etag", "served"):
            known[href] = (pk, etag, served)
    missing = [href for href, (_, etag, _) in known.items() if not etag]
    fetched = fetch(missing) if missing else {}
    if fetched:
        IndexedFile.objects.bulk_update(
            [IndexedFile(pk=known[href][0], etag=etag, served=text) for href, (etag, text) in fetched.items()],
            ["etag", "served"], batch_size=_BATCH)
    found = {}
    for href in hrefs:
        if href in fetched:
            found[href] = fetched[href]
        elif href in known and known[href][1]:
            found[href] = known[href][1:]
    return found


def access_href_by_uid(collection: IndexedCalendar, uid: str) -> str:
    """The calendar object holding ``uid`` (RFC 4791 §4.1: one UID per object), or ""."""
    return IndexedOccurrence.objects.filter(collection=collection, uid=uid).values_list("href", flat=True).first() or ""
