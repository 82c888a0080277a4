"""The event index (calendar.index) follows Radicale's files whoever writes
them, and CalDAV time-range REPORTs answered from it match Radicale's own
answer resource for resource."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from base64 import b64encode

import pytest
import requests

from academail.calendar import dav, events
from academail.calendar.events import PARIS, EventDraft
from academail.calendar.models import IndexedOccurrence

pytestmark = pytest.mark.django_db

WEEK = (dt.datetime(2026, 12, 7, tzinfo=PARIS), dt.datetime(2026, 12, 14, tzinfo=PARIS))


def _put_file(account, name: str, body: str) -> None:
    """What a phone's PUT leaves, written straight into the folder (or a restore)."""
    folder = dav.do_provision(account.identifier) / dav.DEFAULT_CALENDAR
    (folder / name).write_text(body.replace("\n", "\r\n"))


def _ics(uid: str, lines: str) -> str:
    return ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//tests//FR\n" + events.PARIS_VTIMEZONE.replace("\r\n", "\n")
            + f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20261201T080000Z\n{lines}END:VEVENT\nEND:VCALENDAR\n")


def test_the_index_follows_every_write(make_account):
    person = make_account()
    href = events.check_save_event(person, EventDraft(summary="Conseil de classe", start=dt.datetime(2026, 12, 8, 17, tzinfo=PARIS),
                                                      end=dt.datetime(2026, 12, 8, 18, tzinfo=PARIS)))
    assert [o.summary for o in events.access_occurrences(person, *WEEK)] == ["Conseil de classe"]
    assert IndexedOccurrence.objects.count() == 1
    # Moved to next week through the form's service: gone from this week.
    events.check_save_event(person, EventDraft(summary="Conseil de classe", href=href,
                                               start=dt.datetime(2026, 12, 15, 17, tzinfo=PARIS),
                                               end=dt.datetime(2026, 12, 15, 18, tzinfo=PARIS)))
    assert events.access_occurrences(person, *WEEK) == []
    # A file appears (a phone, a restore): seen at the next read.
    _put_file(person, "phone.ics", _ics("phone@tests", "DTSTART;TZID=Europe/Paris:20261209T100000\n"
                                        "DTEND;TZID=Europe/Paris:20261209T110000\nSUMMARY:Depuis le téléphone\n"))
    assert [o.summary for o in events.access_occurrences(person, *WEEK)] == ["Depuis le téléphone"]
    events.do_delete_event(person, dav.DEFAULT_CALENDAR, "phone.ics")
    assert events.access_occurrences(person, *WEEK) == []
    assert IndexedOccurrence.objects.count() == 1  # only the moved event is left


def test_recurrences_finite_endless_and_exceptions(make_account):
    person = make_account()
    _put_file(person, "weekly.ics", _ics("weekly@tests", "DTSTART;TZID=Europe/Paris:20261207T080000\n"
                                         "DTEND;TZID=Europe/Paris:20261207T090000\nSUMMARY:Cours 4eA\n"
                                         "RRULE:FREQ=WEEKLY;COUNT=10\nEXDATE;TZID=Europe/Paris:20261214T080000\n"))
    _put_file(person, "daily.ics", _ics("daily@tests", "DTSTART;TZID=Europe/Paris:20260901T120000\n"
                                        "DTEND;TZID=Europe/Paris:20260901T123000\nSUMMARY:Cantine\nRRULE:FREQ=DAILY\n"))
    week = events.access_occurrences(person, *WEEK)
    assert sorted({o.summary for o in week}) == ["Cantine", "Cours 4eA"]
    assert sum(o.summary == "Cantine" for o in week) == 7
    assert IndexedOccurrence.objects.filter(open=True).count() == 1  # the endless one, expanded when read
    following = (WEEK[0] + dt.timedelta(days=7), WEEK[1] + dt.timedelta(days=7))
    assert [o.summary for o in events.access_occurrences(person, *following) if o.summary == "Cours 4eA"] == []
    # Across the March DST change the class stays at 08:00 Paris time.
    spring = dt.datetime(2027, 3, 29, tzinfo=PARIS)
    (course,) = [o for o in events.access_occurrences(person, spring - dt.timedelta(days=7 * 7), spring + dt.timedelta(days=7))
                 if o.summary == "Cours 4eA" and o.start.month == 2]
    assert course.start.hour == 8
    far = dt.datetime(2030, 6, 3, tzinfo=PARIS)
    assert [o.start.hour for o in events.access_occurrences(person, far, far + dt.timedelta(days=1))] == [12]


REPORT = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop>{props}</D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""


PLAIN = "<D:getetag/><C:calendar-data/>"


def _responses(body: bytes) -> dict[str, list[tuple[str, str, str]]]:
    """Each response of a multistatus by href: (status, property, text) of
    every property, order of responses aside (RFC 4918 §13 does not fix one)."""
    found = {}
    for response in ET.fromstring(body):
        href = response.findtext("{DAV:}href")
        found[href] = [(propstat.findtext("{DAV:}status"), prop.tag, prop.text or "")
                       for propstat in response.findall("{DAV:}propstat") for prop in propstat.find("{DAV:}prop")]
    return found


