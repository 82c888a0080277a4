"""The helpdesk's service level: a ticket is due ``ASSISTANCE_SLA_HOURS``
working hours (48 by default) after it entered the queue.

Working time: every hour of a working day in the académie's time zone, a
working day being Monday to Friday except French public holidays (the
``holidays`` package, maintained, with Easter-based holidays computed per
year). The staff guide promises an answer "usually within 48 hours"; counting
whole working days (not office hours) keeps that promise readable: 48 working
hours is two working days, a ticket filed on Friday evening is due on Tuesday
evening, one filed on the eve of Ascension skips the holiday.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.France(years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def add_working_hours(start: datetime, hours: float) -> datetime:
    """The moment ``hours`` working hours after ``start`` (an aware datetime).
    Time on non-working days does not count; a start on one counts from the
    next working day's midnight."""
    zone = _zone()
    local = start.astimezone(zone)
    left = timedelta(hours=hours)
    day = local.date()
    cursor = local
    for _ in range(3660):  # ten years of days: a bound, never reached
        if is_working_day(day):
            end_of_day = datetime.combine(day + timedelta(days=1), time(0), zone)
            available = end_of_day - cursor
            if left <= available:
                return (cursor + left).astimezone(start.tzinfo)
            left -= available
        day += timedelta(days=1)
        cursor = datetime.combine(day, time(0), zone)
    raise ValueError("SLA too long")


def working_seconds_between(start: datetime, end: datetime) -> int:
    """Working seconds from ``start`` to ``end`` (0 if end is before start)."""
    if end <= start:
        return 0
    zone = _zone()
    cursor = start.astimezone(zone)
    stop = end.astimezone(zone)
    total = timedelta(0)
    while cursor < stop:
        next_midnight = datetime.combine(cursor.date() + timedelta(days=1), time(0), zone)
        chunk_end = min(next_midnight, stop)
        if is_working_day(cursor.date()):
            total += chunk_end - cursor
        cursor = chunk_end
    return int(total.total_seconds())


def due_at(queued_at: datetime) -> datetime:
    return add_working_hours(queued_at, float(settings.ASSISTANCE_SLA_HOURS))


def sla_seconds() -> int:
    return int(float(settings.ASSISTANCE_SLA_HOURS) * 3600)
