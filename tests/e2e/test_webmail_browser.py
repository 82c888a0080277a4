"""A day's mail in a real browser (headless Chromium through Selenium), as a
demo-like person signed in through the sign-in page: read an HTML message
(remote images blocked, then shown on request), write with an attachment to a
colleague who finds it, reply, file into a folder with the "Déplacer" menu,
find an old message with the accents left out, manage folders, empty the
Corbeille, and the read/reply path again on a phone-sized screen.

Drag-and-drop and the JavaScript interactions have their own browser tests
(test_webmail_interactions.py)."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.e2e.conftest import (
    count_now,
    deliver,
    fill_demo_mailbox,
    make_person,
    sign_in,
    wait_text,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(page):
    """Julie (a mailbox of demo mail) and her colleague Jean."""
    julie = make_person("Julie", "Martin")
    jean = make_person("Jean", "Dupont")
    fill_demo_mailbox(julie, [jean], count=24)
    return julie, jean


def message_from(sender, to, subject: str, body: str, *, message_id: str, date: str = "Thu, 26 Nov 2026 09:15:00 +0100",
                 html: str | None = None) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = f"{sender.first_name} {sender.last_name} <{sender.address}>"
    message["To"] = to.address
    message["Subject"] = subject
    message["Date"] = date
    message["Message-ID"] = message_id
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message.as_bytes()


def open_message(driver, subject: str) -> None:
    driver.find_element(By.PARTIAL_LINK_TEXT, subject).click()
    wait_text(driver, subject, css="h1#wm-subject")


def click_button(driver, text: str, scope: str = "main") -> None:
    for button in driver.find_elements(By.CSS_SELECTOR, f"{scope} button, {scope} a.fr-btn"):
        if button.text.strip() == text:
            button.click()
            return
    raise AssertionError(f"no button {text!r} on {driver.current_url}")


def folder_link(driver, label: str):
    for link in driver.find_elements(By.CSS_SELECTOR, "nav.wm-folders a"):
        if link.find_element(By.CSS_SELECTOR, ".wm-folder__name").text.strip() == label:
            return link
    raise AssertionError(f"no folder {label!r} in the pane")


def list_subjects(driver) -> list[str]:
    return [a.text for a in driver.find_elements(By.CSS_SELECTOR, ".wm-list__subject a")]


def fetch_size(driver, href: str) -> int:
    """Download ``href`` from the page (same origin, the session cookie) and return its size."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => done(b.byteLength), () => done(-1));",
        href,
    )


def test_read_html_message_images_blocked_until_asked(page, live_server, people, outside):
    julie, jean = people
    html = (f'<h2>Ordre du jour</h2><p>Voici le <b>programme</b> du conseil.</p>'
            f'<img src="{outside.url}/img/logo.gif" alt="Logo du collège" width="40" height="40">')
    deliver(message_from(jean, julie, "Conseil pédagogique de décembre", "Ordre du jour", message_id="<cp-1@ac-demo.fr>",
                         html=html), julie.address)
    sign_in(page, live_server, julie.identifier)
    assert "Boîte de réception" in page.title
    open_message(page, "Conseil pédagogique de décembre")
    headers = page.find_element(By.CSS_SELECTOR, "dl.wm-headers").text
    assert "Jean Dupont" in headers and jean.address in headers  # the real address beside the name
    assert "26 novembre 2026" in headers
    wait_text(page, "Les images distantes de ce message sont bloquées")
    frame = page.find_element(By.CSS_SELECTOR, "iframe.wm-frame")
    assert frame.get_attribute("sandbox").split() == ["allow-popups", "allow-popups-to-escape-sandbox"]
    page.switch_to.frame(frame)
    try:
        wait_text(page, "Voici le programme du conseil.")
        assert page.find_element(By.TAG_NAME, "b").text == "programme"
        assert page.find_element(By.TAG_NAME, "img").get_attribute("src") in (None, "")
    finally:
        page.switch_to.default_content()
    assert outside.seen() == []
    click_button(page, "Afficher les images")
    WebDriverWait(page, 10).until(lambda d: "/img/logo.gif" in outside.seen())
    page.switch_to.frame(page.find_element(By.CSS_SELECTOR, "iframe.wm-frame"))
    try:
        WebDriverWait(page, 10).until(
            lambda d: d.find_element(By.TAG_NAME, "img").get_property("naturalWidth") == 1)
    finally:
        page.switch_to.default_content()
    assert set(outside.seen()) == {"/img/logo.gif"}


