"""The booking waiting list in Chromium at phone size (390x844): on a full
page a parent joins the waiting list, confirms from the mailed link, is
offered the seat another parent frees, and takes it. No horizontal scroll;
axe-core finds no serious violation on any of these pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from academail.calendar import appointments
from academail.calendar.models import Booking
from tests.e2e.conftest import make_person, wait_text
from tests.e2e.test_accessibility import audit, axe_source, report  # noqa: F401 - axe_source is a fixture
from tests.e2e.test_agenda_browser import _no_horizontal_scroll
from tests.e2e.test_booking_browser import _mailed_path, _school_day, _submit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(page, settings, tmp_path):
    settings.DAV_DIR = tmp_path / "dav"
    page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                         {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    yield page
    page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_a_parent_joins_the_waiting_list_and_takes_a_freed_seat(phone, live_server, axe_source):  # noqa: F811
    found: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        _no_horizontal_scroll(phone)
        if violations := audit(phone, axe_source):
            found[name] = violations

    teacher = make_person("Julie", "Martin")
    page = appointments.check_save_page(teacher, appointments.PageDraft(
        title="Rencontres parents-professeurs 3eB", host="Mme Martin", place="Salle 12", deadline_hours=12))
    day = _school_day()
    appointments.check_add_range(teacher, page.pk, day, day, dt.time(17), dt.time(17, 15), today=day - dt.timedelta(days=4))
    slot = appointments.access_free_slots(page, timezone.now())[0]
    raw = appointments.check_request_booking(page, slot.key, email="a@familles.example", name="Anne",
                                             answer="", remote_addr="198.51.100.1")
    _, manage = appointments.check_confirm_booking(raw)

    phone.get(live_server.url + reverse("calendar:booking-page", args=[page.slug]))
    wait_text(phone, "Tous les créneaux sont pris.", css="main")
    check("page complète")
    phone.find_element(By.NAME, "name").send_keys("Paul Durand")
    phone.find_element(By.NAME, "email").send_keys("paul.durand@familles.example")
    _submit(phone, "form.booking-waitlist button[type=submit]")
    wait_text(phone, "Confirmez votre inscription", css="h1")
    check("inscription envoyée")
    phone.get(live_server.url + _mailed_path("paul.durand@familles.example", "calendar:waitlist-confirm"))
    wait_text(phone, "Confirmer l'inscription sur la liste d'attente", css="h1")
    check("confirmer l'inscription")
    _submit(phone, "main form button[type=submit]")
    wait_text(phone, "Vous êtes sur la liste d'attente", css="h1")
    check("inscrit")

    appointments.check_cancel_by_parent(manage)  # Anne frees her seat: it is held for Paul
    phone.get(live_server.url + _mailed_path("paul.durand@familles.example", "calendar:booking-offer"))
    wait_text(phone, "Une place s'est libérée", css="h1")
    wait_text(phone, "de 17:00 à 17:15", css="#booking-when")
    check("place proposée")
    _submit(phone, "form.booking-offer button[value=prendre]")
    wait_text(phone, "Votre rendez-vous est confirmé", css="main")
    check("place prise")
    assert Booking.objects.get(state="confirmed").email == "paul.durand@familles.example"
    assert not found, "\n" + report(found)
