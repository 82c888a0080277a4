"""The main identity paths in a real browser: first connection (with the live
strength meter), forgotten password, and the alert for a new browser."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browserwait import text_shown

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Vache-Rouge7!Orage"
NEW_PASSWORD = "Lune#Bleue42Piano"


def fill(driver, name, value):
    field = driver.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def submit(driver):
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()


def wait_for_text(driver, text, timeout=5):
    WebDriverWait(driver, timeout).until(text_shown(text))


def active_person():
    from academail.accounts.services import check_create_account

    account = check_create_account(first_name="Julie", last_name="Martin", numen="11E9501234ABC",
                                   status="active", secondary_address="julie.perso@exemple.fr")
    account.secondary_verified = True
    account.set_password(PASSWORD)
    account.save()
    return account


def test_first_connection(page, live_server):
    from academail.accounts.services import check_create_account

    check_create_account(first_name="Paul", last_name="Durand", numen="11E9501234ABD")
    page.get(live_server.url + "/premiere-connexion/")
    fill(page, "identifier", "PDurand ")
    fill(page, "numen", "11e 950 1234 abd")
    submit(page)
    wait_for_text(page, "Choisir mon mot de passe")
    fill(page, "password1", "paul2024")
    wait_for_text(page, "Il manque")  # the meter reacts while typing
    fill(page, "password1", PASSWORD)
    wait_for_text(page, "il respecte toutes les règles")
    toggle = page.find_element(By.CSS_SELECTOR, ".fr-password__toggle")
    toggle.click()
    assert page.find_element(By.NAME, "password1").get_attribute("type") == "text"
    fill(page, "password2", PASSWORD)
    submit(page)
    wait_for_text(page, "Mon adresse de secours")
    fill(page, "address", "paul.perso@exemple.fr")
    submit(page)
    wait_for_text(page, "Saisir le code reçu")
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    fill(page, "code", code)
    submit(page)
    wait_for_text(page, "Votre compte est activé")
    # The first sign-in after activation opens the guided tour (help), which ends at the security page.
    assert "Visite guidée" in page.title


def test_forgotten_password(page, live_server):
    active_person()
    page.get(live_server.url + "/connexion/")
    page.find_element(By.LINK_TEXT, "Mot de passe oublié").click()
    fill(page, "identifier", "jmartin")
    fill(page, "numen", "11E9501234ABC")
    submit(page)
    wait_for_text(page, "Si les informations sont correctes")
    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    assert link.startswith(live_server.url)
    page.get(link)
    fill(page, "password1", NEW_PASSWORD)
    fill(page, "password2", NEW_PASSWORD)
    submit(page)
    wait_for_text(page, "Votre mot de passe est changé")
    fill(page, "identifier", "jmartin")
    fill(page, "password", NEW_PASSWORD)
    submit(page)
    wait_for_text(page, "Boîte de réception")


def test_sign_in_from_a_new_browser_alerts(page, live_server):
    active_person()
    page.get(live_server.url + "/connexion/")
    fill(page, "identifier", "jmartin")
    fill(page, "password", "pas le bon")
    submit(page)
    wait_for_text(page, "Identifiant ou mot de passe incorrect.")
    # The error summary takes the focus, for screen readers.
    assert page.switch_to.active_element.get_attribute("id") == "global-error"
    fill(page, "password", PASSWORD)
    submit(page)
    wait_for_text(page, "Boîte de réception")
    assert not mail.outbox
    page.delete_all_cookies()  # another browser
    page.get(live_server.url + "/connexion/")
    fill(page, "identifier", "jmartin")
    fill(page, "password", PASSWORD)
    submit(page)
    wait_for_text(page, "Boîte de réception")
    assert len(mail.outbox) == 1 and "Nouvelle connexion" in mail.outbox[0].subject
    page.find_element(By.LINK_TEXT, "Sessions et appareils").click()
    wait_for_text(page, "Sessions web ouvertes")
    badges = [b.get_attribute("textContent") for b in page.find_elements(By.CSS_SELECTOR, ".fr-badge")]
    assert "cette session" in badges and "cet appareil" in badges
    assert len(page.find_elements(By.CSS_SELECTOR, "main .fr-list-cards li.fr-card")) >= 3


def test_meter_never_green_beside_the_refusal(page, live_server):
    """Issue 20: after a refused submission (the two passwords differ), typing a
    strong password withdraws the stale red errors before the meter says "Très fort"."""
    active_person()
    page.get(live_server.url + "/connexion/")
    fill(page, "identifier", "jmartin")
    fill(page, "password", PASSWORD)
    submit(page)
    wait_for_text(page, "Boîte de réception")
    page.get(live_server.url + "/compte/mot-de-passe/")
    fill(page, "current", PASSWORD)
    fill(page, "password1", NEW_PASSWORD)
    fill(page, "password2", NEW_PASSWORD + "x")
    submit(page)
    wait_for_text(page, "ne sont pas identiques")
    fill(page, "password1", NEW_PASSWORD)
    wait_for_text(page, "il respecte toutes les règles")
    errors = page.find_elements(By.CSS_SELECTOR, ".fr-error-text, #global-error")
    assert not [e for e in errors if e.is_displayed()]
    assert page.find_element(By.NAME, "password2").get_attribute("aria-invalid") is None