def test_write_with_attachment_to_a_colleague(page, live_server, people, tmp_path):
    julie, jean = people
    report = tmp_path / "compte-rendu du conseil.pdf"
    report.write_bytes(b"%PDF-1.4\n" + b"conseil de classe 3eB\n" * 300 + b"%%EOF\n")
    sign_in(page, live_server, julie.identifier)
    page.find_element(By.LINK_TEXT, "Écrire un message").click()
    wait_text(page, "Écrire un message", css="main h1")
    page.find_element(By.ID, "wm-to").send_keys(jean.address)
    page.find_element(By.ID, "wm-subject").send_keys("Compte rendu du conseil de classe")
    page.find_element(By.ID, "wm-body").send_keys("Bonjour Jean,\n\nCi-joint le compte rendu.\n\nJulie")
    page.find_element(By.ID, "wm-files").send_keys(str(report))
    click_button(page, "Envoyer")
    wait_text(page, "Message envoyé.")
    folder_link(page, "Envoyés").click()
    wait_text(page, "Compte rendu du conseil de classe", css=".wm-list")

    sign_in(page, live_server, jean.identifier)
    open_message(page, "Compte rendu du conseil de classe")
    assert "Julie Martin" in page.find_element(By.CSS_SELECTOR, "dl.wm-headers").text
    assert "Ci-joint le compte rendu." in page.find_element(By.CSS_SELECTOR, ".wm-text").text
    section = page.find_element(By.CSS_SELECTOR, "section.wm-attachments")
    assert "1 pièce jointe" in section.text
    link = section.find_element(By.TAG_NAME, "a")
    assert link.text == "compte-rendu du conseil.pdf"
    assert "application/pdf" in section.text
    assert fetch_size(page, link.get_attribute("href")) == report.stat().st_size


def test_reply_with_attachment_keeps_the_thread(page, live_server, people, tmp_path):
    julie, jean = people
    deliver(message_from(jean, julie, "Sortie au musée Fabre", "Peux-tu me confirmer le nombre d'élèves ?",
                         message_id="<sortie-42@ac-demo.fr>"), julie.address)
    photo = tmp_path / "liste.csv"
    photo.write_text("nom;classe\nAlice;5eB\nBasile;5eB\n")
    sign_in(page, live_server, julie.identifier)
    open_message(page, "Sortie au musée Fabre")
    click_button(page, "Répondre")
    wait_text(page, "Répondre", css="main h1")
    assert page.find_element(By.ID, "wm-to").get_attribute("value").endswith(jean.address)
    assert page.find_element(By.ID, "wm-subject").get_attribute("value") == "Re: Sortie au musée Fabre"
    assert "Peux-tu me confirmer" in page.find_element(By.ID, "wm-body").get_attribute("value")
    body = page.find_element(By.ID, "wm-body")
    body.send_keys("\n28 élèves, la liste est jointe.\n")
    page.find_element(By.ID, "wm-files").send_keys(str(photo))
    click_button(page, "Envoyer")
    wait_text(page, "Message envoyé.")
    # The original is marked answered in the list.
    row = page.find_element(By.XPATH, "//tr[.//a[contains(., 'Sortie au musée Fabre')]]")
    assert "Répondu" in row.find_element(By.CSS_SELECTOR, ".wm-marks").get_attribute("textContent")

    sign_in(page, live_server, jean.identifier)
    open_message(page, "Re: Sortie au musée Fabre")
    assert "liste.csv" in page.find_element(By.CSS_SELECTOR, "section.wm-attachments").text
    page.find_element(By.LINK_TEXT, "Afficher la source").click()
    wait_text(page, "In-Reply-To:")
    source = page.find_element(By.TAG_NAME, "body").text
    assert "In-Reply-To: <sortie-42@ac-demo.fr>" in source
    assert "References: <sortie-42@ac-demo.fr>" in source


