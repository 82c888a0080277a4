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
from tests.e2e.test_accessibility import audit, axe_source, report  # noqa: F401 - axe_source is a fixture
from tests.e2e.test_agenda_browser import _no_horizontal_scroll, sized  # noqa: F401 - sized is a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ORGANIZER = "examens@rectorat.example"


def test_answer_an_invitation_from_its_card_then_see_its_cancellation(sized, live_server, axe_source):  # noqa: F811
    person = make_person("Paul", "Petit")
    # The outside invitation is for 9 December 2026, 14:00–16:00; a class then makes a clash.
    events.check_save_event(person, EventDraft(summary="Cours 3eB", start=dt.datetime(2026, 12, 9, 15, tzinfo=PARIS),
                                               end=dt.datetime(2026, 12, 9, 16, tzinfo=PARIS)))
    (outcome,) = deliver(_outside_invitation("REQUEST", ORGANIZER, person.address), person.address)
    sign_in(sized, live_server, person.identifier, PASSWORD)
    sized.get(live_server.url + reverse("webmail:message", args=[_inbox_id(person), outcome.uid]))
    wait_text(sized, "Invitation : Jury du DNB", css=".cal-invitation")
    card = sized.find_element(By.CSS_SELECTOR, ".cal-invitation").text
    assert "Lycée Victor Hugo, salle B2" in card and ORGANIZER in card
    assert "En même temps dans votre agenda : Cours 3eB" in card
    _no_horizontal_scroll(sized)
    found = {}
    if violations := audit(sized, axe_source):
        found["invitation"] = violations
    button = sized.find_element(By.CSS_SELECTOR, ".cal-invitation button[value=ACCEPTED]")
    sized.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    wait_text(sized, "Réponse envoyée à l'organisateur et agenda mis à jour.")
    wait_text(sized, "Votre réponse actuelle : accepté", css=".cal-invitation")
    sized.get(f"{live_server.url}{reverse('calendar:agenda')}?vue=jour&date=2026-12-09")
    wait_text(sized, "Jury du DNB", css="main")

    # The organiser cancels: applied as it arrives; its card says there is nothing left to do.
    (cancel,) = deliver(_outside_invitation("CANCEL", ORGANIZER, person.address, sequence=1), person.address)
    sized.get(live_server.url + reverse("webmail:message", args=[_inbox_id(person), cancel.uid]))
    wait_text(sized, "Cet événement n'est plus dans votre agenda.", css=".cal-invitation")
    assert not sized.find_elements(By.CSS_SELECTOR, ".cal-invitation button")
    if violations := audit(sized, axe_source):
        found["annulation"] = violations
    sized.get(f"{live_server.url}{reverse('calendar:agenda')}?vue=jour&date=2026-12-09")
    wait_text(sized, "Cours 3eB", css="main")
    assert "Jury du DNB" not in sized.find_element(By.CSS_SELECTOR, "main").text
    assert not found, "\n" + report(found)


def _inbox_id(person) -> int:
    from academail.store.models import Mailbox

    return Mailbox.objects.get(account=person, special_use="inbox").pk
