"""The agenda's one service: the webmail reads and writes events here, and
here only; the data is Radicale's collections (``calendar.dav``), so a phone
synced over CalDAV and the webmail see the same events.

Time-range reads (the views, free/busy, UID lookups) go to the event index
(``calendar.index``: occurrences as database rows, brought up to date from
Radicale's folder when its signature moved, shared by every process); a week
view costs a ``stat`` and one indexed range query per calendar. Reading one
event (the form, an endless series to expand) parses its file, cached per
process while its mtime and size stay.
Recurrences (RFC 5545 §3.3.10 RRULE, §3.8.5.1 EXDATE, RECURRENCE-ID overrides)
are expanded with ``recurring_ical_events``, in Europe/Paris.

Writes go through Radicale's own request handling (``dav.call``: PUT, DELETE),
so its checks and its sync history (phones see the change) apply as to any
client.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from academail.accounts.models import Account
from academail.calendar import dav, index

PARIS = ZoneInfo("Europe/Paris")
MAX_SUMMARY = 200
MAX_TEXT = 4000
# A request for more than this many days is cut (a year view is not offered).
MAX_RANGE_DAYS = 62
# Recurrences expanded for one view are bounded (RFC 5545 allows infinite ones).
MAX_OCCURRENCES = 2000

RECURRENCES: dict[str, str] = {
    "": "",
    "daily": "FREQ=DAILY",
    "schooldays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "weekly": "FREQ=WEEKLY",
    "fortnightly": "FREQ=WEEKLY;INTERVAL=2",
    "monthly": "FREQ=MONTHLY",
}
REMINDERS = (0, 10, 30, 60, 24 * 60)
# Europe/Paris as rules (EU summer time since 1996), as Thunderbird and Apple
# write it: a few lines instead of one RDATE per year, cheap for every client
# (and for vobject inside Radicale) to read.
PARIS_VTIMEZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n"
    "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"
    "DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n"
    "DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
)


class AgendaError(ValueError):
    """A request that cannot be honoured; ``str()`` is for the person, in
    their language (French source, English in the calendar catalogue)."""


# Every "not there" of an event (unknown calendar, bad href, deleted meanwhile)
# reads the same: the person's next step is the same.
EVENT_GONE = gettext_lazy("Cet événement n'existe pas ou plus : revenez à l'agenda pour voir vos événements.")


@dataclass(frozen=True)
class CalendarInfo:
    name: str  # the collection's folder, e.g. "agenda"
    title: str
    color: str


@dataclass(frozen=True)
class Occurrence:
    calendar: CalendarInfo
    href: str
    uid: str
    summary: str
    location: str
    start: dt.datetime  # Europe/Paris
    end: dt.datetime
    all_day: bool
    recurring: bool
    recurrence_id: str = ""  # the occurrence's start, as sent back to delete only it

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass
class EventDraft:
    """What the event form edits; ``check_save_event`` validates it."""

    calendar: str = dav.DEFAULT_CALENDAR
    summary: str = ""
    location: str = ""
    description: str = ""
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    all_day: bool = False
    recurrence: str = ""
    until: dt.date | None = None
    reminder: int = 0
    href: str = ""
    extra: dict[str, object] = field(default_factory=dict)


# --- reading ----------------------------------------------------------------------


def _home(account: Account) -> Path:
    dav.do_provision(account.identifier)
    return dav.collection_root() / account.identifier


def _info(folder: Path) -> CalendarInfo | None:
    import json

    try:
        props = json.loads((folder / ".Radicale.props").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if props.get("tag") != "VCALENDAR":
        return None
    color = str(props.get("ICAL:calendar-color") or "#000091")[:7]
    return CalendarInfo(folder.name, str(props.get("D:displayname") or folder.name), color)


def access_calendars(account: Account) -> list[CalendarInfo]:
    """The account's calendars (its own home only), « Agenda » first."""
    home = _home(account)
    found = []
    with os.scandir(home) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                info = _info(Path(entry.path))
                if info is not None:
                    found.append(info)
    return sorted(found, key=lambda c: (c.name != dav.DEFAULT_CALENDAR, c.title.casefold()))


def _as_paris(value: dt.date | dt.datetime) -> tuple[dt.datetime, bool]:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # floating time (RFC 5545 §3.3.5): local time
            return value.replace(tzinfo=PARIS), False
        return value.astimezone(PARIS), False
    return dt.datetime.combine(value, dt.time(), PARIS), True


