"""Malformed calendars through /dav/ (what any client may send): refused with
a 4xx or bounded, never a crash or a hang, and the agenda still renders."""

from __future__ import annotations

from base64 import b64encode

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//bad//FR\r\n"
TAIL = "END:VCALENDAR\r\n"


def _event(uid, extra="", start="DTSTART;TZID=Europe/Paris:20261210T170000"):
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261201T080000Z\r\n{start}\r\n"
            f"DURATION:PT1H\r\nSUMMARY:{uid}\r\n{extra}END:VEVENT\r\n")


@pytest.fixture
def put(client, dav_user):
    user = dav_user()
    auth = "Basic " + b64encode(f"{user.identifier}:{user.secret}".encode()).decode()

    def send(name, body):
        return client.generic("PUT", f"/dav/{user.identifier}/agenda/{name}.ics", body.encode(),
                              content_type="text/calendar; charset=utf-8", HTTP_AUTHORIZATION=auth)

    send.user = user
    return send


def test_invalid_rrule_is_refused(put):
    assert put("bad-rrule", HEAD + _event("bad-rrule", "RRULE:FREQ=SOMETIMES;COUNT=x\r\n") + TAIL).status_code == 400


def test_not_a_calendar_is_refused(put):
    assert put("garbage", "this is not iCalendar\r\n").status_code == 400
    assert put("truncated", HEAD + "BEGIN:VEVENT\r\nUID:x\r\n").status_code == 400


def test_an_unknown_time_zone_is_refused_or_read_as_local_time(put, client):
    response = put("mars", HEAD + _event("mars", start="DTSTART;TZID=Mars/Olympus_Mons:20261210T170000") + TAIL)
    assert response.status_code in (201, 400)
    client.force_login(put.user.account)
    assert client.get(reverse("calendar:agenda"), {"date": "2026-12-10"}).status_code == 200


def test_an_unbounded_recurrence_is_bounded_when_shown(put, client):
    response = put("every-minute", HEAD + _event("every-minute", "RRULE:FREQ=MINUTELY\r\n") + TAIL)
    assert response.status_code in (201, 400)
    client.force_login(put.user.account)
    page = client.get(reverse("calendar:agenda"), {"vue": "mois", "date": "2026-12-10"})
    assert page.status_code == 200
    import datetime as dt

    from academail.calendar import events

    found = events.access_occurrences(put.user.account, dt.datetime(2026, 12, 1, tzinfo=events.PARIS),
                                      dt.datetime(2027, 1, 1, tzinfo=events.PARIS))
    assert 0 < len(found) <= events.MAX_OCCURRENCES


def test_one_hundred_thousand_events_are_refused_by_size(put, settings):
    body = HEAD + "".join(_event(f"e{i}") for i in range(100_000)) + TAIL
    assert len(body) > settings.DAV_MAX_RESOURCE_BYTES
    assert put("huge", body).status_code in (400, 413)
