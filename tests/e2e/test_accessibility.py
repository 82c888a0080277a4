"""Accessibility of every page with axe-core (tests/e2e/pagechecks.py), on a
desktop and on a phone-sized screen: no violation of impact "serious" or
"critical" for the WCAG 2.0 A/AA and 2.1 AA rules (what RGAA 4 builds on).

axe is injected through WebDriver, which the pages' CSP does not govern:
test_axe_runs_despite_the_csp checks it runs and finds a planted violation,
so a silent axe cannot pass the others. The message's own HTML, third-party content in its sandboxed frame, is not
audited: axe runs on the webmail's page around it.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browserwait import left
from tests.e2e.conftest import PASSWORD, deliver, fill_demo_mailbox, make_person, sign_in, wait_text
from tests.e2e.pagechecks import audit, report

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def audit_pages(driver, source: str, live_server, paths: dict[str, str]) -> dict[str, list[dict]]:
    found = {}
    for name, path in paths.items():
        driver.get(live_server.url + path)
        assert "Erreur du serveur" not in driver.title and "Server Error" not in driver.page_source[:2000], path
        violations = audit(driver, source)
        if violations:
            found[f"{name} ({path})"] = violations
    return found


def test_axe_runs_despite_the_csp(page, live_server, axe_source):
    page.get(live_server.url + reverse("accounts:login"))
    # A planted violation: an image without a text alternative (critical).
    page.execute_script("const i = document.createElement('img'); i.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';"
                        "document.querySelector('main').append(i);")
    ids = {v["id"] for v in audit(page, axe_source)}
    assert "image-alt" in ids


def test_pages_before_sign_in(screen, live_server, axe_source):
    make_person("Julie", "Martin")
    paths = {
        "connexion": reverse("accounts:login"),
        "première connexion": reverse("accounts:activation_start"),
        "mot de passe oublié": reverse("accounts:reset_request"),
        "assistance": reverse("accounts:assistance"),
    }
    found = audit_pages(screen, axe_source, live_server, paths)
    # The sign-in page with its error summary.
    screen.get(live_server.url + reverse("accounts:login"))
    screen.find_element(By.NAME, "identifier").send_keys("jmartin")
    screen.find_element(By.NAME, "password").send_keys("pas le bon")
    screen.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_text(screen, "Identifiant ou mot de passe incorrect.")
    if violations := audit(screen, axe_source):
        found["connexion en erreur"] = violations
    assert not found, "\n" + report(found)


def test_pages_of_a_signed_in_person(screen, live_server, axe_source):
    julie = make_person("Julie", "Martin")
    jean = make_person("Jean", "Dupont")
    fill_demo_mailbox(julie, [jean], count=30)
    from tests.e2e.test_webmail_browser import message_from

    html = '<h2>Ordre du jour</h2><p>Le conseil.</p><img src="https://exemple.fr/logo.png" alt="Logo">'
    deliver(message_from(jean, julie, "Conseil pédagogique", "Ordre du jour", message_id="<a11y@ac-demo.fr>",
                         html=html), julie.address)
    from academail.store.mailboxes import do_create_mailbox, special_mailbox
    from academail.store.models import Message

    projects = do_create_mailbox(julie.pk, "Projets")
    inbox = special_mailbox(julie.pk, "inbox")
    trash = special_mailbox(julie.pk, "trash")
    html_uid = Message.objects.get(mailbox=inbox, content__subject="Conseil pédagogique").uid
    with_attachment = Message.objects.filter(mailbox__account=julie, content__has_attachments=True).first()
    sign_in(screen, live_server, julie.identifier, PASSWORD)
    paths = {
        "boîte de réception": reverse("webmail:folder", args=[inbox.pk]),
        "corbeille": reverse("webmail:folder", args=[trash.pk]),
        "message HTML": reverse("webmail:message", args=[inbox.pk, html_uid]),
        "écrire": reverse("webmail:write"),
        "répondre": reverse("webmail:write") + f"?mode=reply&source={inbox.pk}-{html_uid}",
        "recherche": reverse("webmail:search") + "?q=conseil",
        "recherche vide": reverse("webmail:search") + "?q=introuvable",
        "dossiers": reverse("webmail:folders"),
        "supprimer un dossier": reverse("webmail:folder_delete", args=[projects.pk]),
        "préférences": reverse("webmail:preferences"),
        "filtres": reverse("filters:index"),
        "filtres (avancé)": reverse("filters:advanced"),
        "sécurité du compte": reverse("accounts:security"),
        "sessions": reverse("accounts:sessions"),
        "mot de passe": reverse("accounts:change_password"),
        "adresse de secours": reverse("accounts:change_secondary"),
        "double authentification": reverse("accounts:totp_settings"),
        "mots de passe d'application": reverse("accounts:app_passwords"),
        "configurer mon téléphone": reverse("autoconfig:setup"),
    }
    if with_attachment is not None:
        paths["message avec pièce jointe"] = reverse("webmail:message", args=[with_attachment.mailbox_id,
                                                                              with_attachment.uid])
    found = audit_pages(screen, axe_source, live_server, paths)
    assert not found, "\n" + report(found)


def test_states_after_interaction(screen, live_server, axe_source):
    """The keyboard help dialog, a form refused with its error, the
    attachment warning of the write page, and a filter rule with three
    condition lines."""
    from selenium.webdriver.common.keys import Keys

    julie = make_person("Julie", "Martin")
    jean = make_person("Jean", "Dupont")
    fill_demo_mailbox(julie, [jean], count=8)
    sign_in(screen, live_server, julie.identifier, PASSWORD)
    found = {}
    screen.find_element(By.TAG_NAME, "body").send_keys("?")
    dialog = screen.find_element(By.ID, "wm-shortcuts")
    assert dialog.get_attribute("open") is not None
    if violations := audit(screen, axe_source):
        found["aide des raccourcis"] = violations
    dialog.send_keys(Keys.ESCAPE)

    screen.get(live_server.url + reverse("webmail:folders"))
    for _ in range(2):
        screen.find_element(By.ID, "wm-new").send_keys("Projets")
        button = screen.find_element(By.CSS_SELECTOR, "section form button[type=submit]")
        button.click()
        # Wait for the next page: else the second round may find the old page's field.
        WebDriverWait(screen, 30).until(left(button))
    wait_text(screen, "Projets", css="#wm-new-error")
    if violations := audit(screen, axe_source):
        found["dossier refusé"] = violations

    screen.get(live_server.url + reverse("webmail:write"))
    screen.find_element(By.ID, "wm-to").send_keys(jean.address)
    screen.find_element(By.ID, "wm-subject").send_keys("Compte rendu")
    screen.find_element(By.ID, "wm-body").send_keys("Ci-joint le compte rendu.")
    screen.find_element(By.CSS_SELECTOR, ".wm-write button[type=submit]:not([name])").click()
    wait_text(screen, "aucun fichier n'est joint")
    if violations := audit(screen, axe_source):
        found["écrire : pièce jointe oubliée"] = violations

    screen.get(live_server.url + reverse("filters:index"))
    for k in (1, 2):
        screen.find_element(By.CSS_SELECTOR, "#rule-0 button[value='addcond-0']").click()
        WebDriverWait(screen, 30).until(lambda d, k=k: d.find_elements(By.ID, f"rule-0-value{k}"))
    if violations := audit(screen, axe_source):
        found["filtres : trois conditions"] = violations
    assert not found, "\n" + report(found)


def test_conversations_and_attached_message(screen, live_server, axe_source):
    """The list grouped by conversation, one conversation, and a message
    attached to a message opened as a message."""
    from email.message import EmailMessage
    from email.policy import SMTP

    from tests.e2e.test_webmail_browser import message_from

    julie = make_person("Julie", "Martin")
    jean = make_person("Jean", "Dupont")
    first = message_from(jean, julie, "Voyage à Nîmes", "Qui vient ?", message_id="<nimes-1@ac-demo.fr>")
    deliver(first, julie.address)
    answer = EmailMessage(policy=SMTP)
    answer["From"] = f"Jean Dupont <{jean.address}>"
    answer["To"] = julie.address
    answer["Subject"] = "Re: Voyage à Nîmes"
    answer["Message-ID"] = "<nimes-2@ac-demo.fr>"
    answer["In-Reply-To"] = answer["References"] = "<nimes-1@ac-demo.fr>"
    answer.set_content("Le car part à 8 h.")
    answer.add_attachment(first, maintype="message", subtype="rfc822")
    deliver(answer.as_bytes(), julie.address)
    sign_in(screen, live_server, julie.identifier, PASSWORD)
    found = {}
    screen.find_element(By.LINK_TEXT, "Regrouper par conversation").click()
    wait_text(screen, "Afficher message par message")
    if violations := audit(screen, axe_source):
        found["conversations"] = violations
    screen.find_element(By.PARTIAL_LINK_TEXT, "Voyage à Nîmes").click()
    wait_text(screen, "Le car part à 8 h.")
    if violations := audit(screen, axe_source):
        found["une conversation"] = violations
    from academail.store.mailboxes import special_mailbox

    inbox = special_mailbox(julie.pk, "inbox")
    screen.get(live_server.url + reverse("webmail:folder", args=[inbox.pk]) + "?vue=messages")
    wait_text(screen, "Regrouper par conversation")
    screen.find_element(By.PARTIAL_LINK_TEXT, "Re: Voyage à Nîmes").click()
    wait_text(screen, "Re: Voyage à Nîmes", css="h1#wm-subject")
    screen.find_element(By.LINK_TEXT, "Ouvrir comme message").click()
    wait_text(screen, "Voyage à Nîmes", css="main h1")
    if violations := audit(screen, axe_source):
        found["message joint"] = violations
    assert not found, "\n" + report(found)