def _bounds(event: icalendar.cal.Component) -> tuple[dt.datetime, dt.datetime, bool]:
    start, all_day = _as_paris(event.decoded("DTSTART"))
    if "DTEND" in event:
        end = _as_paris(event.decoded("DTEND"))[0]
    elif "DURATION" in event:
        end = start + event.decoded("DURATION")
    else:
        end = start + (dt.timedelta(days=1) if all_day else dt.timedelta())
    return start, max(end, start), all_day


# Parsed event files (endless series expanded when read, the event form), per
# path while its mtime and size stay; time-range reads use calendar.index.
_files: dict[str, tuple[int, int, icalendar.Calendar | None]] = {}
_cache_lock = threading.Lock()


def _read(path: str, stat: os.stat_result) -> icalendar.Calendar | None:
    """One stored event file, parsed (cached per path while its mtime and size
    stay). The files are Radicale's, verified by it on upload; reading them
    directly spares vobject's re-serialisation, far slower than icalendar."""
    key = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _files.get(path)
    if cached is not None and cached[:2] == key:
        return cached[2]
    try:
        with open(path, "rb") as handle:
            parsed: icalendar.Calendar | None = icalendar.Calendar.from_ical(handle.read())
    except (OSError, ValueError):
        parsed = None  # vanished meanwhile, or unreadable: skipped, never fatal
    with _cache_lock:
        _files[path] = (key[0], key[1], parsed)
    return parsed


def _occurrence(info: CalendarInfo, href: str, event: icalendar.cal.Component, recurring: bool) -> Occurrence:
    start, end, all_day = _bounds(event)
    recurrence_id = ""
    if recurring:
        recurrence_id = event.decoded("DTSTART").isoformat() if "DTSTART" in event else ""
    return Occurrence(
        calendar=info, href=href, uid=str(event.get("UID", "")), summary=str(event.get("SUMMARY", ""))[:MAX_SUMMARY],
        location=str(event.get("LOCATION", ""))[:MAX_SUMMARY], start=start, end=end, all_day=all_day,
        recurring=recurring, recurrence_id=recurrence_id,
    )


def access_occurrences(account: Account, start: dt.datetime, end: dt.datetime,
                       calendars: list[CalendarInfo] | None = None) -> list[Occurrence]:
    """The account's event occurrences overlapping [start, end), sorted by
    start, read from the event index (``calendar.index``, brought up to date
    first); an endless series is expanded here (at most ``MAX_OCCURRENCES``)."""
    if end - start > dt.timedelta(days=MAX_RANGE_DAYS):
        end = start + dt.timedelta(days=MAX_RANGE_DAYS)
    found: list[Occurrence] = []
    for info in calendars if calendars is not None else access_calendars(account):
        folder = _home(account) / info.name
        collection = index.do_refresh(account, info.name, folder, _bounds)
        for row in index.access_rows(collection, start, end):
            if row.open:
                found.extend(_expand_open(info, folder, row.href, start, end))
                continue
            found.append(Occurrence(
                calendar=info, href=row.href, uid=row.uid, summary=row.summary, location=row.location,
                start=row.start.astimezone(PARIS), end=row.end.astimezone(PARIS), all_day=row.all_day,
                recurring=row.recurring, recurrence_id=row.recurrence_id,
            ))
    found.sort(key=lambda o: (o.start, not o.all_day, o.summary))
    return found


def access_hrefs(account: Account, info: CalendarInfo, start: dt.datetime, end: dt.datetime) -> list[str]:
    """The calendar objects of ``info`` with an occurrence overlapping
    [start, end) (RFC 4791 §9.9), from the event index: what a CalDAV
    time-range query on VEVENTs matches."""
    folder = _home(account) / info.name
    collection = index.do_refresh(account, info.name, folder, _bounds)
    found: dict[str, None] = {}
    for row in index.access_rows(collection, start, end):
        if row.href not in found and (not row.open or _expand_open(info, folder, row.href, start, end)):
            found[row.href] = None
    return list(found)


def access_served(account: Account, info: CalendarInfo, start: dt.datetime,
                  end: dt.datetime) -> list[tuple[str, str, str]]:
    """(href, ETag, calendar-data) of each calendar object of ``info`` that a
    CalDAV time-range query on VEVENTs over [start, end) matches (RFC 4791
    §9.9), as Radicale serves them: the index says which, and keeps what
    Radicale gave for each (``index.do_fill_served``)."""
    hrefs = access_hrefs(account, info, start, end)
    collection = index.do_refresh(account, info.name, _home(account) / info.name, _bounds)
    served = index.do_fill_served(collection, hrefs, lambda wanted: dav.access_served(
        account.identifier, info.name, wanted))
    return [(href, *served[href]) for href in hrefs if href in served]


