"""The phone-first webmail (issue 20), measured in headless Chromium at
390x844: a compact header, "Écrire" and search at the top, the folders in a
drawer, the first messages within the top 300 px of the inbox, the actions in
menus and a message's body on the first screen. The same pages at 1366x900
keep the side column and every action in view.

Positions come from ``getBoundingClientRect`` after the page has loaded, with
the page scrolled to the top; a control counts as reachable when
``elementFromPoint`` at its centre is the control itself (or inside it)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import fill_demo_mailbox, make_person, sign_in, wait_text
from tests.e2e.test_webmail_browser import _no_horizontal_scroll, message_from

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE_HEIGHT = 844


@pytest.fixture
def desktop(page):
    page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                         {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    yield page
    page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.fixture
def julie(page):
    julie = make_person("Julie", "Martin")
    jean = make_person("Jean", "Dupont")
    fill_demo_mailbox(julie, [jean], count=24)
    from tests.e2e.conftest import deliver

    body = "Bonjour Julie,\n\nLe conseil pédagogique aura lieu jeudi à 17 h en salle 12.\n\nJean"
    deliver(message_from(jean, julie, "Conseil pédagogique de jeudi", body, message_id="<phone@ac-demo.fr>",
                         date="Mon, 07 Dec 2026 08:00:00 +0100"), julie.address)
    return julie


def top(driver, element) -> float:
    return float(driver.execute_script("window.scrollTo(0, 0); return arguments[0].getBoundingClientRect().top;", element))


def bottom(driver, element) -> float:
    return float(driver.execute_script("window.scrollTo(0, 0); return arguments[0].getBoundingClientRect().bottom;",
                                       element))


def reachable(driver, element, *, scroll: bool = False) -> None:
    """A tap at the centre of ``element`` lands on it: page at the top, or with
    ``scroll`` once scrolled into view (inside an open menu, say)."""
    hit = driver.execute_script(
        "if (arguments[1]) { arguments[0].scrollIntoView({block: 'center'}); } else { window.scrollTo(0, 0); }"
        "var r = arguments[0].getBoundingClientRect();"
        "if (!arguments[0].checkVisibility() || r.width === 0 || r.height === 0) { return 'not displayed'; }"
        "var e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        "return e && (e === arguments[0] || arguments[0].contains(e)) ? null : (e ? e.outerHTML.slice(0, 160) : 'nothing');",
        element, scroll)
    assert hit is None, f"{element.text or element.get_attribute('outerHTML')[:80]!r} is covered by {hit}"


def folder_link(driver, label: str):
    return driver.find_element(By.XPATH, f"//nav[@class='wm-folders']//a[.//span[normalize-space()='{label}']]")


def shown(driver, element) -> bool:
    """Rendered with a size: ``checkVisibility`` knows a closed <details> hides its content
    (Selenium's is_displayed counts its deeper descendants as shown)."""
    return bool(driver.execute_script(
        "var r = arguments[0].getBoundingClientRect();"
        "return arguments[0].checkVisibility({visibilityProperty: true}) && r.width > 0 && r.height > 0;", element))


def test_inbox_on_a_phone(phone, live_server, julie):
    sign_in(phone, live_server, julie.identifier)
    header = phone.find_element(By.CSS_SELECTOR, "header.fr-header")
    assert bottom(phone, header) <= 80, "the header should be compact on a phone"
    write = phone.find_element(By.LINK_TEXT, "Écrire un message")
    search = phone.find_element(By.ID, "wm-q")
    for control in (write, search, phone.find_element(By.CSS_SELECTOR, "summary.fr-nav__toggle")):
        assert bottom(phone, control) <= 200
        reachable(phone, control)
    first = phone.find_element(By.CSS_SELECTOR, ".wm-list tbody tr")
    assert top(phone, first) < 300, "the first message should start within the top 300 px"
    assert "Conseil pédagogique de jeudi" in first.text
    _no_horizontal_scroll(phone)

    # The folders are in a drawer: closed, then opened over the list.
    drafts = folder_link(phone, "Brouillons")
    assert not shown(phone, drafts)
    drawer = phone.find_element(By.CSS_SELECTOR, "#wm-drawer > summary")
    assert top(phone, drawer) < 200
    drawer.click()
    WebDriverWait(phone, 10).until(lambda d: shown(d, drafts))
    reachable(phone, drafts)
    # Escape closes it and gives the focus back to its button.
    drafts.send_keys(Keys.ESCAPE)
    WebDriverWait(phone, 10).until(lambda d: not shown(d, drafts))
    assert phone.switch_to.active_element == drawer
    drawer.click()
    WebDriverWait(phone, 10).until(lambda d: shown(d, drafts))
    drafts.click()
    wait_text(phone, "Brouillons", css="main h1")
    _no_horizontal_scroll(phone)


def test_bulk_actions_are_a_menu_on_a_phone(phone, live_server, julie):
    sign_in(phone, live_server, julie.identifier)
    delete = phone.find_element(By.CSS_SELECTOR, "#wm-bulk button[value=delete]")
    assert not shown(phone, delete)
    box = phone.find_element(By.CSS_SELECTOR, ".wm-list tbody tr input[name=uid]")
    uid = box.get_attribute("value")
    box.click()
    phone.find_element(By.CSS_SELECTOR, "#wm-bulk summary").click()
    WebDriverWait(phone, 10).until(lambda d: shown(d, delete))
    reachable(phone, delete)
    delete.click()
    wait_text(phone, "Supprimé.", css=".fr-messages")
    assert not phone.find_elements(By.CSS_SELECTOR, f".wm-list tbody tr[data-uid='{uid}']")


def test_message_body_on_the_first_screen_of_a_phone(phone, live_server, julie):
    sign_in(phone, live_server, julie.identifier)
    phone.find_element(By.PARTIAL_LINK_TEXT, "Conseil pédagogique de jeudi").click()
    wait_text(phone, "Conseil pédagogique de jeudi", css="h1#wm-subject")
    body = phone.find_element(By.CSS_SELECTOR, ".wm-text")
    # The body starts on the first screen with room for several lines of it.
    assert top(phone, body) + 120 <= PHONE_HEIGHT, top(phone, body)
    assert "salle 12" in body.text
    reply = phone.find_element(By.LINK_TEXT, "Répondre")
    reachable(phone, reply)
    _no_horizontal_scroll(phone)

    # Everything else is in "Plus d'actions".
    delete = phone.find_element(By.CSS_SELECTOR, ".wm-actions button[value=delete]")
    assert not shown(phone, delete)
    more = phone.find_element(By.XPATH, "//summary[normalize-space()=\"Plus d'actions\"]")
    reachable(phone, more)
    more.click()
    WebDriverWait(phone, 10).until(lambda d: shown(d, delete))
    for button in phone.find_elements(By.CSS_SELECTOR, ".wm-menu__body button, .wm-menu__body a"):
        reachable(phone, button, scroll=True)
    _no_horizontal_scroll(phone)
    # A tap elsewhere closes the menu.
    phone.find_element(By.CSS_SELECTOR, "h1#wm-subject").click()
    WebDriverWait(phone, 10).until(lambda d: not shown(d, delete))
    more.click()
    WebDriverWait(phone, 10).until(lambda d: shown(d, delete))
    delete.click()
    wait_text(phone, "Supprimé.", css=".fr-messages")


def test_desktop_keeps_the_side_column_and_every_action(desktop, live_server, julie):
    sign_in(desktop, live_server, julie.identifier)
    drafts = folder_link(desktop, "Brouillons")
    assert shown(desktop, drafts) and drafts.is_displayed()
    assert not desktop.find_element(By.CSS_SELECTOR, "#wm-drawer > summary").is_displayed()
    reachable(desktop, drafts)
    main = desktop.find_element(By.CSS_SELECTOR, ".wm-main")
    assert drafts.rect["x"] + drafts.rect["width"] <= main.rect["x"], "the folders are a column left of the list"
    assert top(desktop, desktop.find_element(By.CSS_SELECTOR, ".wm-list tbody tr")) < 700
    for value in ("seen", "delete", "move"):
        reachable(desktop, desktop.find_element(By.CSS_SELECTOR, f"#wm-bulk button[value={value}]"))
    assert not desktop.find_element(By.CSS_SELECTOR, "#wm-bulk summary").is_displayed()
    nav = desktop.find_element(By.CSS_SELECTOR, "nav[aria-label='Menu principal']")
    reachable(desktop, nav.find_element(By.LINK_TEXT, "Filtres et absence"))

    desktop.find_element(By.PARTIAL_LINK_TEXT, "Conseil pédagogique de jeudi").click()
    wait_text(desktop, "Conseil pédagogique de jeudi", css="h1#wm-subject")
    for text in ("Répondre", "Transférer", "Transférer en pièce jointe"):
        reachable(desktop, desktop.find_element(By.LINK_TEXT, text))
    for value in ("unseen", "flag", "junk", "delete", "move"):
        reachable(desktop, desktop.find_element(By.CSS_SELECTOR, f".wm-actions button[value={value}]"))
    assert top(desktop, desktop.find_element(By.CSS_SELECTOR, ".wm-text")) < 900
    assert desktop.execute_script("return document.scrollingElement.scrollWidth <= window.innerWidth")
