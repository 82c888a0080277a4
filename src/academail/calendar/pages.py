"""What an agenda page shows: the period of a view (month, week, day, list)
around a date, its days and their occurrences, and the neighbouring periods.
Pure arithmetic over ``events.access_occurrences``; the templates only loop.

Each occurrence comes to the template as an ``Entry`` whose link and times
are already text: a week of a busy agenda shows a few hundred, and resolving
``{% url %}`` and date filters for each was most of the page's CPU time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from django.urls import reverse

from academail.accounts.models import Account
from academail.calendar import events
from academail.calendar.events import PARIS, CalendarInfo, Occurrence

VIEWS = ("mois", "semaine", "jour", "liste")
LIST_DAYS = 30


_EVENT_LINK_HOLE = "__href__"


@dataclass(frozen=True)
class Entry:
    """One occurrence as shown: every value the template prints, ready."""

    link: str
    color: str
    title: str
    location: str
    all_day: bool
    recurring: bool
    start_iso: str
    start_hm: str
    end_iso: str
    end_hm: str


@dataclass(frozen=True)
class Day:
    date: dt.date
    occurrences: list[Entry]
    in_period: bool
    today: bool


@dataclass(frozen=True)
class AgendaPage:
    view: str
    anchor: dt.date
    start: dt.date
    end: dt.date  # exclusive
    days: list[Day]
    weeks: list[list[Day]]
    previous: dt.date
    following: dt.date
    calendars: list[CalendarInfo]

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def busy_days(self) -> list[Day]:
        return [day for day in self.days if day.occurrences]


def parse_date(text: str | None, today: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(text) if text else today
    except ValueError:
        return today


def _period(view: str, anchor: dt.date) -> tuple[dt.date, dt.date, dt.date, dt.date, dt.date]:
    """(shown start, shown end, period start, previous anchor, next anchor)."""
    if view == "mois":
        first = anchor.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        previous = (first - dt.timedelta(days=1)).replace(day=1)
        start = first - dt.timedelta(days=first.weekday())
        last = following - dt.timedelta(days=1)
        end = last + dt.timedelta(days=7 - last.weekday())
        return start, end, first, previous, following
    if view == "jour":
        return anchor, anchor + dt.timedelta(days=1), anchor, anchor - dt.timedelta(days=1), anchor + dt.timedelta(days=1)
    if view == "liste":
        return (anchor, anchor + dt.timedelta(days=LIST_DAYS), anchor, anchor - dt.timedelta(days=LIST_DAYS),
                anchor + dt.timedelta(days=LIST_DAYS))
    monday = anchor - dt.timedelta(days=anchor.weekday())
    return monday, monday + dt.timedelta(days=7), monday, monday - dt.timedelta(days=7), monday + dt.timedelta(days=7)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), PARIS)


def access_agenda_page(account: Account, view: str, anchor: dt.date, today: dt.date) -> AgendaPage:
    """The page of ``view`` around ``anchor`` for the account (its own calendars)."""
    view = view if view in VIEWS else "semaine"
    start, end, period_start, previous, following = _period(view, anchor)
    calendars = events.access_calendars(account)
    occurrences = events.access_occurrences(account, _midnight(start), _midnight(end), calendars)
    # One reverse() per calendar, then the quoted href in its place (as reverse() quotes it).
    links = {c.name: reverse("calendar:event", args=[c.name, _EVENT_LINK_HOLE]) for c in calendars}
    by_day: dict[dt.date, list[Entry]] = {}
    for occurrence in occurrences:
        entry = _entry(occurrence, links[occurrence.calendar.name])
        first = max(occurrence.start.date(), start)
        # An event ending at midnight does not show on the next day.
        last_instant = occurrence.end - dt.timedelta(microseconds=1) if occurrence.end > occurrence.start else occurrence.end
        last = min(last_instant.date(), end - dt.timedelta(days=1))
        day = first
        while day <= last:
            by_day.setdefault(day, []).append(entry)
            day += dt.timedelta(days=1)
    days = []
    day = start
    while day < end:
        in_period = view != "mois" or day.month == period_start.month
        days.append(Day(day, by_day.get(day, []), in_period, day == today))
        day += dt.timedelta(days=1)
    weeks = [days[i:i + 7] for i in range(0, len(days), 7)] if view == "mois" else []
    return AgendaPage(view, anchor, start, end, days, weeks, previous, following, calendars)


def _entry(occurrence: Occurrence, link: str) -> Entry:
    href = link.replace(_EVENT_LINK_HOLE, quote(occurrence.href, safe="!$&'()*+,;=~:@"))
    if occurrence.recurring:
        href += "?occurrence=" + quote(occurrence.recurrence_id, safe="")
    start, end = occurrence.start, occurrence.end  # Europe/Paris, as the page says
    return Entry(href, occurrence.calendar.color, occurrence.summary, occurrence.location, occurrence.all_day,
                 occurrence.recurring, start.isoformat(), f"{start:%H:%M}", end.isoformat(), f"{end:%H:%M}")