def _expand_open(info: CalendarInfo, folder: Path, href: str, start: dt.datetime, end: dt.datetime) -> list[Occurrence]:
    """The occurrences in [start, end) of an endless series (RFC 5545 §3.3.10)."""
    path = folder / href
    try:
        parsed = _read(str(path), path.stat())
    except OSError:
        return []
    if parsed is None:
        return []
    found = []
    try:
        for count, event in enumerate(recurring_ical_events.of(parsed, skip_bad_series=True).between(start, end)):
            if count >= MAX_OCCURRENCES:
                break
            found.append(_occurrence(info, href, event, True))
    except (ValueError, TypeError, KeyError, OverflowError):
        return []
    return found


def access_busy(accounts: list[Account], start: dt.datetime,
                end: dt.datetime) -> dict[str, list[tuple[dt.datetime, dt.datetime]]]:
    """Busy periods (no details: RFC 5545 §3.6.4 VFREEBUSY semantics) of each
    account in [start, end), merged, by address. Timed events only: an
    all-day event (a school trip, a holiday) does not block hours. The caller
    decides whose free/busy a requester may see (colleagues of the académie)."""
    busy: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    for account in accounts:
        periods: list[tuple[dt.datetime, dt.datetime]] = []
        for occurrence in access_occurrences(account, start, end):
            if occurrence.all_day:
                continue
            begin, finish = max(occurrence.start, start), min(occurrence.end, end)
            if periods and begin <= periods[-1][1]:
                periods[-1] = (periods[-1][0], max(periods[-1][1], finish))
            else:
                periods.append((begin, finish))
        busy[account.address] = periods
    return busy


MAX_COLLEAGUES = 30


@dataclass(frozen=True)
class Availability:
    """Busy periods of colleagues for one week; ``unknown``: addresses that
    are not académie accounts (answered the same whatever the reason)."""

    monday: dt.date
    busy: list[tuple[str, list[tuple[dt.datetime, dt.datetime]]]]
    unknown: list[str]


def access_availability(requester: Account, addresses: list[str], monday: dt.date) -> Availability:
    """Colleagues' busy periods (never titles, places or attendees) for the
    week of ``monday``: what an organiser needs to choose a time. Any signed-in
    account may ask about académie accounts, as in every institutional
    calendar; at most ``MAX_COLLEAGUES`` at once."""
    from academail.accounts.services import resolve_address

    wanted = list(dict.fromkeys(a.strip().lower() for a in addresses if a.strip()))[:MAX_COLLEAGUES]
    accounts: list[Account] = []
    unknown: list[str] = []
    for address in wanted:
        account = resolve_address(address)
        if account is None:
            unknown.append(address)
        else:
            accounts.append(account)
    start = dt.datetime.combine(monday, dt.time(), PARIS)
    busy = access_busy(accounts, start, start + dt.timedelta(days=7))
    return Availability(monday, [(a.address, busy[a.address]) for a in accounts], unknown)


