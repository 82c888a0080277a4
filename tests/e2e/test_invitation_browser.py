"""The invitation card of the reading pane in Chromium, at desktop and phone
sizes: an outside organiser's invitation shows what, when, where, who and the
clash with the person's agenda; "Accepter" puts it in the agenda; the
organiser's CANCEL, applied as it arrives, leaves the card saying so. axe-core
finds no serious violation on either card; no horizontal scroll."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from academail.calendar import events
from academail.calendar.events import PARIS, EventDraft
from tests.calendar.test_imip import _outside_invitation
from tests.e2e.conftest import PASSWORD, deliver, make_person, sign_in, wait_text
from tests.e2e.pagechecks import PageChecks, submit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("dav_dir")]

ORGANIZER = "examens@rectorat.example"


def test_answer_an_invitation_from_its_card_then_see_its_cancellation(screen, live_server, axe_source):
    person = make_person("Paul", "Petit")
    # The outside invitation is for 9 December 2026, 14:00–16:00; a class then makes a clash.
    events.check_save_event(person, EventDraft(summary="Cours 3eB", start=dt.datetime(2026, 12, 9, 15, tzinfo=PARIS),
                                               end=dt.datetime(2026, 12, 9, 16, tzinfo=PARIS)))
    (outcome,) = deliver(_outside_invitation("REQUEST", ORGANIZER, person.address), person.address)
    sign_in(screen, live_server, person.identifier, PASSWORD)
    screen.get(live_server.url + reverse("webmail:message", args=[_inbox_id(person), outcome.uid]))
    wait_text(screen, "Invitation : Jury du DNB", css=".cal-invitation")
    card = screen.find_element(By.CSS_SELECTOR, ".cal-invitation").text
    assert "Lycée Victor Hugo, salle B2" in card and ORGANIZER in card
    assert "En même temps dans votre agenda : Cours 3eB" in card
    checks = PageChecks(screen, axe_source)
    checks("invitation")
    submit(screen, ".cal-invitation button[value=ACCEPTED]")
    wait_text(screen, "Réponse envoyée à l'organisateur et agenda mis à jour.")
    wait_text(screen, "Votre réponse actuelle : accepté", css=".cal-invitation")
    screen.get(f"{live_server.url}{reverse('calendar:agenda')}?vue=jour&date=2026-12-09")
    wait_text(screen, "Jury du DNB", css="main")

    # The organiser cancels: applied as it arrives; its card says there is nothing left to do.
    (cancel,) = deliver(_outside_invitation("CANCEL", ORGANIZER, person.address, sequence=1), person.address)
    screen.get(live_server.url + reverse("webmail:message", args=[_inbox_id(person), cancel.uid]))
    wait_text(screen, "Cet événement n'est plus dans votre agenda.", css=".cal-invitation")
    assert not screen.find_elements(By.CSS_SELECTOR, ".cal-invitation button")
    checks("annulation")
    screen.get(f"{live_server.url}{reverse('calendar:agenda')}?vue=jour&date=2026-12-09")
    wait_text(screen, "Cours 3eB", css="main")
    assert "Jury du DNB" not in screen.find_element(By.CSS_SELECTOR, "main").text
    checks.assert_clean()


def _inbox_id(person) -> int:
    from academail.store.models import Mailbox

    return Mailbox.objects.get(account=person, special_use="inbox").pk
