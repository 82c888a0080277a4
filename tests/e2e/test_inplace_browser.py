"""List actions update the list in place (issue 20, performance): with the
script, "Supprimer" on checked messages swaps the list and the notice in
without loading a page (a marker set on the window survives, the address
stays), the folder pane keeps its state and focus lands on the notice;
without the script the same form still posts and reloads (the other
webmail browser tests, and tests/webmail, cover that path)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import fill_demo_mailbox, make_person, sign_in, wait_text

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
