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
    assert "La fin de l&#x27;événement doit suivre son début." in response.content.decode()
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
