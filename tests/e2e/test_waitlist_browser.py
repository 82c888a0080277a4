"""The booking waiting list in Chromium at phone size (390x844): on a full
page a parent joins the waiting list, confirms from the mailed link, is
offered the seat another parent frees, and takes it. No horizontal scroll;
axe-core finds no serious violation on any of these pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from academail.calendar import appointments
from academail.calendar.models import Booking
from tests.e2e.booking import PARENT, fill_parent, open_mailed, school_day
from tests.e2e.conftest import make_person, wait_text
from tests.e2e.pagechecks import PageChecks, submit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("dav_dir")]


def test_a_parent_joins_the_waiting_list_and_takes_a_freed_seat(phone, live_server, axe_source):
    checks = PageChecks(phone, axe_source)
    teacher = make_person("Julie", "Martin")
    page = appointments.check_save_page(teacher, appointments.PageDraft(
        title="Rencontres parents-professeurs 3eB", host="Mme Martin", place="Salle 12", deadline_hours=12))
    day = school_day()
    appointments.check_add_range(teacher, page.pk, day, day, dt.time(17), dt.time(17, 15), today=day - dt.timedelta(days=4))
    slot = appointments.access_free_slots(page, timezone.now())[0]
    raw = appointments.check_request_booking(page, slot.key, email="a@familles.example", name="Anne",
                                             answer="", remote_addr="198.51.100.1")
    _, manage = appointments.check_confirm_booking(raw)

    phone.get(live_server.url + reverse("calendar:booking-page", args=[page.slug]))
    wait_text(phone, "Tous les créneaux sont pris.", css="main")
    checks("page complète")
    fill_parent(phone)
    submit(phone, "form.booking-waitlist button[type=submit]")
    wait_text(phone, "Confirmez votre inscription", css="h1")
    checks("inscription envoyée")
    open_mailed(phone, live_server, "calendar:waitlist-confirm", "Confirmer l'inscription sur la liste d'attente")
    checks("confirmer l'inscription")
    submit(phone, "main form button[type=submit]")
    wait_text(phone, "Vous êtes sur la liste d'attente", css="h1")
    checks("inscrit")

    appointments.check_cancel_by_parent(manage)  # Anne frees her seat: it is held for Paul
    open_mailed(phone, live_server, "calendar:booking-offer", "Une place s'est libérée")
    wait_text(phone, "de 17:00 à 17:15", css="#booking-when")
    checks("place proposée")
    submit(phone, "form.booking-offer button[value=prendre]")
    wait_text(phone, "Votre rendez-vous est confirmé", css="main")
    checks("place prise")
    assert Booking.objects.get(state="confirmed").email == PARENT
    checks.assert_clean()
