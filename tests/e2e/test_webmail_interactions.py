"""The webmail's JavaScript interactions in a real browser (headless Debian
Chromium through Selenium), served by uvicorn with the ASGI application as in
production, so the server-sent event stream really streams: keyboard
shortcuts and their help dialog, address autocompletion, rich text sent as
multipart/alternative, attachments dropped with their list and limit, drafts
saved automatically, drag-and-drop move, and new mail appearing live with the
unread count in the tab title."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from django.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import build_message
from tests.webmail.test_live import running_asgi

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(browser, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.cache import cache

    from academail.accounts import directory

    cache.clear()
    directory.forget_index()
    with running_asgi() as base:
        yield base
        browser.get("about:blank")  # closes the event stream before the server stops


def person(first: str, last: str):
    from academail.accounts.services import check_create_account
    from tests.conftest import make_numen

    return check_create_account(first_name=first, last_name=last, numen=make_numen(), status="active")


def deliver(account, subject: str, body: str = "Bonjour,\n\nÀ lire.\n"):
    from academail.delivery.route import deliver as door_deliver

    (outcome,) = door_deliver(build_message(subject=subject, body=body, to=account.address), [account.address])
    assert outcome.delivered, outcome


def signed_in(browser, base: str, account, path: str = "/courrier/"):
    """The browser carries a session of ``account`` (made by Django's client:
    the sign-in page has its own browser tests)."""
    client = Client()
    client.force_login(account)
    browser.get(base + "/healthz")
    browser.delete_all_cookies()
    browser.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"})
    browser.get(base + path)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "nav.wm-folders"))


def wait(browser, condition, timeout: float = 10):
    # An in-place swap may replace the element a condition just found before its
    # text is read: that is "not yet", so the wait polls again instead of failing.
    from selenium.common.exceptions import StaleElementReferenceException

    return WebDriverWait(browser, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def press(browser, *keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    actions = ActionChains(browser)
    for key in keys:
        actions.send_keys(key)
    actions.perform()


def js(browser, script: str, *args):
    return browser.execute_script(script, *args)


def inbox_of(account):
    from academail.store.models import Mailbox

    return Mailbox.objects.get(account=account, special_use="inbox")


def messages_in(account, use: str):
    from academail.store.models import Message

    return list(Message.objects.filter(mailbox__account=account, mailbox__special_use=use)
                .select_related("content").order_by("uid"))


def test_shortcuts_and_help_dialog(browser, server):
    julie = person("Julie", "Martin")
    for subject in ("Premier", "Deuxième", "Troisième"):
        deliver(julie, subject)
    signed_in(browser, server, julie)
    body = browser.find_element(By.TAG_NAME, "body")
    body.click()

    # The "?" of the shortcuts button is readable: its text colour is not its background's.
    colours = js(browser, "const k = document.querySelector('#wm-shortcuts-button kbd'), s = getComputedStyle(k);"
                          "return [s.color, s.backgroundColor];")
    assert colours[0] != colours[1] and colours[0] not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), colours

    # "?" opens an accessible dialog, listed in French; focus stays inside; Esc closes it.
    press(browser, "?")
    dialog = browser.find_element(By.ID, "wm-shortcuts")
    wait(browser, lambda d: js(d, "return document.getElementById('wm-shortcuts').open"))
    assert "Message suivant / précédent" in dialog.text and "Aller à la boîte de réception" in dialog.text
    for _ in range(3):
        press(browser, Keys.TAB)
        assert js(browser, "return document.getElementById('wm-shortcuts').contains(document.activeElement)")
    press(browser, "j")  # inert while the dialog is open
    assert not browser.find_elements(By.CSS_SELECTOR, "tr.wm-current")
    press(browser, Keys.ESCAPE)
    wait(browser, lambda d: not js(d, "return document.getElementById('wm-shortcuts').open"))

    # j / k move through the list (newest first), o opens.
    press(browser, "j")
    press(browser, "j")
    current = browser.find_element(By.CSS_SELECTOR, "tr.wm-current")
    assert "Deuxième" in current.text
    press(browser, "k")
    assert "Troisième" in browser.find_element(By.CSS_SELECTOR, "tr.wm-current").text
    press(browser, "o")
    wait(browser, lambda d: "Troisième" in d.find_element(By.CSS_SELECTOR, "h1").text)

    # s flags the open message, then g i goes back to the inbox.
    press(browser, "s")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'button[value="unflag"]'))
    from academail.store.models import Flag

    assert [m.flags & Flag.FLAGGED for m in messages_in(julie, "inbox")] == [0, 0, Flag.FLAGGED]
    press(browser, "g", "i")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".wm-list"))

    # Never while typing: "/" focuses the search box, then letters are text.
    press(browser, "/")
    assert js(browser, "return document.activeElement.id") == "wm-q"
    press(browser, "j", "c", "#")
    assert browser.find_element(By.ID, "wm-q").get_attribute("value") == "jc#"
    assert "/courrier/dossier/" in browser.current_url
    assert not browser.find_elements(By.CSS_SELECTOR, "tr.wm-current")

    # # deletes the current message (to Corbeille); c writes.
    browser.find_element(By.TAG_NAME, "body").click()
    press(browser, "j", "#")
    wait(browser, lambda d: len(messages_in(julie, "trash")) == 1)
    assert messages_in(julie, "trash")[0].content.subject == "Troisième"
    press(browser, "c")
    wait(browser, lambda d: d.find_elements(By.ID, "wm-compose"))


def test_address_autocompletion(browser, server):
    julie = person("Julie", "Martin")
    herve = person("Hervé", "Le Guen")
    signed_in(browser, server, julie, "/courrier/ecrire/")
    to = browser.find_element(By.ID, "wm-to")
    assert to.get_attribute("role") == "combobox" and to.get_attribute("aria-expanded") == "false"
    to.send_keys("herve")
    wait(browser, lambda d: to.get_attribute("aria-expanded") == "true")
    listbox = browser.find_element(By.ID, to.get_attribute("aria-controls"))
    assert listbox.get_attribute("role") == "listbox"
    (option,) = listbox.find_elements(By.CSS_SELECTOR, "[role=option]")
    assert "Hervé Le Guen" in option.text and herve.address in option.text
    to.send_keys(Keys.ARROW_DOWN)
    assert to.get_attribute("aria-activedescendant") == option.get_attribute("id")
    assert option.get_attribute("aria-selected") == "true"
    to.send_keys(Keys.ENTER)
    assert to.get_attribute("value") == f"Hervé Le Guen <{herve.address}>, "
    assert to.get_attribute("aria-expanded") == "false"
    # Escape closes the list without choosing.
    cc = browser.find_element(By.ID, "wm-cc")
    cc.send_keys("le gu")
    wait(browser, lambda d: cc.get_attribute("aria-expanded") == "true")
    cc.send_keys(Keys.ESCAPE)
    assert cc.get_attribute("aria-expanded") == "false" and cc.get_attribute("value") == "le gu"


def test_rich_text_send(browser, server):
    julie = person("Julie", "Martin")
    paul = person("Paul", "Durand")
    signed_in(browser, server, julie, "/courrier/ecrire/")
    browser.find_element(By.ID, "wm-to").send_keys(paul.address)
    browser.find_element(By.ID, "wm-subject").send_keys("Ordre du jour")
    toggle = browser.find_element(By.ID, "wm-rich-toggle")
    assert toggle.text == "Texte enrichi" and toggle.get_attribute("aria-pressed") == "false"
    assert browser.find_element(By.ID, "wm-body").is_displayed()
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    assert not browser.find_element(By.ID, "wm-body").is_displayed()
    editor = browser.find_element(By.ID, "wm-editor")
    bold = browser.find_element(By.CSS_SELECTOR, '[data-command="bold"]')
    editor.send_keys("Points : ")
    bold.click()
    assert bold.get_attribute("aria-pressed") == "true"
    editor.send_keys("budget")
    bold.click()
    assert bold.get_attribute("aria-pressed") == "false"
    editor.send_keys(Keys.ENTER)
    browser.find_element(By.CSS_SELECTOR, '[data-command="insertUnorderedList"]').click()
    editor.send_keys("sorties", Keys.ENTER, "voyages")
    browser.find_element(By.CSS_SELECTOR, "#wm-compose .wm-toolbar button[type=submit]:not([name])").click()
    wait(browser, lambda d: "/courrier/ecrire/" not in d.current_url)

    (received,) = messages_in(paul, "inbox")
    from academail.store.messages import read_raw

    parsed = message_from_bytes(read_raw(received), policy=default)
    assert parsed.get_content_type() == "multipart/alternative"
    html = parsed.get_body(("html",)).get_content()
    plain = parsed.get_body(("plain",)).get_content()
    assert "<b>budget</b>" in html and "<li>sorties</li>" in html and "<li>voyages</li>" in html
    assert "*budget*" in plain and "- sorties" in plain and "- voyages" in plain


def test_attachments_dropped_listed_and_sent(browser, server, tmp_path):
    julie = person("Julie", "Martin")
    paul = person("Paul", "Durand")
    signed_in(browser, server, julie, "/courrier/ecrire/")
    browser.find_element(By.ID, "wm-to").send_keys(paul.address)
    browser.find_element(By.ID, "wm-subject").send_keys("Compte rendu")
    browser.find_element(By.ID, "wm-body").send_keys("Voici le compte rendu.")
    picked = tmp_path / "compte-rendu.pdf"
    picked.write_bytes(b"%PDF-1.4 " + b"x" * 600_000)
    browser.find_element(By.ID, "wm-files").send_keys(str(picked))
    # A second file dropped on the zone (a synthetic drop: Chromium's DataTransfer with a File).
    js(browser, """
        var file = new File(["a,b\\n1,2\\n"], "notes.csv", {type: "text/csv"});
        var data = new DataTransfer(); data.items.add(file);
        var zone = document.getElementById("wm-dropzone");
        zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
    """)
    items = browser.find_elements(By.CSS_SELECTOR, ".wm-files li")
    assert [i.text.split(" (")[0] for i in items] == ["compte-rendu.pdf", "notes.csv"]
    assert "586 Ko" in items[0].text and "Retirer" in items[0].text
    assert "sur 25,0 Mo permis" in browser.find_element(By.ID, "wm-files-total").text
    assert js(browser, "return document.getElementById('wm-files').files.length") == 2
    items[1].find_element(By.TAG_NAME, "button").click()  # remove notes.csv
    assert [i.text.split(" (")[0] for i in browser.find_elements(By.CSS_SELECTOR, ".wm-files li")] == ["compte-rendu.pdf"]
    # A slow uplink (Chromium's network emulation), so the upload's progress is seen moving.
    browser.set_network_conditions(offline=False, latency=5, download_throughput=10_000_000, upload_throughput=200_000)
    try:
        browser.find_element(By.CSS_SELECTOR, "#wm-compose .wm-toolbar button[type=submit]:not([name])").click()
        progress = wait(browser, lambda d: d.find_elements(By.ID, "wm-upload-progress"))[0]
        wait(browser, lambda d: 0 < float(progress.get_attribute("value")) < 100)
        assert "Envoi en cours" in browser.find_element(By.CSS_SELECTOR, ".wm-upload-status").text
        wait(browser, lambda d: "/courrier/ecrire/" not in d.current_url, timeout=30)
    finally:
        browser.delete_network_conditions()
    assert "Message envoyé" in browser.find_element(By.CSS_SELECTOR, ".fr-alert--success").text
    (received,) = messages_in(paul, "inbox")
    from academail.store.messages import read_raw

    parsed = message_from_bytes(read_raw(received), policy=default)
    names = [part.get_filename() for part in parsed.iter_attachments()]
    assert names == ["compte-rendu.pdf"]


def test_drafts_saved_automatically_then_removed_on_send(browser, server):
    julie = person("Julie", "Martin")
    paul = person("Paul", "Durand")
    signed_in(browser, server, julie, "/courrier/ecrire/")
    browser.find_element(By.ID, "wm-to").send_keys(paul.address)
    browser.find_element(By.ID, "wm-subject").send_keys("Brouillon du conseil")
    browser.find_element(By.ID, "wm-body").send_keys("Première version")
    js(browser, "document.getElementById('wm-compose').dispatchEvent(new Event('wm:save-draft'))")
    wait(browser, lambda d: "Brouillon enregistré" in d.find_element(By.ID, "wm-autosave-status").text)
    (first,) = messages_in(julie, "drafts")
    browser.find_element(By.ID, "wm-body").send_keys(", puis la deuxième")
    js(browser, "document.getElementById('wm-compose').dispatchEvent(new Event('wm:save-draft'))")
    wait(browser, lambda d: d.find_element(By.NAME, "draft").get_attribute("value") not in ("", str(first.uid)))
    (second,) = messages_in(julie, "drafts")
    assert second.uid != first.uid
    browser.find_element(By.CSS_SELECTOR, "#wm-compose .wm-toolbar button[type=submit]:not([name])").click()
    wait(browser, lambda d: "/courrier/ecrire/" not in d.current_url)
    assert messages_in(julie, "drafts") == []
    assert [m.content.subject for m in messages_in(paul, "inbox")] == ["Brouillon du conseil"]


def test_draft_saved_when_leaving_the_page(browser, server):
    julie = person("Julie", "Martin")
    signed_in(browser, server, julie, "/courrier/ecrire/")
    browser.find_element(By.ID, "wm-subject").send_keys("Écrit puis quitté")
    browser.find_element(By.ID, "wm-body").send_keys("Ne pas perdre ce texte.")
    browser.find_element(By.CSS_SELECTOR, ".wm-folders li[data-use=inbox] a").click()
    wait(browser, lambda d: [m.content.subject for m in messages_in(julie, "drafts")] == ["Écrit puis quitté"])


def test_drag_and_drop_move(browser, server):
    from academail.store.mailboxes import do_create_mailbox

    julie = person("Julie", "Martin")
    for subject in ("Sortie scolaire", "Budget", "Cantine"):
        deliver(julie, subject)
    projects = do_create_mailbox(julie.pk, "Projets")
    signed_in(browser, server, julie)
    rows = browser.find_elements(By.CSS_SELECTOR, ".wm-list tbody tr")
    assert all(r.get_attribute("draggable") == "true" for r in rows)
    # Two checked rows dragged together onto "Projets" (Selenium cannot drive
    # HTML5 drag-and-drop, so the browser's own DragEvents are dispatched).
    for subject in ("Cantine", "Budget"):
        row = next(r for r in rows if subject in r.text)
        row.find_element(By.CSS_SELECTOR, "input[name=uid]").click()
    js(browser, """
        var row = [...document.querySelectorAll('.wm-list tbody tr')].find(r => r.textContent.includes('Budget'));
        var target = document.querySelector('.wm-folders li[data-mailbox="' + arguments[0] + '"] a');
        var data = new DataTransfer();
        row.dispatchEvent(new DragEvent('dragstart', {dataTransfer: data, bubbles: true}));
        target.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
        target.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
    """, projects.pk)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".fr-alert--success"))
    assert sorted(m.content.subject for m in messages_in(julie, "inbox")) == ["Sortie scolaire"]
    from academail.store.models import Message

    assert sorted(Message.objects.filter(mailbox=projects).values_list("content__subject", flat=True)) == [
        "Budget", "Cantine"]


def test_new_mail_appears_live_with_the_count_in_the_title(browser, server):
    julie = person("Julie", "Martin")
    deliver(julie, "Déjà là")
    signed_in(browser, server, julie)
    wait(browser, lambda d: d.title.startswith("(1) Boîte de réception"))
    inbox = inbox_of(julie)
    deliver(julie, "Arrivé en direct")
    wait(browser, lambda d: "Arrivé en direct" in d.find_element(By.CSS_SELECTOR, ".wm-list").text)
    wait(browser, lambda d: d.title == "(2) Boîte de réception — academail")
    badge = browser.find_element(By.CSS_SELECTOR, f'.wm-folders li[data-mailbox="{inbox.pk}"] .wm-count')
    assert badge.text.startswith("2")
    # Reading it elsewhere (an IMAP client, another tab) lowers the count here too.
    from academail.store.messages import do_set_flags
    from academail.store.models import Flag

    do_set_flags(julie.pk, inbox.pk, [(1, 2)], mode="add", flags=Flag.SEEN)
    wait(browser, lambda d: d.title == "Boîte de réception — academail")
    assert not browser.find_elements(By.CSS_SELECTOR, f'.wm-folders li[data-mailbox="{inbox.pk}"] .wm-count')


AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
_RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                   iframes: false, resultTypes: ['violations']})
  .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                   .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))),
        e => done(['axe failed: ' + e]));
"""