def test_move_with_the_menu(page, live_server, people):
    julie, jean = people
    for n in (1, 2, 3):
        deliver(message_from(jean, julie, f"Projet théâtre, étape {n}", "Texte", message_id=f"<theatre-{n}@ac-demo.fr>"),
                julie.address)
    from academail.store.mailboxes import do_create_mailbox

    do_create_mailbox(julie.pk, "Projets")
    sign_in(page, live_server, julie.identifier)
    for n in (1, 3):
        row = page.find_element(By.XPATH, f"//tr[.//a[contains(., 'Projet théâtre, étape {n}')]]")
        row.find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
    Select(page.find_element(By.ID, "wm-target")).select_by_visible_text("Projets")
    click_button(page, "Déplacer")
    wait_text(page, "Déplacé dans « Projets ».")
    subjects = list_subjects(page)
    assert "Projet théâtre, étape 2" in subjects
    assert "Projet théâtre, étape 1" not in subjects and "Projet théâtre, étape 3" not in subjects
    folder_link(page, "Projets").click()
    wait_text(page, "Projets", css="main h1")
    assert sorted(list_subjects(page)) == ["Projet théâtre, étape 1", "Projet théâtre, étape 3"]
    # One message from its own page, with the same menu.
    folder_link(page, "Boîte de réception").click()
    open_message(page, "Projet théâtre, étape 2")
    Select(page.find_element(By.ID, "wm-move")).select_by_visible_text("Projets")
    click_button(page, "Déplacer")
    wait_text(page, "Déplacé dans « Projets ».")
    folder_link(page, "Projets").click()
    wait_text(page, "3 messages", css="main h1")


def test_search_an_old_message_without_accents(page, live_server, people):
    julie, jean = people
    deliver(message_from(jean, julie, "Réunion de rentrée des équipes éducatives",
                         "La réunion aura lieu au réfectoire.", message_id="<rentree@ac-demo.fr>",
                         date="Mon, 01 Sep 2025 08:00:00 +0200"), julie.address)
    sign_in(page, live_server, julie.identifier)
    search = page.find_element(By.ID, "wm-q")
    search.send_keys("reunion refectoire")
    click_button(page, "Rechercher", scope="form.wm-search")
    wait_text(page, "Recherche : « reunion refectoire »", css="main h1")
    rows = page.find_elements(By.CSS_SELECTOR, ".wm-list tbody tr")
    assert len(rows) == 1
    assert "Réunion de rentrée des équipes éducatives" in rows[0].text
    assert "1 septembre 2025" in rows[0].text
    rows[0].find_element(By.CSS_SELECTOR, ".wm-list__subject a").click()
    wait_text(page, "La réunion aura lieu au réfectoire.")
    page.find_element(By.ID, "wm-q").send_keys("fromage-introuvable")
    click_button(page, "Rechercher", scope="form.wm-search")
    wait_text(page, "Aucun message ne correspond à cette recherche.")


def test_folder_management(page, live_server, people):
    julie, _ = people
    sign_in(page, live_server, julie.identifier)
    page.find_element(By.LINK_TEXT, "Gérer les dossiers").click()
    wait_text(page, "Gérer les dossiers", css="main h1")
    page.find_element(By.ID, "wm-new").send_keys("Classe de 5eB")
    click_button(page, "Créer le dossier")
    wait_text(page, "Dossier « Classe de 5eB » créé.")
    page.find_element(By.ID, "wm-new").send_keys("Classe de 5eB/Sorties")
    click_button(page, "Créer le dossier")
    wait_text(page, "Dossier « Classe de 5eB/Sorties » créé.")
    assert folder_link(page, "Sorties")  # nested under its parent in the pane
    # A name already taken says what to do.
    page.find_element(By.ID, "wm-new").send_keys("Classe de 5eB")
    click_button(page, "Créer le dossier")
    error = page.find_element(By.ID, "wm-new-error").text
    assert error and page.find_element(By.ID, "wm-new").get_attribute("aria-invalid") == "true"

    item = page.find_element(By.XPATH, "//ul[@class='wm-manage']/li[strong[normalize-space()='Classe de 5eB']]")
    field = item.find_element(By.CSS_SELECTOR, "input[name=name]")
    field.clear()
    field.send_keys("Classe de 5eB 2026")
    item.find_element(By.CSS_SELECTOR, "button").click()
    wait_text(page, "Dossier renommé en « Classe de 5eB 2026 ».")
    assert folder_link(page, "Classe de 5eB 2026")

    # Special folders can be neither renamed nor deleted.
    for special in page.find_elements(By.XPATH, "//ul[@class='wm-manage']/li[.//span[contains(., 'dossier spécial')]]"):
        assert count_now(special, "form, a, button") == 0, special.text
    specials = {s.find_element(By.TAG_NAME, "strong").text for s in
                page.find_elements(By.XPATH, "//ul[@class='wm-manage']/li[.//span[contains(., 'dossier spécial')]]")}
    assert {"Boîte de réception", "Corbeille", "Envoyés", "Brouillons", "Indésirables"} <= specials
    inbox_url = folder_link(page, "Boîte de réception").get_attribute("href")
    inbox_id = inbox_url.rstrip("/").rsplit("/", 1)[1]
    page.get(f"{live_server.url}/courrier/dossiers/{inbox_id}/supprimer/")
    click_button(page, "Supprimer définitivement")
    wait_text(page, "Vos dossiers")
    assert page.find_element(By.CSS_SELECTOR, ".fr-alert--error")
    assert folder_link(page, "Boîte de réception")

    item = page.find_element(By.XPATH, "//ul[@class='wm-manage']/li[strong[normalize-space()='Classe de 5eB 2026']]")
    item.find_element(By.PARTIAL_LINK_TEXT, "Supprimer").click()
    wait_text(page, "Supprimer le dossier « Classe de 5eB 2026 » ?", css="main h1")
    click_button(page, "Supprimer définitivement")
    wait_text(page, "Dossier « Classe de 5eB 2026 » supprimé.")
    labels = [a.text for a in page.find_elements(By.CSS_SELECTOR, "nav.wm-folders .wm-folder__name")]
    assert "Classe de 5eB 2026" not in labels and "Sorties" not in labels


