"""The agenda pages without JavaScript: create, see in every view, move, and
delete events; a phone's CalDAV event shows; nobody reaches another's events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from academail.calendar import events

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(make_account, client):
    account = make_account()
    client.force_login(account)
    return account


def _create(client, **fields):
    data = {"summary": "Conseil de classe 3eB", "calendar": "agenda", "start_date": "2026-12-10", "start_time": "17:00",
            "end_date": "2026-12-10", "end_time": "18:30", "location": "Salle 12", "recurrence": "", "reminder": "30"}
    data.update(fields)
    return client.post(reverse("calendar:event-new"), data)


def test_create_then_see_in_each_view(client, person):
    response = _create(client)
    assert response.status_code == 302 and response["Location"].endswith("?date=2026-12-10")
    for view in ("semaine", "mois", "jour", "liste"):
        day = "2026-12-10" if view != "liste" else "2026-12-01"
        page = client.get(reverse("calendar:agenda"), {"vue": view, "date": day})
        assert page.status_code == 200
        html = page.content.decode()
        assert "Conseil de classe 3eB" in html, view
        assert "17:00" in html
    assert "Content-Security-Policy" in page.headers


def test_the_form_refuses_bad_input_in_french(client, person):
    response = _create(client, end_time="16:00")
    assert response.status_code == 200
    assert "La fin de l&#x27;événement doit suivre son début : corrigez la date ou l&#x27;heure de fin." \
        in response.content.decode()
    missing = _create(client, start_time="")
    assert "cochez « Toute la journée »" in missing.content.decode()


def test_move_and_delete(client, person):
    _create(client)
    (occurrence,) = events.access_occurrences(person, dt.datetime(2026, 12, 7, tzinfo=events.PARIS),
                                              dt.datetime(2026, 12, 14, tzinfo=events.PARIS))
    url = reverse("calendar:event", args=["agenda", occurrence.href])
    form = client.get(url)
    assert form.status_code == 200 and 'value="Conseil de classe 3eB"' in form.content.decode()
    moved = _create(client, start_date="2026-12-11", end_date="2026-12-11")
    assert moved.status_code == 302  # (a second event; now move the first one)
    client.post(url, {"summary": "Conseil de classe 3eB", "calendar": "agenda", "start_date": "2026-12-12",
                      "start_time": "09:00", "end_date": "2026-12-12", "end_time": "10:00", "reminder": "0"})
    starts = [o.start.date() for o in events.access_occurrences(
        person, dt.datetime(2026, 12, 7, tzinfo=events.PARIS), dt.datetime(2026, 12, 14, tzinfo=events.PARIS))]
    assert starts == [dt.date(2026, 12, 11), dt.date(2026, 12, 12)]
    client.post(reverse("calendar:event-delete", args=["agenda", occurrence.href]))
    assert len(events.access_occurrences(person, dt.datetime(2026, 12, 7, tzinfo=events.PARIS),
                                         dt.datetime(2026, 12, 14, tzinfo=events.PARIS))) == 1


def test_another_accounts_event_is_not_reachable(client, person, make_account):
    other = make_account("Paul", "Durand")
    href = events.check_save_event(other, events.EventDraft(
        summary="Privé", start=dt.datetime(2026, 12, 10, 9, tzinfo=events.PARIS),
        end=dt.datetime(2026, 12, 10, 10, tzinfo=events.PARIS)))
    assert client.get(reverse("calendar:event", args=["agenda", href])).status_code == 404
    client.post(reverse("calendar:event-delete", args=["agenda", href]))
    assert len(events.access_occurrences(other, dt.datetime(2026, 12, 7, tzinfo=events.PARIS),
                                         dt.datetime(2026, 12, 14, tzinfo=events.PARIS))) == 1
    page = client.get(reverse("calendar:agenda"), {"date": "2026-12-10"})
    assert "Privé" not in page.content.decode()


def test_agenda_requires_sign_in(client, db):
    assert client.get(reverse("calendar:agenda")).status_code == 302


THUNDERBIRD_EXPORT = """BEGIN:VCALENDAR\r
PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r
VERSION:2.0\r
BEGIN:VTIMEZONE\r
TZID:Europe/Paris\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
TZNAME:CEST\r
DTSTART:19700329T020000\r
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r
END:DAYLIGHT\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
TZNAME:CET\r
DTSTART:19701025T030000\r
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r
END:STANDARD\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
CREATED:20261120T101010Z\r
DTSTAMP:20261120T101010Z\r
UID:5a1b2c3d-thunderbird\r
SUMMARY:Formation PIX\r
DTSTART;TZID=Europe/Paris:20261216T140000\r
DTEND;TZID=Europe/Paris:20261216T170000\r
LOCATION:Canopé\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTAMP:20261120T101010Z\r
UID:cours-hebdo-thunderbird\r
SUMMARY:Cours 5eC\r
RRULE:FREQ=WEEKLY;BYDAY=MO\r
EXDATE;TZID=Europe/Paris:20261221T100000\r
DTSTART;TZID=Europe/Paris:20261214T100000\r
DTEND;TZID=Europe/Paris:20261214T110000\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_importing_an_ics_file(client, person):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("export.ics", THUNDERBIRD_EXPORT.encode(), content_type="text/calendar")
    response = client.post(reverse("calendar:import"), {"fichier": upload, "calendar": "agenda"}, follow=True)
    assert "2 événements ajoutés à votre agenda." in response.content.decode()
    found = events.access_occurrences(person, dt.datetime(2026, 12, 14, tzinfo=events.PARIS),
                                      dt.datetime(2026, 12, 29, tzinfo=events.PARIS))
    assert [(o.summary, o.start.day) for o in found] == [("Cours 5eC", 14), ("Formation PIX", 16), ("Cours 5eC", 28)]


def test_an_invitation_or_garbage_is_not_imported(client, person):
    from django.core.files.uploadedfile import SimpleUploadedFile

    invitation = THUNDERBIRD_EXPORT.replace("VERSION:2.0\r\n", "VERSION:2.0\r\nMETHOD:REQUEST\r\n")
    for body, text in ((invitation, "invitation"), ("n'importe quoi", "pas un agenda")):
        upload = SimpleUploadedFile("x.ics", body.encode(), content_type="text/calendar")
        response = client.post(reverse("calendar:import"), {"fichier": upload}, follow=True)
        assert text in response.content.decode()
    many = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + "".join(
        f"BEGIN:VEVENT\r\nUID:e{i}\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261201T100000Z\r\nEND:VEVENT\r\n"
        for i in range(1200)) + "END:VCALENDAR\r\n"
    upload = SimpleUploadedFile("x.ics", many.encode(), content_type="text/calendar")
    response = client.post(reverse("calendar:import"), {"fichier": upload}, follow=True)
    assert "plus de 1000 événements" in response.content.decode()


def test_colleagues_availability_shows_busy_slots_only(client, person, make_account):
    colleague = make_account("Paul", "Durand")
    events.check_save_event(colleague, events.EventDraft(
        summary="Entretien confidentiel", location="Bureau 3", start=dt.datetime(2026, 12, 10, 9, tzinfo=events.PARIS),
        end=dt.datetime(2026, 12, 10, 10, tzinfo=events.PARIS)))
    page = client.get(reverse("calendar:availability"),
                      {"avec": f"{colleague.address}, inconnu@exemple.fr", "date": "2026-12-09"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Occupé" in html and "09:00" in html and "10:00" in html
    assert "Entretien confidentiel" not in html and "Bureau 3" not in html
    assert "inconnu@exemple.fr" in html  # listed as not a colleague
