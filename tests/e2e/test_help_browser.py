"""The help centre, the phone diagnosis and training sessions in Chromium: the
issue's "Done when" stories end to end, and axe-core on every page at desktop
(1366x900) and phone (390x844) sizes with no horizontal scroll."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import icalendar
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from tests.e2e.conftest import PASSWORD, make_person, sign_in, wait_text
from tests.e2e.pagechecks import audit, report
from tests.imap.conftest import Client as IMAPClient
from tests.imap.conftest import imap  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

def signed_in_as(driver, live_server, account) -> None:
    """A web session for ``account`` (helpdesk agents must otherwise enrol a
    second factor first; the sign-in page itself is tested elsewhere)."""
    client = Client()
    client.force_login(account)
    driver.get(live_server.url + "/healthz")
    driver.delete_all_cookies()
    driver.add_cookie({"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                       "path": "/"})


def no_horizontal_scroll(driver) -> bool:
    return bool(driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"))


def audit_all(driver, source, live_server, paths: dict[str, str]) -> dict[str, list]:
    found: dict[str, list] = {}
    for name, path in paths.items():
        driver.get(live_server.url + path)
        assert "Erreur du serveur" not in driver.title, path
        violations = audit(driver, source)
        if not no_horizontal_scroll(driver):
            violations.append({"impact": "serious", "id": "horizontal-scroll", "help": "the page scrolls sideways",
                               "nodes": []})
        if violations:
            found[f"{name} ({path})"] = violations
    return found


def _session(trainer, *, capacity=12, title="Prise en main de la messagerie"):
    from academail.help import training

    starts = (timezone.now() + timedelta(days=5)).replace(microsecond=0)
    return training.check_publish(trainer, training.SessionDraft(
        title, "Lire, écrire, ranger son courrier et configurer son téléphone.", "nouveaux personnels",
        "https://visio.ac-demo.fr/prise-en-main", "", starts, starts + timedelta(hours=2), capacity,
    ))


def test_help_pages_are_accessible_on_desktop_and_phone(screen, live_server, axe_source):
    from academail.help.models import Trainer
    from academail.help.training import check_add_resource, check_sign_up

    found = audit_all(screen, axe_source, live_server, {
        "aide (sans connexion)": reverse("help:index"),
        "recherche": reverse("help:index") + "?q=numen",
        "article": reverse("help:article", args=["indesirables-et-hameconnage"]),
        "article introuvable": "/aide/cet-article-n-existe-pas/",
    })
    agent = make_person("Karim", "Benali")
    agent.role = "support"
    agent.save()
    trainer = make_person("Anne", "Petit")
    Trainer.objects.create(account=trainer)
    session = _session(agent, capacity=1)
    check_add_resource(agent, session.pk, title="Guide de démarrage", url="https://exemple.fr/guide")
    check_sign_up(make_person("Marc", "Blanc"), session.pk)
    signed_in_as(screen, live_server, trainer)
    found |= audit_all(screen, axe_source, live_server, {
        "article avec mes réglages": reverse("help:article", args=["telephone-et-logiciels"]),
        "visite guidée": reverse("help:tour", args=[1]),
        "configurer mon téléphone": reverse("autoconfig:setup"),
        "formations": reverse("training:index"),
        "session complète": reverse("training:session", args=[session.pk]),
        "publier une session": reverse("training:new"),
        "inscrits": reverse("training:attendees", args=[session.pk]),
        "ajouter une ressource": reverse("training:add_resource", args=[session.pk]),
    })
    signed_in_as(screen, live_server, agent)
    found |= audit_all(screen, axe_source, live_server, {
        "modifier un article": reverse("help:edit", args=["numen"]),
        "historique": reverse("help:history", args=["numen"]),
    })
    # The editor's preview, and a feedback answer.
    screen.get(live_server.url + reverse("help:edit", args=["numen"]))
    screen.find_element(By.CSS_SELECTOR, "button[value=preview]").click()
    wait_text(screen, "Aperçu", css="h2")
    if violations := audit(screen, axe_source):
        found["aperçu"] = violations
    assert not found, "\n" + report(found)


def test_a_secretary_finds_the_numen_article_from_the_sign_in_page_without_signing_in(page, live_server):
    page.get(live_server.url + reverse("accounts:login"))
    page.find_element(By.LINK_TEXT, "Où trouver mon NUMEN ?").click()
    wait_text(page, "Le NUMEN : ce que c'est, où le trouver", css="h1")
    assert "bulletins de salaire" in page.find_element(By.TAG_NAME, "main").text
    # The "Aide" entry of the navigation and the search, accents ignored.
    page.find_element(By.CSS_SELECTOR, "header").find_element(By.LINK_TEXT, "Aide").click()
    field = page.find_element(By.ID, "help-q")
    field.send_keys("hameconnage")
    page.find_element(By.CSS_SELECTOR, "form[role=search] button").click()
    wait_text(page, "Courrier indésirable et hameçonnage", css="main")
    page.find_element(By.LINK_TEXT, "Courrier indésirable et hameçonnage").click()
    wait_text(page, "Cet article vous a-t-il aidé ?", css="main")
    page.find_element(By.CSS_SELECTOR, "#avis button[value=yes]").click()
    wait_text(page, "Merci pour votre avis.", css="#avis")


def test_teacher_whose_phone_keeps_asking_for_a_password(phone, live_server, imap, settings):  # noqa: F811
    """Done when: her phone's last attempts used the account password where an
    app password is required (a real IMAP sign-in over TLS, refused); she opens
    "Configurer mon téléphone", reads why, and follows the link to the article."""
    settings.REQUIRE_APP_PASSWORDS = True
    claire = make_person("Claire", "Fabre")
    device = IMAPClient(imap.host, imap.tls_port)
    device.cmd('ID ("name" "iPhone Mail")')
    assert device.cmd(f'LOGIN {claire.identifier} "{PASSWORD}"').status == "NO"
    device.close()
    sign_in(phone, live_server, claire.identifier, PASSWORD)
    phone.get(live_server.url + reverse("autoconfig:setup"))
    diagnosis = phone.find_element(By.ID, "diagnostic")
    assert "iPhone Mail (IMAP)" in diagnosis.text
    assert "Le mot de passe du compte a été utilisé, alors qu'un mot de passe d'application est exigé." in diagnosis.text
    assert no_horizontal_scroll(phone)
    diagnosis.find_element(By.LINK_TEXT, "Lire l'article d'aide").click()
    wait_text(phone, "Les mots de passe d'application", css="h1")
    assert "Créez un mot de passe différent pour chaque appareil." in phone.find_element(By.TAG_NAME, "main").text


def test_new_staff_member_signs_up_and_receives_the_invitation(page, live_server):
    from academail.store.messages import read_raw
    from academail.store.models import Message

    agent = make_person("Karim", "Benali")
    agent.role = "support"
    agent.save()
    session = _session(agent)
    lea = make_person("Léa", "Roux")
    sign_in(page, live_server, lea.identifier, PASSWORD)
    page.get(live_server.url + reverse("help:index"))
    page.find_element(By.LINK_TEXT, "Formations à la messagerie").click()
    page.find_element(By.LINK_TEXT, "Prise en main de la messagerie").click()
    page.find_element(By.XPATH, "//button[normalize-space()=\"M'inscrire\"]").click()
    wait_text(page, "Vous êtes inscrit : l'invitation vous a été envoyée par courriel.")
    # The invitation arrived in her inbox, and its .ics parses.
    page.get(live_server.url + reverse("webmail:index"))
    wait_text(page, "Inscription confirmée : Prise en main de la messagerie")
    stored = Message.objects.get(mailbox__account=lea, content__subject__startswith="Inscription confirmée")
    mail = message_from_bytes(read_raw(stored), policy=default)
    (part,) = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    (event,) = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")
    assert event.decoded("dtstart") == session.starts_at
