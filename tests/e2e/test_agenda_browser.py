"""The agenda in Chromium at desktop (1366x900) and phone (390x844) sizes:
create an event through the form, see it in the week, month, day and list
views; no horizontal scroll; axe-core finds no serious violation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from tests.e2e.conftest import PASSWORD, make_person, sign_in, wait_text
from tests.e2e.pagechecks import PageChecks, click, set_value, submit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("dav_dir")]


def test_create_an_event_and_see_it_in_every_view(screen, live_server, axe_source):
    julie = make_person("Julie", "Martin")
    sign_in(screen, live_server, julie.identifier, PASSWORD)
    day = dt.date.today() + dt.timedelta(days=1)
    screen.get(live_server.url + reverse("calendar:agenda"))
    screen.find_element(By.LINK_TEXT, "Nouvel événement").click()
    wait_text(screen, "Nouvel événement", css="h1")
    checks = PageChecks(screen, axe_source)
    checks("formulaire")
    screen.find_element(By.NAME, "summary").send_keys("Conseil de classe 3eB")
    screen.find_element(By.NAME, "location").send_keys("Salle 12")
    set_value(screen, "start_date", day.isoformat())
    set_value(screen, "end_date", day.isoformat())
    set_value(screen, "start_time", "17:00")
    set_value(screen, "end_time", "18:30")
    submit(screen, "form.agenda-form button[type=submit]")
    wait_text(screen, "Événement enregistré.")
    for view in ("semaine", "mois", "jour", "liste"):
        screen.get(f"{live_server.url}{reverse('calendar:agenda')}?vue={view}&date={day.isoformat()}")
        wait_text(screen, "Conseil de classe 3eB", css="main")
        checks(view)
    checks.assert_clean()
    # Open it from the week view and move it to the next day.
    screen.get(f"{live_server.url}{reverse('calendar:agenda')}?date={day.isoformat()}")
    screen.find_element(By.PARTIAL_LINK_TEXT, "Conseil de classe 3eB").click()
    wait_text(screen, "Modifier l'événement", css="h1")
    following = day + dt.timedelta(days=1)
    set_value(screen, "start_date", following.isoformat())
    set_value(screen, "end_date", following.isoformat())
    submit(screen, "form.agenda-form button[type=submit]")
    wait_text(screen, "Événement enregistré.")
    screen.get(f"{live_server.url}{reverse('calendar:agenda')}?vue=jour&date={following.isoformat()}")
    wait_text(screen, "Conseil de classe 3eB", css="main")
    # Colleagues' availability (busy slots only), same checks.
    screen.get(f"{live_server.url}{reverse('calendar:availability')}?avec={julie.address}&date={following.isoformat()}")
    wait_text(screen, "Occupé", css="main")
    checks("disponibilités")
    checks.assert_clean()


def test_a_delegate_opens_and_changes_the_principals_agenda(screen, live_server, axe_source):
    """Issue 19 §2: from the switcher of the agenda, the delegate opens the
    principal's week, opens an event and moves it; the page says whose
    agenda it is, with no horizontal scroll and no serious axe violation."""
    from django.utils import timezone

    from academail.calendar import events
    from academail.sharing.delegation import check_delegate

    principal = make_person("Paul", "Girard")
    secretary = make_person("Inès", "Morel")
    day = dt.date.today() + dt.timedelta(days=1)
    start = dt.datetime.combine(day, dt.time(9), events.PARIS)
    events.check_save_event(principal, events.EventDraft(summary="Conseil d'administration", start=start,
                                                         end=start + dt.timedelta(hours=2)))
    check_delegate(principal, secretary.identifier, timezone.localdate() + dt.timedelta(days=14),
                   on_behalf=False, agenda="write")
    sign_in(screen, live_server, secretary.identifier, PASSWORD)
    screen.get(f"{live_server.url}{reverse('calendar:agenda')}?date={day.isoformat()}")
    click(screen, screen.find_element(By.LINK_TEXT, "Paul Girard"))
    wait_text(screen, "Agenda de Paul Girard", css="main")
    wait_text(screen, "Conseil d'administration", css="main")
    checks = PageChecks(screen, axe_source)
    checks("agenda délégué")
    click(screen, screen.find_element(By.PARTIAL_LINK_TEXT, "Conseil d'administration"))
    wait_text(screen, "Modifier l'événement", css="h1")
    checks("événement délégué")
    checks.assert_clean()
    following = day + dt.timedelta(days=1)
    set_value(screen, "start_date", following.isoformat())
    set_value(screen, "end_date", following.isoformat())
    submit(screen, "form.agenda-form button[type=submit]")
    wait_text(screen, "Événement enregistré.")
    wait_text(screen, "Agenda de Paul Girard", css="main")  # back on the principal's agenda
    moved = events.access_occurrences(principal, dt.datetime.combine(following, dt.time(), events.PARIS),
                                      dt.datetime.combine(following, dt.time(23), events.PARIS))
    assert [o.summary for o in moved] == ["Conseil d'administration"]
    assert events.access_occurrences(secretary, start - dt.timedelta(days=1), start + dt.timedelta(days=3)) == []