def _both(user, live_server, start: str, end: str, props: str = PLAIN) -> tuple[bytes, bytes]:
    """The REPORT answered by Radicale itself, and through /dav/ (the index)."""
    body = REPORT.format(start=start, end=end, props=props).encode()
    path = f"/{user.identifier}/agenda/"
    status, _, own = dav.call(user.identifier, "REPORT", path, body, {"Depth": "1", "Content-Type": "application/xml"})
    assert status == 207
    auth = "Basic " + b64encode(f"{user.identifier}:{user.secret}".encode()).decode()
    response = requests.request("REPORT", live_server.url + "/dav" + path, data=body, timeout=30,
                                headers={"Authorization": auth, "Depth": "1", "Content-Type": "application/xml"})
    assert response.status_code == 207
    assert response.headers["Content-Type"].startswith("text/xml")
    return response.content, own


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("start", "end"), [("20261207T000000Z", "20261214T000000Z"),
                                            ("20261208T160000Z", "20261208T170000Z"),
                                            ("20270601T000000Z", "20270701T000000Z"),
                                            ("20200101T000000Z", "20200201T000000Z")])
def test_time_range_report_matches_radicales_own_answer(dav_user, live_server, start, end):
    user = dav_user()
    person = user.account
    _put_file(person, "weekly.ics", _ics("weekly@tests", "DTSTART;TZID=Europe/Paris:20261207T080000\n"
                                         "DTEND;TZID=Europe/Paris:20261207T090000\nSUMMARY:Cours\nRRULE:FREQ=WEEKLY;COUNT=4\n"))
    _put_file(person, "daily.ics", _ics("daily@tests", "DTSTART;TZID=Europe/Paris:20260901T120000\n"
                                        "DTEND;TZID=Europe/Paris:20260901T123000\nSUMMARY:Cantine\nRRULE:FREQ=DAILY\n"))
    _put_file(person, "touching.ics", _ics("touching@tests", "DTSTART:20261208T150000Z\nDTEND:20261208T160000Z\n"
                                           "SUMMARY:Finit au début\n"))
    _put_file(person, "instant.ics", _ics("instant@tests", "DTSTART:20261208T160000Z\nSUMMARY:Instant\n"))
    _put_file(person, "allday.ics", _ics("allday@tests", "DTSTART;VALUE=DATE:20261211\nDTEND;VALUE=DATE:20261212\n"
                                         "SUMMARY:Sortie scolaire\n"))
    _put_file(person, "june.ics", _ics("june@tests", "DTSTART;TZID=Europe/Paris:20270615T090000\n"
                                       "DTEND;TZID=Europe/Paris:20270615T100000\nSUMMARY:Brevet\n"))
    ours, own = _both(user, live_server, start, end)
    # Same resources, same ETags, same calendar-data, byte for byte.
    assert _responses(ours) == _responses(own)
    assert ours.count(b"BEGIN:VCALENDAR") == own.count(b"BEGIN:VCALENDAR")


@pytest.mark.django_db(transaction=True)
def test_report_answers_follow_writes_and_other_properties(dav_user, live_server):
    """ETags and calendar-data kept in the index change with the file (a PUT
    through Radicale, an edit from the webmail); properties the index does not
    keep, and ``expand``, are answered by Radicale from the matching files."""
    user = dav_user()
    person = user.account
    _put_file(person, "weekly.ics", _ics("weekly@tests", "DTSTART;TZID=Europe/Paris:20261207T080000\n"
                                         "DTEND;TZID=Europe/Paris:20261207T090000\nSUMMARY:Cours\nRRULE:FREQ=WEEKLY;COUNT=4\n"))
    href = events.check_save_event(person, EventDraft(summary="Conseil de classe", start=dt.datetime(2026, 12, 8, 17, tzinfo=PARIS),
                                                      end=dt.datetime(2026, 12, 8, 19, tzinfo=PARIS)))
    week = ("20261207T000000Z", "20261214T000000Z")
    before, own = _both(user, live_server, *week)
    assert _responses(before) == _responses(own) and len(_responses(own)) == 2
    draft = events.access_event(person, dav.DEFAULT_CALENDAR, href)
    draft.location = "Salle 12"
    events.check_save_event(person, draft)
    after, own = _both(user, live_server, *week)
    assert _responses(after) == _responses(own)
    assert _responses(after) != _responses(before)
    assert b"LOCATION:Salle 12" in after
    for props in ("<D:getetag/>", "<C:calendar-data/><D:getetag/>", "<D:getetag/><D:getcontenttype/>",
                  '<C:calendar-data><C:expand start="20261207T000000Z" end="20261214T000000Z"/></C:calendar-data>'):
        ours, own = _both(user, live_server, *week, props=props)
        assert _responses(ours) == _responses(own), props
        assert len(_responses(ours)) == 2
