"""Appointment booking in Chromium at desktop (1366x900) and phone (390x844)
sizes: the teacher publishes a page and its opening hours through the forms,
a parent (no account) picks a slot, confirms from the mailed link, changes
slot and cancels; the teacher sees the booking in the agenda. No horizontal
scroll; axe-core finds no serious violation on any of these pages."""

from __future__ import annotations

import urllib.parse

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from tests.e2e.booking import PARENT, fill_parent, mailed_path, open_mailed, school_day
from tests.e2e.conftest import PASSWORD, make_person, sign_in, wait_text
from tests.e2e.pagechecks import PageChecks, set_value, submit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("dav_dir")]


def test_a_parent_books_changes_and_cancels_a_meeting(screen, live_server, axe_source):
    check = PageChecks(screen, axe_source)
    teacher = make_person("Julie", "Martin")
    sign_in(screen, live_server, teacher.identifier, PASSWORD)
    screen.get(live_server.url + reverse("calendar:agenda"))
    screen.find_element(By.LINK_TEXT, "Prise de rendez-vous").click()
    wait_text(screen, "Nouvelle page", css="main")
    check("pages du professeur")
    screen.find_element(By.NAME, "title").send_keys("Rencontres parents-professeurs 3eB")
    host = screen.find_element(By.NAME, "host")
    host.clear()
    host.send_keys("Mme Martin, professeure principale")
    screen.find_element(By.NAME, "place").send_keys("Salle 12")
    screen.find_element(By.NAME, "question").send_keys("Nom et classe de l'enfant")
    submit(screen, "main form.agenda-form button[type=submit]")
    wait_text(screen, "ajoutez maintenant vos plages horaires")
    day = school_day()
    set_value(screen, "first_day", day.isoformat())
    set_value(screen, "start_time", "17:00")
    set_value(screen, "end_time", "18:00")
    submit(screen, "section.appointment-ranges button[type=submit].fr-btn")
    wait_text(screen, "Plage horaire ajoutée.")
    check("page de rendez-vous (professeur)")
    # The link as the teacher copies it (ACADEMAIL_PUBLIC_URL), opened on the test server.
    public_path = urllib.parse.urlsplit(screen.find_element(By.ID, "public-link").get_attribute("href")).path

    # The parent: no session.
    screen.delete_all_cookies()
    screen.get(live_server.url + public_path)
    wait_text(screen, "Avec Mme Martin, professeure principale", css="main")
    check("page publique")
    labels = screen.find_elements(By.CSS_SELECTOR, ".booking-slot label")
    assert [label.text.replace("\n", " ") for label in labels] == ["17:00 – 17:15", "17:20 – 17:35", "17:40 – 17:55"]
    labels[1].click()
    fill_parent(screen, answer="Léa Durand, 3eB")
    submit(screen, "main form button[type=submit]")
    wait_text(screen, "Nous vous avons envoyé un courriel", css="main")
    check("demande envoyée")
    open_mailed(screen, live_server, "calendar:booking-confirm", "Confirmer le rendez-vous")
    check("confirmation")
    submit(screen, "main form button[type=submit]")
    wait_text(screen, "Votre rendez-vous est confirmé", css="main")
    wait_text(screen, "de 17:20 à 17:35", css="#booking-when")
    check("rendez-vous confirmé")

    # Change the slot from the mailed management link, then cancel.
    screen.get(live_server.url + mailed_path(PARENT, "calendar:booking-manage"))
    screen.find_element(By.CSS_SELECTOR, ".booking-move summary").click()
    wait_text(screen, "17:40", css=".booking-move")
    check("changer de créneau")
    screen.find_element(By.XPATH, "//div[@class='booking-slot']/label[starts-with(normalize-space(.), '17:40')]").click()
    submit(screen, ".booking-move button[type=submit]")
    wait_text(screen, "Votre rendez-vous a été déplacé", css="main")
    wait_text(screen, "de 17:40 à 17:55", css="#booking-when")

    # The teacher sees it in the agenda's day view.
    sign_in(screen, live_server, teacher.identifier, PASSWORD)
    screen.get(f"{live_server.url}{reverse('calendar:agenda')}?vue=jour&date={day.isoformat()}")
    wait_text(screen, "Rendez-vous : Paul Durand", css="main")

    screen.delete_all_cookies()
    screen.get(live_server.url + mailed_path(PARENT, "calendar:booking-manage"))  # the move's mail
    submit(screen, ".booking-cancel button[type=submit]")
    wait_text(screen, "Rendez-vous annulé", css="h1")
    check("rendez-vous annulé")
    check.assert_clean()