def blocking_violations(browser) -> list[str]:
    assert AXE.exists(), f"{AXE} is missing: run `make node-deps` (npm ci in tests/e2e/axe)"
    if not js(browser, "return typeof window.axe === 'object'"):
        js(browser, AXE.read_text() + "\n;window.axe = axe;")
    browser.set_script_timeout(60)
    return browser.execute_async_script(_RUN_AXE)


def test_enhanced_states_pass_axe(browser, server):
    """The states only JavaScript creates: the shortcuts dialog open, the
    suggestions open, the rich-text editor on, files listed in the drop zone."""
    julie = person("Julie", "Martin")
    person("Hervé", "Le Guen")
    deliver(julie, "Pour l'audit")
    signed_in(browser, server, julie)
    browser.find_element(By.TAG_NAME, "body").click()
    press(browser, "j", "?")
    wait(browser, lambda d: js(d, "return document.getElementById('wm-shortcuts').open"))
    assert blocking_violations(browser) == []
    press(browser, Keys.ESCAPE)

    browser.get(server + "/courrier/ecrire/")
    to = browser.find_element(By.ID, "wm-to")
    to.send_keys("herve")
    wait(browser, lambda d: to.get_attribute("aria-expanded") == "true")
    to.send_keys(Keys.ARROW_DOWN)
    assert blocking_violations(browser) == []
    to.send_keys(Keys.ESCAPE)
    browser.find_element(By.ID, "wm-rich-toggle").click()
    js(browser, """
        var data = new DataTransfer(); data.items.add(new File(["x"], "note.txt", {type: "text/plain"}));
        document.getElementById("wm-dropzone").dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
    """)
    assert browser.find_elements(By.CSS_SELECTOR, ".wm-files li")
    assert blocking_violations(browser) == []
