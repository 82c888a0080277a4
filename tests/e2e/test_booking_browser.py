"""Appointment booking in Chromium at desktop (1366x900) and phone (390x844)
sizes: the teacher publishes a page and its opening hours through the forms,
a parent (no account) picks a slot, confirms from the mailed link, changes
slot and cancels; the teacher sees the booking in the agenda. No horizontal
scroll; axe-core finds no serious violation on any of these pages."""

from __future__ import annotations

import datetime as dt
import email
import re
import urllib.parse
from email import policy

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from academail.calendar.events import PARIS
from academail.delivery.models import CapturedMessage
from tests.e2e.conftest import PASSWORD, make_person, sign_in, wait_text
from tests.e2e.test_accessibility import audit, axe_source, report  # noqa: F401 - axe_source is a fixture
from tests.e2e.test_agenda_browser import _no_horizontal_scroll, _set, sized  # noqa: F401 - sized is a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _school_day() -> dt.date:
    day = timezone.localdate(timezone=PARIS) + dt.timedelta(days=4)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _mailed_path(address: str, url_name: str) -> str:
    prefix = reverse(url_name, args=["X"])[:-2]
    for captured in CapturedMessage.objects.order_by("-pk"):
        if address in captured.recipients:
            text = email.message_from_bytes(bytes(captured.raw), policy=policy.default).get_body(("plain",)).get_content()
            found = re.search(r"https?://\S+" + re.escape(prefix) + r"[^/\s]+/", text)
            if found:
                return urllib.parse.urlsplit(found.group(0)).path
    raise AssertionError(f"no {url_name} link mailed to {address}")


def _submit(driver, css: str) -> None:
    button = driver.find_element(By.CSS_SELECTOR, css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()


def test_a_parent_books_changes_and_cancels_a_meeting(sized, live_server, axe_source):  # noqa: F811
    found: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        _no_horizontal_scroll(sized)
        if violations := audit(sized, axe_source):
            found[name] = violations

    teacher = make_person("Julie", "Martin")
    sign_in(sized, live_server, teacher.identifier, PASSWORD)
    sized.get(live_server.url + reverse("calendar:agenda"))
    sized.find_element(By.LINK_TEXT, "Prise de rendez-vous").click()
    wait_text(sized, "Nouvelle page", css="main")
    check("pages du professeur")
    sized.find_element(By.NAME, "title").send_keys("Rencontres parents-professeurs 3eB")
    host = sized.find_element(By.NAME, "host")
    host.clear()
    host.send_keys("Mme Martin, professeure principale")
    sized.find_element(By.NAME, "place").send_keys("Salle 12")
    sized.find_element(By.NAME, "question").send_keys("Nom et classe de l'enfant")
    _submit(sized, "main form.agenda-form button[type=submit]")
    wait_text(sized, "ajoutez maintenant vos plages horaires")
    day = _school_day()
    _set(sized, "first_day", day.isoformat())
    _set(sized, "start_time", "17:00")
    _set(sized, "end_time", "18:00")
    _submit(sized, "section.appointment-ranges button[type=submit].fr-btn")
    wait_text(sized, "Plage horaire ajoutée.")
    check("page de rendez-vous (professeur)")
    # The link as the teacher copies it (ACADEMAIL_PUBLIC_URL), opened on the test server.
    public_path = urllib.parse.urlsplit(sized.find_element(By.ID, "public-link").get_attribute("href")).path

    # The parent: no session.
    sized.delete_all_cookies()
    sized.get(live_server.url + public_path)
    wait_text(sized, "Avec Mme Martin, professeure principale", css="main")
    check("page publique")
    labels = sized.find_elements(By.CSS_SELECTOR, ".booking-slot label")
    assert [label.text.replace("\n", " ") for label in labels] == ["17:00 – 17:15", "17:20 – 17:35", "17:40 – 17:55"]
    labels[1].click()
    sized.find_element(By.NAME, "name").send_keys("Paul Durand")
    sized.find_element(By.NAME, "email").send_keys("paul.durand@familles.example")
    sized.find_element(By.NAME, "answer").send_keys("Léa Durand, 3eB")
    _submit(sized, "main form button[type=submit]")
    wait_text(sized, "Nous vous avons envoyé un courriel", css="main")
    check("demande envoyée")
    sized.get(live_server.url + _mailed_path("paul.durand@familles.example", "calendar:booking-confirm"))
    wait_text(sized, "Confirmer le rendez-vous", css="h1")
    check("confirmation")
    _submit(sized, "main form button[type=submit]")
    wait_text(sized, "Votre rendez-vous est confirmé", css="main")
    wait_text(sized, "de 17:20 à 17:35", css="#booking-when")
    check("rendez-vous confirmé")

    # Change the slot from the mailed management link, then cancel.
    sized.get(live_server.url + _mailed_path("paul.durand@familles.example", "calendar:booking-manage"))
    sized.find_element(By.CSS_SELECTOR, ".booking-move summary").click()
    wait_text(sized, "17:40", css=".booking-move")
    check("changer de créneau")
    sized.find_element(By.XPATH, "//div[@class='booking-slot']/label[starts-with(normalize-space(.), '17:40')]").click()
    _submit(sized, ".booking-move button[type=submit]")
    wait_text(sized, "Votre rendez-vous a été déplacé", css="main")
    wait_text(sized, "de 17:40 à 17:55", css="#booking-when")

    # The teacher sees it in the agenda's day view.
    sign_in(sized, live_server, teacher.identifier, PASSWORD)
    sized.get(f"{live_server.url}{reverse('calendar:agenda')}?vue=jour&date={day.isoformat()}")
    wait_text(sized, "Rendez-vous : Paul Durand", css="main")

    sized.delete_all_cookies()
    sized.get(live_server.url + _mailed_path("paul.durand@familles.example", "calendar:booking-manage"))
    _submit(sized, ".booking-cancel button[type=submit]")
    wait_text(sized, "Rendez-vous annulé", css="h1")
    check("rendez-vous annulé")
    assert not found, "\n" + report(found)
