"""The agenda service: events written by the webmail are Radicale's (a CalDAV
client sees them), recurrences and exceptions expand in Europe/Paris across DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from academail.calendar import events
from academail.calendar.events import AgendaError, EventDraft

PARIS = ZoneInfo("Europe/Paris")
pytestmark = pytest.mark.django_db


def _at(*args):
    return dt.datetime(*args, tzinfo=PARIS)


def test_an_event_is_created_listed_edited_and_deleted(make_account):
    person = make_account()
    href = events.check_save_event(person, EventDraft(
        summary="Conseil de classe 3eB", location="Salle 12", start=_at(2026, 12, 10, 17), end=_at(2026, 12, 10, 18, 30),
        reminder=30))
    week = events.access_occurrences(person, _at(2026, 12, 7), _at(2026, 12, 14))
    assert [(o.summary, o.start, o.location) for o in week] == [("Conseil de classe 3eB", _at(2026, 12, 10, 17), "Salle 12")]
    draft = events.access_event(person, "agenda", href)
    assert draft.reminder == 30 and draft.summary == "Conseil de classe 3eB"
    draft.start, draft.end = _at(2026, 12, 11, 9), _at(2026, 12, 11, 10)  # moved
    events.check_save_event(person, draft)
    assert [o.start for o in events.access_occurrences(person, _at(2026, 12, 7), _at(2026, 12, 14))] == [_at(2026, 12, 11, 9)]
    events.do_delete_event(person, "agenda", href)
    assert events.access_occurrences(person, _at(2026, 12, 7), _at(2026, 12, 14)) == []


def test_school_week_recurrence_with_an_exception_across_dst(make_account):
    person = make_account()
    href = events.check_save_event(person, EventDraft(
        summary="Permanence", start=_at(2027, 3, 22, 8), end=_at(2027, 3, 22, 9), recurrence="schooldays",
        until=dt.date(2027, 4, 2)))
    # DST starts on Sunday 28 March 2027: still 08:00 in Paris afterwards.
    occurrences = events.access_occurrences(person, _at(2027, 3, 22), _at(2027, 4, 5))
    assert len(occurrences) == 10
    assert {o.start.hour for o in occurrences} == {8}
    assert {o.start.weekday() for o in occurrences} == {0, 1, 2, 3, 4}
    assert occurrences[5].start.utcoffset() == dt.timedelta(hours=2)
    events.do_delete_event(person, "agenda", href, occurrence=occurrences[5].recurrence_id)
    after = events.access_occurrences(person, _at(2027, 3, 22), _at(2027, 4, 5))
    assert len(after) == 9 and _at(2027, 3, 29, 8) not in [o.start for o in after]


def test_bad_drafts_are_refused_in_french(make_account):
    person = make_account()
    with pytest.raises(AgendaError, match="titre"):
        events.check_save_event(person, EventDraft(summary=" ", start=_at(2026, 12, 1, 9), end=_at(2026, 12, 1, 10)))
    with pytest.raises(AgendaError, match="fin"):
        events.check_save_event(person, EventDraft(summary="x", start=_at(2026, 12, 1, 9), end=_at(2026, 12, 1, 8)))
    with pytest.raises(AgendaError, match="agendas"):
        events.check_save_event(person, EventDraft(calendar="../autre", summary="x", start=_at(2026, 12, 1, 9),
                                                   end=_at(2026, 12, 1, 10)))


def test_all_day_events(make_account):
    person = make_account()
    events.check_save_event(person, EventDraft(summary="Journée pédagogique", start=_at(2026, 12, 9), end=_at(2026, 12, 9),
                                               all_day=True))
    (occurrence,) = events.access_occurrences(person, _at(2026, 12, 7), _at(2026, 12, 14))
    assert occurrence.all_day and occurrence.start == _at(2026, 12, 9) and occurrence.end == _at(2026, 12, 10)


def test_busy_periods_are_merged_and_carry_no_details(make_account):
    person, colleague = make_account(), make_account("Paul", "Durand")
    for start, end in ((9, 10), (9, 11), (14, 15)):
        events.check_save_event(colleague, EventDraft(summary="Secret", start=_at(2026, 12, 10, start),
                                                      end=_at(2026, 12, 10, end)))
    events.check_save_event(colleague, EventDraft(summary="Sortie", start=_at(2026, 12, 10), end=_at(2026, 12, 10),
                                                  all_day=True))
    busy = events.access_busy([colleague, person], _at(2026, 12, 7), _at(2026, 12, 14))
    assert busy == {colleague.address: [(_at(2026, 12, 10, 9), _at(2026, 12, 10, 11)),
                                        (_at(2026, 12, 10, 14), _at(2026, 12, 10, 15))],
                    person.address: []}
