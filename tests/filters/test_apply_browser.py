""""Appliquer aux messages existants" in headless Chromium, under the
webmail's strict CSP: the button queues the job, the progress shows, and the
page's script (a static file, no inline JavaScript) polls the JSON status and
shows the result once the worker has run the job, without a click."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from academail.filters.models import SieveScript
from academail.jobs.runner import run_pending
from academail.store.messages import do_append
from academail.store.models import Mailbox
from tests.conftest import build_message
from tests.e2e.conftest import browser, make_person, page, sign_in, wait_text  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_progress_then_result_without_reloading_by_hand(page, live_server):  # noqa: F811
    person = make_person()
    inbox = Mailbox.objects.get(account=person, special_use="inbox")
    for subject in ("Réunion de rentrée", "Menu de la cantine"):
        do_append(person.pk, inbox.pk, build_message(subject=subject, to=person.address))
    SieveScript.objects.create(
        account=person, content='require ["fileinto", "mailbox"];\n'
        'if header :contains "subject" "rentrée" { fileinto :create "Réunions"; }\n',
    )
    sign_in(page, live_server, person.identifier)
    page.get(live_server.url + "/courrier/filtres/")
    page.find_element(By.CSS_SELECTOR, "#flt-apply form button[type=submit]").click()
    wait_text(page, "En attente de traitement", css="#flt-apply")
    assert page.find_element(By.CSS_SELECTOR, "#flt-apply progress").get_attribute("max") == "2"
    assert page.find_element(By.LINK_TEXT, "Actualiser")

    assert run_pending() == 1  # the worker, here
    wait_text(page, "1 messages déplacés, 0 marqués", css="#flt-apply", timeout=15)  # the script's poll
    assert page.find_element(By.CSS_SELECTOR, "#flt-apply progress").get_attribute("value") == "2"
    assert not page.find_elements(By.LINK_TEXT, "Actualiser")
    assert not [e for e in page.get_log("browser") if "Content Security Policy" in e.get("message", "")]
