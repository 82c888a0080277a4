"""The helpdesk in headless Chromium, as its three kinds of users meet it:
the requester (signed out: form, confirmation link, follow-up page and reply),
the agent (queue, ticket, guided identity check, new secondary address, an
answer, the dashboard) and the secretary (accounts, "Afficher le NUMEN").
Each page is audited with axe-core at desktop and phone sizes, and checked
for horizontal scrolling on the phone."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from selenium.webdriver.common.by import By

from tests.e2e.conftest import make_person, wait_text
from tests.e2e.pagechecks import audit, no_horizontal_scroll, report

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _signed_in_as(driver, live_server, account) -> None:
    """Open a real session for ``account`` and hand its cookie to the browser
    (agents must enrol a second factor at sign-in: the sign-in itself is
    tested elsewhere)."""
    client = Client()
    client.force_login(account)
    driver.get(live_server.url + "/healthz")
    driver.delete_all_cookies()
    driver.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"})


def _check(driver, source, found: dict, name: str) -> None:
    assert "Erreur du serveur" not in driver.title, name
    if violations := audit(driver, source):
        found[name] = violations
    if driver.execute_script("return window.innerWidth") < 600:
        no_horizontal_scroll(driver)


def test_requester_agent_and_secretary(screen, live_server, axe_source):
    from academail.accounts.models import EventKind, JournalEntry

    claire = make_person("Claire", "Moreau", numen="11E1234567ABC")
    agent = make_person("Sophie", "Agent")
    agent.role = "support"
    agent.save()
    secretary = make_person("Nadia", "Secretaire")
    secretary.role = "secretariat"
    secretary.save()
    found: dict = {}
    url = live_server.url

    # The requester, signed out.
    screen.delete_all_cookies()
    screen.get(url + reverse("assistance:new") + "?categorie=numen-perdu")
    _check(screen, axe_source, found, "formulaire")
    screen.find_element(By.NAME, "message").send_keys("J'ai perdu mon NUMEN.")
    screen.find_element(By.NAME, "name").send_keys("Claire Moreau")
    screen.find_element(By.NAME, "identifier").send_keys("cmoreau")
    screen.find_element(By.NAME, "contact_email").send_keys("claire.perso@exemple.fr")
    screen.find_element(By.CSS_SELECTOR, "form[enctype] button[type=submit]").click()
    wait_text(screen, "Ouvrez le lien")
    _check(screen, axe_source, found, "demande envoyée")
    confirm = re.search(r"https?://\S+", mail.outbox[-1].body).group(0).replace("http://testserver", url)
    confirm = re.sub(r"^https?://[^/]+", url, confirm)
    screen.get(confirm)
    _check(screen, axe_source, found, "confirmer")
    screen.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_text(screen, "Demande confirmée")
    follow = re.sub(r"^https?://[^/]+", url, re.search(r"https?://\S+", mail.outbox[-1].body).group(0))
    screen.get(follow)
    _check(screen, axe_source, found, "suivi")
    screen.find_element(By.NAME, "message").send_keys("Je suis joignable le matin.")
    screen.find_element(By.CSS_SELECTOR, "main form[enctype] button[type=submit]").click()
    wait_text(screen, "Votre message est ajouté")

    # The agent.
    from academail.assistance.models import Ticket

    ticket = Ticket.objects.get()
    _signed_in_as(screen, live_server, agent)
    screen.get(url + reverse("assistance:console"))
    _check(screen, axe_source, found, "file")
    screen.find_element(By.LINK_TEXT, ticket.subject).click()
    wait_text(screen, "Étape 1.")
    _check(screen, axe_source, found, "demande (agent)")
    screen.find_element(By.CSS_SELECTOR, "label[for=id_establishment_ok]").click()  # the DSFR box is its label
    screen.find_element(By.CSS_SELECTOR, "label[for=id_callback_ok]").click()
    screen.find_element(By.CSS_SELECTOR, "#identite button[type=submit]").click()
    wait_text(screen, "Identité vérifiée")
    screen.find_element(By.ID, "id_address").send_keys("claire.nouvelle@exemple.fr")
    screen.find_element(By.CSS_SELECTOR, "#identite button[type=submit]").click()
    wait_text(screen, "lien de réinitialisation")
    _check(screen, axe_source, found, "demande après action")
    screen.get(url + reverse("assistance:dashboard"))
    _check(screen, axe_source, found, "tableau de bord")
    screen.get(url + reverse("assistance:phone"))
    _check(screen, axe_source, found, "téléphone")
    screen.get(url + reverse("assistance:canned"))
    _check(screen, axe_source, found, "réponses types")
    assert JournalEntry.objects.filter(account=claire, kind=EventKind.STAFF_ACTION).exists()

    # The secretary.
    _signed_in_as(screen, live_server, secretary)
    screen.get(url + reverse("assistance:secretariat"))
    _check(screen, axe_source, found, "secrétariat")
    screen.find_element(By.PARTIAL_LINK_TEXT, "Moreau").click()
    _check(screen, axe_source, found, "compte (secrétariat)")
    screen.find_element(By.ID, "id_reason").send_keys("Perte du NUMEN, appel de l'intéressée")
    screen.find_element(By.CSS_SELECTOR, "form[action$='/numen/'] button[type=submit]").click()
    wait_text(screen, "11E1234567ABC")
    screen.get(url + reverse("assistance:secretariat_import"))
    _check(screen, axe_source, found, "import")
    assert not found, "\n" + report(found)
