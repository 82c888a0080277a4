"""48 working hours: weekends and French public holidays do not count."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from academail.assistance import sla

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(("start", "due"), [
    (datetime(2026, 12, 1, 10, 0), datetime(2026, 12, 3, 10, 0)),   # Tuesday -> Thursday
    (datetime(2026, 12, 4, 20, 0), datetime(2026, 12, 8, 20, 0)),   # Friday evening -> Tuesday
    (datetime(2026, 12, 5, 11, 0), datetime(2026, 12, 9, 0, 0)),    # Saturday: from Monday 00:00
    (datetime(2026, 5, 13, 18, 0), datetime(2026, 5, 18, 18, 0)),   # eve of Ascension (Thursday 14 May)
    (datetime(2026, 12, 24, 9, 0), datetime(2026, 12, 29, 9, 0)),   # Christmas Day (Friday) skipped
])
def test_due_time(settings, start, due):
    settings.ASSISTANCE_SLA_HOURS = 48
    assert sla.due_at(start.replace(tzinfo=PARIS)) == due.replace(tzinfo=PARIS)


def test_configurable(settings):
    settings.ASSISTANCE_SLA_HOURS = 8
    start = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
    assert sla.due_at(start) == datetime(2026, 12, 1, 18, 0, tzinfo=PARIS)


def test_working_seconds_skip_the_weekend():
    friday = datetime(2026, 12, 4, 20, 0, tzinfo=PARIS)
    assert sla.working_seconds_between(friday, datetime(2026, 12, 8, 20, 0, tzinfo=PARIS)) == 48 * 3600
    assert sla.working_seconds_between(friday, friday) == 0
