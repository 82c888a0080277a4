"""The demo's agendas: ``make run`` shows events this week in « Agenda »."""

from __future__ import annotations

import datetime as dt

import pytest

from academail.calendar import events
from academail.demo.agenda import seed_agendas

pytestmark = pytest.mark.django_db


def test_demo_agendas_show_this_week(make_account, settings):
    people = [make_account(), make_account("Hélène", "Bérard", role="secretariat")]
    today = dt.date(2026, 12, 9)
    assert seed_agendas(people, today) == 10
    monday = dt.datetime(2026, 12, 7, tzinfo=events.PARIS)
    week = events.access_occurrences(people[0], monday, monday + dt.timedelta(days=7))
    titles = {o.summary for o in week}
    assert {"Cours — 4eA (mathématiques)", "Conseil de classe 3eB", "Réunion d'équipe pédagogique"} <= titles
    assert sum(o.summary.startswith("Cours") for o in week) == 5  # school days only
    assert (settings.DAV_DIR / "directory" / f"{people[1].identifier}.vcf").exists()


def test_demo_booking_page_has_two_parents_booked(make_account):
    from django.utils import timezone

    from academail.calendar import appointments
    from academail.calendar.models import AppointmentPage, Booking
    from academail.demo.agenda import seed_appointments

    teacher = make_account("Jean", "Dupont")
    today = dt.date.today()
    url = seed_appointments(teacher, today)
    page = AppointmentPage.objects.get(owner=teacher)
    assert url == appointments.public_url(page)
    booked = Booking.objects.filter(page=page, state="confirmed")
    assert sorted(b.answer for b in booked) == ["Hugo Lambert, 3eB", "Inès Benali, 3eB"]
    assert all(b.event_href for b in booked)  # in the teacher's agenda
    assert len(appointments.access_free_slots(page, timezone.now())) == 16 - 2