def test_delete_then_empty_the_corbeille(page, live_server, people):
    julie, jean = people
    deliver(message_from(jean, julie, "Publicité cantine", "À jeter", message_id="<pub@ac-demo.fr>"), julie.address)
    sign_in(page, live_server, julie.identifier)
    open_message(page, "Publicité cantine")
    click_button(page, "Supprimer")
    wait_text(page, "Supprimé.")
    assert "Publicité cantine" not in list_subjects(page)
    folder_link(page, "Corbeille").click()
    wait_text(page, "Corbeille", css="main h1")
    assert "Publicité cantine" in list_subjects(page)
    count = len(list_subjects(page))
    page.find_element(By.ID, "wm-empty-confirm").click()
    click_button(page, "Vider la corbeille")
    wait_text(page, f"Dossier vidé : {count} message(s) supprimé(s) définitivement.")
    wait_text(page, "Ce dossier est vide.")
    assert "0 message" in page.find_element(By.CSS_SELECTOR, "main h1").text


def _no_horizontal_scroll(driver) -> None:
    width, inner = driver.execute_script("return [document.scrollingElement.scrollWidth, window.innerWidth]")
    assert inner == 390, inner
    assert width <= inner, f"{driver.current_url}: page {width}px wide in a {inner}px viewport"


def _one_column(driver) -> None:
    side, main = (driver.find_element(By.CSS_SELECTOR, css).rect for css in (".wm-side", ".wm-main"))
    # Stacked: the compact bar ("Écrire", search, the folder drawer's button) on
    # top, the content right below it (test_phone_layout.py measures the rest).
    assert side["y"] + side["height"] <= main["y"] + 1 and side["height"] < 150, (side, main)
    assert main["width"] > 300 and side["width"] > 300


def test_read_and_reply_on_a_phone(phone, live_server, people):
    julie, jean = people
    long_subject = "Convocation au conseil d'administration extraordinaire du collège Jean Moulin"
    html = ('<table width="900" style="width:900px"><tr><td>Un tableau trop large pour un téléphone, '
            'avec une-adresse-tres-longue-sans-espace@exemple-de-domaine-tres-long.fr</td></tr></table>')
    deliver(message_from(jean, julie, long_subject, "Texte", message_id="<ca-7@ac-demo.fr>", html=html), julie.address)
    sign_in(phone, live_server, julie.identifier)
    _no_horizontal_scroll(phone)
    _one_column(phone)
    open_message(phone, long_subject)
    _no_horizontal_scroll(phone)
    _one_column(phone)
    assert phone.find_element(By.CSS_SELECTOR, "iframe.wm-frame").rect["width"] <= 390
    click_button(phone, "Répondre")
    wait_text(phone, "Répondre", css="main h1")
    _no_horizontal_scroll(phone)
    phone.find_element(By.ID, "wm-body").send_keys("\nJe serai présente.\n")
    click_button(phone, "Envoyer")
    wait_text(phone, "Message envoyé.")
    _no_horizontal_scroll(phone)
    sign_in(phone, live_server, jean.identifier)
    open_message(phone, "Re: " + long_subject)
    assert "Je serai présente." in phone.find_element(By.CSS_SELECTOR, ".wm-text").text
    _no_horizontal_scroll(phone)
