"""The agenda in Chromium at desktop (1366x900) and phone (390x844) sizes:
create an event through the form, see it in the week, month, day and list
views; no horizontal scroll; axe-core finds no serious violation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from tests.e2e.conftest import PASSWORD, make_person, sign_in, wait_text
from tests.e2e.test_accessibility import audit, axe_source, report  # noqa: F401 - axe_source is a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {"bureau": (1366, 900), "telephone": (390, 844)}


@pytest.fixture(params=sorted(SIZES))
def sized(request, page, settings, tmp_path):
    settings.DAV_DIR = tmp_path / "dav"
    width, height = SIZES[request.param]
    page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                         {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    yield page
    page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _no_horizontal_scroll(driver):
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"), \
        driver.current_url


def _set(driver, name, value):
    field = driver.find_element(By.NAME, name)
    driver.execute_script("arguments[0].value = arguments[1]", field, value)


def test_create_an_event_and_see_it_in_every_view(sized, live_server, axe_source):  # noqa: F811
    julie = make_person("Julie", "Martin")
    sign_in(sized, live_server, julie.identifier, PASSWORD)
    day = dt.date.today() + dt.timedelta(days=1)
    sized.get(live_server.url + reverse("calendar:agenda"))
    sized.find_element(By.LINK_TEXT, "Nouvel événement").click()
    wait_text(sized, "Nouvel événement", css="h1")
    found = {}
    if violations := audit(sized, axe_source):
        found["formulaire"] = violations
    sized.find_element(By.NAME, "summary").send_keys("Conseil de classe 3eB")
    sized.find_element(By.NAME, "location").send_keys("Salle 12")
    _set(sized, "start_date", day.isoformat())
    _set(sized, "end_date", day.isoformat())
    _set(sized, "start_time", "17:00")
    _set(sized, "end_time", "18:30")
    button = sized.find_element(By.CSS_SELECTOR, "form.agenda-form button[type=submit]")
    sized.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    wait_text(sized, "Événement enregistré.")
    for view in ("semaine", "mois", "jour", "liste"):
        sized.get(f"{live_server.url}{reverse('calendar:agenda')}?vue={view}&date={day.isoformat()}")
        wait_text(sized, "Conseil de classe 3eB", css="main")
        _no_horizontal_scroll(sized)
        if violations := audit(sized, axe_source):
            found[view] = violations
    assert not found, "\n" + report(found)
    # Open it from the week view and move it to the next day.
    sized.get(f"{live_server.url}{reverse('calendar:agenda')}?date={day.isoformat()}")
    sized.find_element(By.PARTIAL_LINK_TEXT, "Conseil de classe 3eB").click()
    wait_text(sized, "Modifier l'événement", css="h1")
    following = day + dt.timedelta(days=1)
    _set(sized, "start_date", following.isoformat())
    _set(sized, "end_date", following.isoformat())
    button = sized.find_element(By.CSS_SELECTOR, "form.agenda-form button[type=submit]")
    sized.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    wait_text(sized, "Événement enregistré.")
    sized.get(f"{live_server.url}{reverse('calendar:agenda')}?vue=jour&date={following.isoformat()}")
    wait_text(sized, "Conseil de classe 3eB", css="main")
    # Colleagues' availability (busy slots only), same checks.
    sized.get(f"{live_server.url}{reverse('calendar:availability')}?avec={julie.address}&date={following.isoformat()}")
    wait_text(sized, "Occupé", css="main")
    _no_horizontal_scroll(sized)
    violations = audit(sized, axe_source)
    assert not violations, "\n" + report({"disponibilités": violations})


def test_a_delegate_opens_and_changes_the_principals_agenda(sized, live_server, axe_source):  # noqa: F811
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
    sign_in(sized, live_server, secretary.identifier, PASSWORD)
    sized.get(f"{live_server.url}{reverse('calendar:agenda')}?date={day.isoformat()}")
    link = sized.find_element(By.LINK_TEXT, "Paul Girard")
    sized.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    wait_text(sized, "Agenda de Paul Girard", css="main")
    wait_text(sized, "Conseil d'administration", css="main")
    _no_horizontal_scroll(sized)
    found = {}
    if violations := audit(sized, axe_source):
        found["agenda délégué"] = violations
    event = sized.find_element(By.PARTIAL_LINK_TEXT, "Conseil d'administration")
    sized.execute_script("arguments[0].scrollIntoView({block: 'center'})", event)
    event.click()
    wait_text(sized, "Modifier l'événement", css="h1")
    if violations := audit(sized, axe_source):
        found["événement délégué"] = violations
    assert not found, "\n" + report(found)
    following = day + dt.timedelta(days=1)
    _set(sized, "start_date", following.isoformat())
    _set(sized, "end_date", following.isoformat())
    button = sized.find_element(By.CSS_SELECTOR, "form.agenda-form button[type=submit]")
    sized.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    wait_text(sized, "Événement enregistré.")
    wait_text(sized, "Agenda de Paul Girard", css="main")  # back on the principal's agenda
    moved = events.access_occurrences(principal, dt.datetime.combine(following, dt.time(), events.PARIS),
                                      dt.datetime.combine(following, dt.time(23), events.PARIS))
    assert [o.summary for o in moved] == ["Conseil d'administration"]
    assert events.access_occurrences(secretary, start - dt.timedelta(days=1), start + dt.timedelta(days=3)) == []
