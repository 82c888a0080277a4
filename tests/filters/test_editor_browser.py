"""The filter editor in headless Chromium on a 390x844 phone, as the issue's
"done when" asks: a new member of staff reaches it from the menu, writes
"Si l'objet contient réunion alors déplacer dans [Réunions ▾]" choosing the
folder from the list, tests that rule alone (the results show in its card),
saves, and finds the next meeting filed; a second rule files into a folder
created on the spot. On the way a condition line is added, then removed
again. Every control of a rule card is hit by a tap at its
centre (or, for a DSFR checkbox, its label), nothing scrolls sideways, and
the keyboard alone fills a rule."""

from __future__ import annotations

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from academail.store.mailboxes import do_create_mailbox, list_mailboxes
from tests.e2e.conftest import browser, deliver, make_person, page, phone, sign_in, wait_text  # noqa: F401
from tests.e2e.test_phone_layout import reachable
from tests.e2e.test_webmail_browser import _no_horizontal_scroll, message_from

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def hit_by_a_tap(driver, card) -> None:
    for control in card.find_elements(By.CSS_SELECTOR, "input:not([type=hidden]), select, button"):
        if control.get_attribute("type") == "checkbox":  # the DSFR draws the box in its label
            control = card.find_element(By.CSS_SELECTOR, f"label[for='{control.get_attribute('id')}']")
        reachable(driver, control, scroll=True)


def joining_word(line) -> str:
    """The word a condition line starts with, as shown ("ou si" / "et si")."""
    return line.parent.execute_script(
        "return [...arguments[0].querySelectorAll('span.flt-word')]"
        ".filter(w => getComputedStyle(w).display !== 'none').map(w => w.textContent).join(' ')", line)


def test_create_a_filter_on_a_phone_choosing_the_folder(phone, live_server):  # noqa: F811
    julie = make_person("Julie", "Martin")
    jean = make_person("Jean", "Dupont")
    do_create_mailbox(julie.pk, "Réunions")
    deliver(message_from(jean, julie, "Réunion de rentrée", "Jeudi.", message_id="<r1@ac-demo.fr>"), julie.address)
    deliver(message_from(jean, julie, "Menu de la cantine", "Frites.", message_id="<c1@ac-demo.fr>"), julie.address)
    sign_in(phone, live_server, julie.identifier)
    phone.find_element(By.CSS_SELECTOR, "summary.fr-nav__toggle").click()
    phone.find_element(By.LINK_TEXT, "Filtres et absence").click()
    wait_text(phone, "Nouvelle règle", css="#rule-0 h3")
    card = phone.find_element(By.ID, "rule-0")
    hit_by_a_tap(phone, card)
    _no_horizontal_scroll(phone)
    assert not phone.find_element(By.ID, "rule-0-stop").is_selected()  # off by default

    Select(phone.find_element(By.ID, "rule-0-field0")).select_by_visible_text("le sujet")
    phone.find_element(By.ID, "rule-0-value0").send_keys("réunion")
    folder = Select(phone.find_element(By.ID, "rule-0-folder"))
    assert "Réunions" in [o.text for o in folder.options] and "Corbeille" in [o.text for o in folder.options]
    folder.select_by_visible_text("Réunions")

    # One condition more, then one less: a plain post re-draws the form as typed,
    # the cursor in the new line; every new control is still hit by a tap.
    phone.find_element(By.CSS_SELECTOR, "#rule-0 button[value='addcond-0']").click()
    WebDriverWait(phone, 20).until(lambda d: d.find_elements(By.ID, "rule-0-value1"))
    assert phone.switch_to.active_element.get_attribute("id") == "rule-0-value1"
    assert phone.find_element(By.ID, "rule-0-value0").get_attribute("value") == "réunion"
    assert Select(phone.find_element(By.ID, "rule-0-folder")).first_selected_option.text == "Réunions"
    phone.switch_to.active_element.send_keys("cantine")
    hit_by_a_tap(phone, phone.find_element(By.ID, "rule-0"))
    _no_horizontal_scroll(phone)

    # A third line repeats the word chosen on line 2, and follows that choice
    # as it changes, before anything is posted.
    phone.find_element(By.CSS_SELECTOR, "#rule-0 button[value='addcond-0']").click()
    WebDriverWait(phone, 20).until(lambda d: d.find_elements(By.ID, "rule-0-value2"))
    third = phone.find_elements(By.CSS_SELECTOR, "#rule-0 .flt-line")[2]
    assert joining_word(third) == "ou si"
    Select(phone.find_element(By.ID, "rule-0-match")).select_by_visible_text("et si")
    assert joining_word(third) == "et si"
    Select(phone.find_element(By.ID, "rule-0-match")).select_by_visible_text("ou si")
    assert joining_word(third) == "ou si"
    phone.find_element(By.CSS_SELECTOR, "#rule-0 button[value='delcond-0-2']").click()
    WebDriverWait(phone, 20).until(lambda d: not d.find_elements(By.ID, "rule-0-value2"))
    phone.find_element(By.CSS_SELECTOR, "#rule-0 button[value='delcond-0-1']").click()
    WebDriverWait(phone, 20).until(lambda d: not d.find_elements(By.ID, "rule-0-value1"))
    assert phone.find_element(By.ID, "rule-0-value0").get_attribute("value") == "réunion"
    assert phone.switch_to.active_element.get_attribute("id") == "rule-0-value0"
    phone.find_element(By.CSS_SELECTOR, "#rule-0 button[value='test-0']").click()
    wait_text(phone, "Résultat du test", css="#rule-0")
    card = phone.find_element(By.ID, "rule-0")
    assert "Réunion de rentrée" in card.text and "déplacé dans « Réunions »" in card.text
    assert "Menu de la cantine" not in card.text
    _no_horizontal_scroll(phone)
    phone.find_element(By.CSS_SELECTOR, "main form button[value=save]").click()
    wait_text(phone, "Filtres enregistrés.")

    # A second rule, typed with the keyboard alone, into a folder created on the spot.
    field = phone.find_element(By.ID, "rule-1-value0")
    field.send_keys("cantine")
    phone.find_element(By.ID, "rule-1-folder").send_keys(Keys.TAB)  # from the list to the new folder's name
    assert phone.switch_to.active_element.get_attribute("id") == "rule-1-newfolder"
    phone.switch_to.active_element.send_keys("Cantine")
    phone.find_element(By.CSS_SELECTOR, "main form button[value=save]").click()
    wait_text(phone, "Filtres enregistrés.")
    assert "Cantine" in {m.name for m in list_mailboxes(julie.pk)}
    phone.find_element(By.CSS_SELECTOR, "#wm-drawer > summary").click()
    wait_text(phone, "Cantine", css="nav.wm-folders")

    deliver(message_from(jean, julie, "Réunion du conseil", "Mardi.", message_id="<r2@ac-demo.fr>"), julie.address)
    reunions = next(m for m in list_mailboxes(julie.pk) if m.name == "Réunions")
    phone.get(live_server.url + reverse("webmail:folder", args=[reunions.pk]))
    wait_text(phone, "Réunion du conseil", css=".wm-list")
