"""The webmail without page loads (issue 20, performance).

List actions: with the script, "Supprimer" on checked messages swaps the list
and the notice in without loading a page (a marker set on the window
survives, the address stays), the folder pane keeps its state and focus lands
on the notice.

Navigation: opening a message, "Retour au dossier", the next page, a search
and another folder are fetched as fragments and swapped in, with the history
(Back, Forward), the title, focus on the new heading and an announcement.

Without the script the same links and forms load whole pages (the other
webmail browser tests, and tests/webmail, cover that path; the fragments
themselves are in tests/webmail/test_fragments.py)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import fill_demo_mailbox, make_person, sign_in, wait_text
from tests.e2e.pagechecks import audit, report

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_delete_and_flag_without_a_page_load(page, live_server):
    julie = make_person("Julie", "Martin")
    fill_demo_mailbox(julie, [make_person("Jean", "Dupont")], count=10)
    sign_in(page, live_server, julie.identifier)
    address = page.current_url
    page.execute_script("window.__samePage = 1;")
    rows = page.find_elements(By.CSS_SELECTOR, ".wm-list tbody tr[data-uid]")
    first, second = rows[0].get_attribute("data-uid"), rows[1].get_attribute("data-uid")
    page.find_element(By.ID, f"sel-{first}").click()
    page.find_element(By.CSS_SELECTOR, "#wm-bulk button[value=delete]").click()
    wait_text(page, "Supprimé.", css=".fr-messages")
    WebDriverWait(page, 10).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, f".wm-list tbody tr[data-uid='{first}']"))
    assert page.execute_script("return window.__samePage") == 1, "the page was loaded again"
    assert page.current_url == address
    assert page.execute_script("return document.activeElement.classList.contains('fr-messages')")

    # The swapped-in list works the same way again.
    page.find_element(By.ID, f"sel-{second}").click()
    page.find_element(By.CSS_SELECTOR, "#wm-bulk button[value=flag]").click()
    wait_text(page, "Suivi activé.", css=".fr-messages")
    WebDriverWait(page, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f".wm-list tbody tr[data-uid='{second}'] .wm-mark--flag"))
    assert page.execute_script("return window.__samePage") == 1


def _inbox_of(account, count: int, subject: str = "Circulaire de rentrée") -> int:
    """``count`` copies of one message in the account's INBOX (one store call)."""
    from django.db import transaction

    from academail.store.messages import Placement, do_store, inbox_ids, prepare_content
    from tests.conftest import build_message

    box = inbox_ids([account.pk])[account.pk]
    with transaction.atomic():
        do_store(prepare_content(build_message(subject=subject, body="Le conseil se réunit jeudi.")),
                 [Placement(account.pk, box)] * count)
    return box


def _swapped(page, css: str):
    """Wait until the reading region is a new one holding ``css`` (the old one was marked)."""
    WebDriverWait(page, 10).until(lambda d: d.execute_script(
        "var m = document.querySelector('.wm-main');"
        "return m !== null && !m.hasAttribute('data-old') && m.querySelector(arguments[0]) !== null", css))


def _mark(page):
    page.execute_script("document.querySelector('.wm-main').setAttribute('data-old', '');")


def test_navigation_in_place_with_history_focus_and_announcement(page, live_server, axe_source):
    """Open a message, go back to the list, page, search, switch folder: each
    swaps the region in (no page load), puts the address in the history, sets
    the title, focuses the new heading and announces it; Back and Forward swap
    again; the swapped-in pages are axe-clean."""
    from selenium.webdriver.common.keys import Keys

    julie = make_person("Julie", "Martin")
    inbox = _inbox_of(julie, 55)
    sign_in(page, live_server, julie.identifier)
    list_url = page.current_url
    page.execute_script("window.__samePage = 1;")
    found = {}

    def focused_heading() -> str:
        return page.execute_script(
            "var a = document.activeElement; return a && a.tagName === 'H1' ? a.textContent.replace(/\\s+/g, ' ').trim() : ''")

    unread_before = page.find_element(By.CSS_SELECTOR, f".wm-folders li[data-mailbox='{inbox}'] .wm-count").text
    _mark(page)
    page.find_element(By.CSS_SELECTOR, ".wm-list__subject a").click()
    _swapped(page, "h1#wm-subject")
    message_url = page.current_url
    assert "/courrier/message/" in message_url
    assert page.title == "Circulaire de rentrée — academail"
    assert focused_heading() == "Circulaire de rentrée"
    assert page.find_element(By.ID, "wm-live-region").get_attribute("textContent") == "Circulaire de rentrée"
    # Opening marked it read: the pane came with the fragment.
    unread_after = page.find_element(By.CSS_SELECTOR, f".wm-folders li[data-mailbox='{inbox}'] .wm-count").text
    assert int(unread_after.split()[0]) == int(unread_before.split()[0]) - 1
    if violations := audit(page, axe_source):
        found["message en place"] = violations

    _mark(page)
    page.find_element(By.LINK_TEXT, "← Retour au dossier").click()
    _swapped(page, ".wm-list tbody tr")
    assert page.current_url == list_url
    assert focused_heading().startswith("Boîte de réception")

    _mark(page)
    page.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
    _swapped(page, ".wm-list tbody tr")
    assert "avant=" in page.current_url
    assert len(page.find_elements(By.CSS_SELECTOR, ".wm-list tbody tr")) == 5
    if violations := audit(page, axe_source):
        found["page suivante en place"] = violations

    # Back: the first page again, then the message (history kept in place).
    _mark(page)
    page.back()
    _swapped(page, ".wm-list tbody tr")
    assert page.current_url == list_url
    assert len(page.find_elements(By.CSS_SELECTOR, ".wm-list tbody tr")) == 50
    _mark(page)
    page.back()
    _swapped(page, "h1#wm-subject")
    assert page.current_url == message_url and page.title == "Circulaire de rentrée — academail"
    _mark(page)
    page.forward()
    _swapped(page, ".wm-list tbody tr")
    assert page.current_url == list_url

    _mark(page)
    page.find_element(By.ID, "wm-q").send_keys("conseil" + Keys.ENTER)
    _swapped(page, ".wm-list tbody tr")
    assert "/courrier/recherche/?q=conseil" in page.current_url
    assert page.title == "Recherche — academail"
    assert focused_heading() == "Recherche : « conseil »"
    if violations := audit(page, axe_source):
        found["recherche en place"] = violations

    _mark(page)
    page.find_element(By.CSS_SELECTOR, ".wm-folders li[data-use=trash] a").click()
    _swapped(page, "h1")
    assert page.title == "Corbeille — academail"
    assert page.find_element(By.CSS_SELECTOR, ".wm-folders li[data-use=trash] a").get_attribute("aria-current") == "page"
    assert page.execute_script("return window.__samePage") == 1, "a page was loaded"
    assert not found, "\n" + report(found)

    # A reload of an address reached in place is the whole page.
    page.refresh()
    WebDriverWait(page, 10).until(lambda d: d.execute_script("return window.__samePage === undefined"))
    assert page.find_elements(By.CSS_SELECTOR, "header.fr-header")
    assert page.find_element(By.CSS_SELECTOR, ".wm-main h1").text.startswith("Corbeille")