def access_event(account: Account, calendar: str, href: str) -> EventDraft:
    """The stored event ``href`` of the account's ``calendar`` as a draft for the form."""
    info = next((c for c in access_calendars(account) if c.name == calendar), None)
    if info is None or not _safe(href):
        raise AgendaError(EVENT_GONE)
    path = _home(account) / info.name / href
    try:
        cal = _read(str(path), path.stat())
    except OSError:
        cal = None
    vevents = [e for e in cal.walk("VEVENT") if "DTSTART" in e] if cal is not None else []
    masters = [e for e in vevents if "RECURRENCE-ID" not in e]
    event = masters[0] if masters else None
    if event is None:
        raise AgendaError(EVENT_GONE)
    start, end, all_day = _bounds(event)
    rule = event.get("RRULE")
    rule_text = rule.to_ical().decode() if rule is not None else ""
    until = rule.get("UNTIL", [None])[0] if rule is not None else None
    base_rule = ";".join(p for p in rule_text.split(";") if not p.startswith(("UNTIL=", "COUNT=")))
    recurrence = next((k for k, v in RECURRENCES.items() if v and v == base_rule), "")
    alarm = next(iter(event.walk("VALARM")), None)
    reminder = 0
    if alarm is not None:
        trigger = alarm.decoded("TRIGGER")
        if isinstance(trigger, dt.timedelta):
            reminder = int(-trigger.total_seconds() // 60)
    return EventDraft(
        calendar=calendar, summary=str(event.get("SUMMARY", "")), location=str(event.get("LOCATION", "")),
        description=str(event.get("DESCRIPTION", "")), start=start, end=end if not all_day else end - dt.timedelta(days=1),
        all_day=all_day, recurrence=recurrence,
        until=(until.date() if isinstance(until, dt.datetime) else until), reminder=reminder, href=href,
    )


# --- writing ----------------------------------------------------------------------


def _safe(href: str) -> bool:
    return bool(href) and "/" not in href and not href.startswith(".") and len(href) <= 200


def _put(account: Account, calendar: str, href: str, ical: icalendar.Calendar) -> None:
    status = dav.call(account.identifier, "PUT", f"/{account.identifier}/{calendar}/{href}",
                      ical.to_ical(), {"Content-Type": "text/calendar; charset=utf-8"})[0]
    if status not in (200, 201, 204):
        raise AgendaError(_("L'événement n'a pas pu être enregistré. Vérifiez les dates et réessayez."))


def _stored(account: Account, calendar: str, href: str) -> icalendar.Calendar | None:
    status, _headers, body = dav.call(account.identifier, "GET", f"/{account.identifier}/{calendar}/{href}")
    if status != 200:
        return None
    return icalendar.Calendar.from_ical(body)


def check_save_event(account: Account, draft: EventDraft) -> str:
    """Create (``draft.href`` empty) or update an event of the account's own
    calendar; returns its href. Fields of a stored event that the form does
    not show (attendees, organiser, exceptions) are kept."""
    calendars = {c.name for c in access_calendars(account)}
    if draft.calendar not in calendars:
        raise AgendaError(_("Choisissez un de vos agendas."))
    summary = " ".join(draft.summary.split())[:MAX_SUMMARY]
    if not summary:
        raise AgendaError(_("Donnez un titre à l'événement."))
    if draft.start is None or draft.end is None:
        raise AgendaError(_("Indiquez le début et la fin de l'événement."))
    if draft.end < draft.start:
        raise AgendaError(_("La fin de l'événement doit suivre son début : corrigez la date ou l'heure de fin."))
    if draft.recurrence not in RECURRENCES:
        raise AgendaError(_("Choisissez une répétition de la liste."))
    if draft.reminder not in REMINDERS:
        raise AgendaError(_("Choisissez un rappel de la liste."))
    if draft.until is not None and draft.until < draft.start.date():
        raise AgendaError(_("La répétition doit s'arrêter après le premier événement : "
                            "choisissez une date de fin plus tardive."))

    stored = _stored(account, draft.calendar, draft.href) if draft.href else None
    if draft.href and (stored is None or not _safe(draft.href)):
        raise AgendaError(EVENT_GONE)
    if stored is not None:
        masters = [e for e in stored.walk("VEVENT") if "RECURRENCE-ID" not in e]
        event = masters[0]
        for name in ("DTSTART", "DTEND", "DURATION", "SUMMARY", "LOCATION", "DESCRIPTION", "RRULE"):
            event.pop(name, None)
        event.subcomponents = [c for c in event.subcomponents if c.name != "VALARM"]
        calendar = stored
        href = draft.href
        sequence = int(event.get("SEQUENCE", 0)) + 1
        event.pop("SEQUENCE", None)
        event.add("SEQUENCE", sequence)
    else:
        calendar = icalendar.Calendar()
        calendar.add("PRODID", "-//academail//agenda//FR")
        calendar.add("VERSION", "2.0")
        event = icalendar.Event()
        uid = f"{uuid.uuid4()}@{settings.MAIL_DOMAINS[0]}"
        event.add("UID", uid)
        calendar.add_component(event)
        href = f"{uuid.uuid4().hex}.ics"
    event.pop("DTSTAMP", None)
    event.add("DTSTAMP", dt.datetime.now(dt.UTC))
    if draft.all_day:
        event.add("DTSTART", draft.start.date())
        event.add("DTEND", draft.end.date() + dt.timedelta(days=1))  # RFC 5545 §3.6.1: exclusive
    else:
        event.add("DTSTART", draft.start.astimezone(PARIS))
        event.add("DTEND", draft.end.astimezone(PARIS))
    event.add("SUMMARY", summary)
    if draft.location.strip():
        event.add("LOCATION", draft.location.strip()[:MAX_SUMMARY])
    if draft.description.strip():
        event.add("DESCRIPTION", draft.description.strip()[:MAX_TEXT])
    if draft.recurrence:
        rule = icalendar.vRecur.from_ical(RECURRENCES[draft.recurrence])
        if draft.until is not None:
            # RFC 5545 §3.3.10: UNTIL in UTC when DTSTART has a time zone.
            rule["UNTIL"] = (draft.until if draft.all_day else
                             dt.datetime.combine(draft.until, dt.time(23, 59, 59), PARIS).astimezone(dt.UTC))
        event.add("RRULE", rule)
    if draft.reminder:
        alarm = icalendar.Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", summary)
        alarm.add("TRIGGER", -dt.timedelta(minutes=draft.reminder))  # RFC 5545 §3.8.6.3
        event.add_component(alarm)
    if not draft.all_day:
        # RFC 5545 §3.6.5: each TZID used has its VTIMEZONE; ours are all Europe/Paris.
        calendar.subcomponents = [c for c in calendar.subcomponents if c.name != "VTIMEZONE"]
        calendar.subcomponents.insert(0, icalendar.Timezone.from_ical(PARIS_VTIMEZONE))
    _put(account, draft.calendar, href, calendar)
    return href


def do_delete_event(account: Account, calendar: str, href: str, *, occurrence: str = "") -> None:
    """Delete the event (every occurrence), or with ``occurrence`` (the
    ISO start of one occurrence) only that one, as an EXDATE (RFC 5545 §3.8.5.1)."""
    if calendar not in {c.name for c in access_calendars(account)} or not _safe(href):
        raise AgendaError(EVENT_GONE)
    if not occurrence:
        status = dav.call(account.identifier, "DELETE", f"/{account.identifier}/{calendar}/{href}")[0]
        if status not in (200, 204, 404):
            raise AgendaError(_("L'événement n'a pas pu être supprimé. Réessayez."))
        return
    stored = _stored(account, calendar, href)
    if stored is None:
        raise AgendaError(EVENT_GONE)
    try:
        when = dt.datetime.fromisoformat(occurrence)
    except ValueError:
        try:
            when = dt.datetime.combine(dt.date.fromisoformat(occurrence), dt.time())
        except ValueError:
            raise AgendaError(_("Cette occurrence n'existe pas ou plus : revenez à l'agenda "
                                "et choisissez-la à nouveau.")) from None
    masters = [e for e in stored.walk("VEVENT") if "RECURRENCE-ID" not in e]
    if not masters:
        raise AgendaError(EVENT_GONE)
    master = masters[0]
    if isinstance(master.decoded("DTSTART"), dt.datetime):
        # An ISO offset (+02:00) is not a TZID: back to Europe/Paris, whose VTIMEZONE is there.
        master.add("EXDATE", when.astimezone(PARIS) if when.tzinfo else when.replace(tzinfo=PARIS))
    else:
        master.add("EXDATE", when.date())
    stored.subcomponents = [c for c in stored.subcomponents
                            if not (c.name == "VEVENT" and "RECURRENCE-ID" in c
                                    and _as_paris(c.decoded("RECURRENCE-ID"))[0] == _as_paris(when)[0])]
    _put(account, calendar, href, stored)


# --- for invitations (calendar.imip) --------------------------------------------------


def bounds(event: icalendar.cal.Component) -> tuple[dt.datetime, dt.datetime, bool]:
    """(start, end, all day) of a VEVENT, in Europe/Paris."""
    return _bounds(event)


def access_stored(account: Account, calendar: str, href: str) -> icalendar.Calendar | None:
    """The stored calendar object ``href`` of the account's ``calendar`` (None when absent)."""
    return _stored(account, calendar, href) if _safe(href) else None


def access_by_uid(account: Account, uid: str) -> tuple[str, str, icalendar.Calendar] | None:
    """The account's stored event with this UID: (calendar, href, its iCalendar),
    found through the event index (one indexed lookup per calendar)."""
    for info in access_calendars(account):
        collection = index.do_refresh(account, info.name, _home(account) / info.name, _bounds)
        href = index.access_href_by_uid(collection, uid)
        if href:
            stored = _stored(account, info.name, href)
            if stored is not None:
                return info.name, href, stored
    return None


def do_put_event(account: Account, calendar: str, href: str, ical: icalendar.Calendar) -> None:
    """Write a whole calendar object (an invitation as received) into the account's ``calendar``."""
    if calendar not in {c.name for c in access_calendars(account)} or not _safe(href):
        raise AgendaError(EVENT_GONE)
    _put(account, calendar, href, ical)
