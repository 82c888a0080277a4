"""Migration from the previous platform in headless Chromium, from a real
Dovecot (tests/dovecot.py): a teacher fills "Depuis l'ancienne messagerie",
sees the job waiting with its progress bar, and the page's progress script
(no inline JavaScript, strict CSP) shows the report once the worker has run
it; the secretariat uploads a CSV and follows each account's progress, with
the wrong password in plain French and the help link."""

from __future__ import annotations

import threading

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from academail.jobs.runner import run_pending
from academail.store.models import Message
from tests.archive.test_migrate_imap import seed
from tests.dovecot import MASTER, MASTER_PASSWORD
from tests.e2e.conftest import PASSWORD, make_person, sign_in, wait_text

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _worker() -> None:
    thread = threading.Thread(target=run_pending)
    thread.start()
    thread.join(120)
    assert not thread.is_alive()


def _no_csp_error(page) -> None:
    assert not [e for e in page.get_log("browser") if "Content Security Policy" in e.get("message", "")]


def test_a_teacher_brings_their_old_mailbox(page, live_server, old_platform):
    teacher = make_person("Julie", "Martin")
    seed(old_platform, "jmartin", "Ancien-secret-2019", inbox=4)
    sign_in(page, live_server, teacher.identifier, PASSWORD)
    page.get(live_server.url + reverse("archive:space"))
    page.find_element(By.LINK_TEXT, "Depuis l'ancienne messagerie").click()
    wait_text(page, "Nouvelle copie")
    page.find_element(By.ID, "wm-migrate-host").send_keys("127.0.0.1")
    page.find_element(By.ID, "wm-migrate-port").send_keys(str(old_platform.imaps))
    page.find_element(By.ID, "wm-migrate-login").send_keys("jmartin")
    page.find_element(By.ID, "wm-migrate-password").send_keys("Ancien-secret-2019")
    page.find_element(By.CSS_SELECTOR, "#wm-migrate-form button[type=submit]").click()
    wait_text(page, "Migration lancée")
    wait_text(page, "En attente de traitement", css=".wm-export__status")
    assert page.find_element(By.CSS_SELECTOR, ".wm-export__status progress")

    _worker()
    total = Message.objects.filter(mailbox__account=teacher).count()
    assert total == 4 + 1 + 2 + 24
    wait_text(page, f"{total} message(s) copié(s)", css=".wm-migrate__result", timeout=20)  # the script's poll
    assert not page.find_elements(By.CSS_SELECTOR, ".wm-export__status")
    _no_csp_error(page)


def test_the_secretariat_follows_each_account(page, live_server, old_platform, tmp_path):
    from academail.accounts.models import Account

    secretary = make_person("Nadia", "Secretaire")
    Account.objects.filter(pk=secretary.pk).update(role="secretariat")
    claire, paul = make_person("Claire", "Moreau"), make_person("Paul", "Morel")
    seed(old_platform, "cmoreau", "secret-claire", inbox=2)
    seed(old_platform, "pmorel", "secret-paul", inbox=2)
    csv = tmp_path / "comptes.csv"
    csv.write_text(f"compte;identifiant_source;mot_de_passe\n{claire.identifier};cmoreau;\n"
                   f"{paul.identifier};pmorel;pas-le-bon\n", encoding="utf-8")

    sign_in(page, live_server, secretary.identifier, PASSWORD)
    page.get(live_server.url + reverse("assistance:secretariat"))
    page.find_element(By.LINK_TEXT, "Migrer depuis l'ancienne messagerie").click()
    page.find_element(By.ID, "mig-host").send_keys("127.0.0.1")
    page.find_element(By.ID, "mig-port").send_keys(str(old_platform.imaps))
    page.find_element(By.ID, "mig-csv").send_keys(str(csv))
    page.find_element(By.ID, "mig-master").send_keys(MASTER)
    page.find_element(By.ID, "mig-master-password").send_keys(MASTER_PASSWORD)
    page.find_element(By.CSS_SELECTOR, "#mig-form button[type=submit]").click()
    wait_text(page, "2 migration(s) lancée(s)")
    assert len(page.find_elements(By.CSS_SELECTOR, "[data-running] progress")) == 2

    _worker()
    wait_text(page, "refuse l'identification (pmorel)", timeout=20)  # the script's poll, then the reload
    wait_text(page, "message(s) copié(s)")
    assert page.find_element(By.LINK_TEXT, "Que faire ?").get_attribute("href").endswith(
        "/aide/migrer-depuis-l-ancienne-messagerie/")
    assert not page.find_elements(By.CSS_SELECTOR, "[data-running]")
    _no_csp_error(page)
