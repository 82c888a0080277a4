"""Functional mailboxes in a real browser (issue 19), at desktop and phone
size, with axe: the secretariat creates the school's mailbox with a member;
the member finds it in the mailbox switcher with its unread count, reads a
parent's message in it and answers from the school's address."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import make_person, sign_in, wait_text
from tests.e2e.pagechecks import PageChecks, click, no_horizontal_scroll

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCHOOL_ADDRESS = "ce.0341234x@ac-demo.fr"


def _open_drawer(driver) -> None:
    """On a phone the folders and the switcher are in the drawer."""
    summary = driver.find_element(By.CSS_SELECTOR, "#wm-drawer > summary")
    if summary.is_displayed() and driver.find_element(By.ID, "wm-drawer").get_attribute("open") is None:
        summary.click()


def test_create_then_read_and_answer_from_the_switcher(screen, live_server, axe_source):
    from academail.accounts.models import Role
    from academail.store.messages import special_mailbox
    from tests.imap.helpers import deliver_to

    secretary = make_person("Nadia", "Secretaire")
    secretary.role = Role.SECRETARIAT
    secretary.save()
    member = make_person("Sophie", "Leroy")
    parent = make_person("Claire", "Parent")
    checks = PageChecks(screen, axe_source)

    # The secretariat creates the mailbox in the browser.
    sign_in(screen, live_server, secretary.identifier)
    screen.get(live_server.url + "/courrier/partage/")
    click(screen, screen.find_element(By.LINK_TEXT, "Créer ou importer des boîtes fonctionnelles"))
    WebDriverWait(screen, 20).until(EC.presence_of_element_located((By.ID, "fn-uai")))
    checks("création")
    screen.find_element(By.ID, "fn-uai").send_keys("0341234X")
    screen.find_element(By.ID, "fn-name").send_keys("Collège Jean Moulin")
    screen.find_element(By.ID, "fn-members").send_keys(member.identifier)
    click(screen, screen.find_element(By.CSS_SELECTOR, "button[value=create]"))
    wait_text(screen, SCHOOL_ADDRESS, timeout=20, css="main")
    wait_text(screen, "Sophie Leroy", timeout=20, css="#fm-members")
    checks("membres")

    from academail.accounts.models import Account

    box = Account.objects.get(address=SCHOOL_ADDRESS)
    deliver_to(box, subject="Absence de mon fils", sender=parent.address)

    # The member: the switcher shows the school's mailbox and its unread count.
    sign_in(screen, live_server, member.identifier)
    _open_drawer(screen)
    switch = WebDriverWait(screen, 20).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, f'.wm-switcher [data-owner="{box.pk}"] a')))
    assert "Collège Jean Moulin" in switch.text and "1" in switch.text
    checks("sélecteur")
    click(screen, switch)
    wait_text(screen, "Absence de mon fils", timeout=20, css="main")
    no_horizontal_scroll(screen)
    click(screen, screen.find_element(By.PARTIAL_LINK_TEXT, "Absence de mon fils"))
    wait_text(screen, "Absence de mon fils", timeout=20, css="main h1")
    assert special_mailbox(box.pk, "inbox").unseen == 0
    checks("lecture")
    reply = screen.find_element(By.CSS_SELECTOR, "a[href*='mode=reply']")
    click(screen, reply)
    sender = WebDriverWait(screen, 20).until(EC.presence_of_element_located((By.ID, "wm-from")))
    assert sender.get_attribute("value") == SCHOOL_ADDRESS
    checks("réponse")
    body = screen.find_element(By.ID, "wm-body")
    body.send_keys("Bien noté, merci.")
    click(screen, screen.find_element(By.CSS_SELECTOR, "#wm-compose button[type=submit]:not([name])"))
    wait_text(screen, "Message envoyé", timeout=20)
    assert special_mailbox(box.pk, "sent").messages == 1
    checks.assert_clean()


def test_share_a_folder_then_the_colleague_opens_it(screen, live_server, axe_source):
    from selenium.webdriver.support.ui import Select

    from academail.store.mailboxes import do_create_mailbox
    from academail.store.messages import special_mailbox
    from academail.store.webmail import do_message_action
    from tests.imap.helpers import deliver_to

    owner = make_person("Claire", "Dumas")
    colleague = make_person("Hugo", "Petit")
    folder = do_create_mailbox(owner.pk, "Conseils de classe")
    deliver_to(owner, subject="Conseil de classe de 3eB")
    do_message_action(owner.pk, special_mailbox(owner.pk, "inbox").pk, [1], "move", target_id=folder.pk)
    checks = PageChecks(screen, axe_source)

    sign_in(screen, live_server, owner.identifier)
    screen.get(live_server.url + "/courrier/partage/")
    Select(screen.find_element(By.ID, "sh-mailbox")).select_by_visible_text("Conseils de classe")
    screen.find_element(By.ID, "sh-identifier").send_keys(colleague.identifier)
    click(screen, screen.find_element(By.CSS_SELECTOR, "label[for=sh-level-read]"))  # the DSFR draws the radio in its label
    click(screen, screen.find_element(By.CSS_SELECTOR, "#sh-share button[value=share]"))
    wait_text(screen, "« Conseils de classe » avec Hugo Petit", timeout=20, css="#sh-shares")
    checks("partage")

    sign_in(screen, live_server, colleague.identifier)
    _open_drawer(screen)
    switch = WebDriverWait(screen, 20).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, f'.wm-switcher [data-owner="{owner.pk}"] a')))
    assert "Claire Dumas" in switch.text
    click(screen, switch)
    wait_text(screen, "Conseil de classe de 3eB", timeout=20, css="main")
    _open_drawer(screen)
    listed = screen.find_elements(By.CSS_SELECTOR, f'.wm-folders [data-mailbox="{folder.pk}"]')
    assert listed and len(screen.find_elements(By.CSS_SELECTOR, ".wm-folders li")) == 1  # only the shared folder
    checks("dossier partagé")
    checks.assert_clean()


def test_live_state_and_quick_search_follow_the_shared_mailbox(page, live_server):
    """Opening the school's mailbox from the switcher (in place, issue 20):
    the page then asks the live state of that mailbox (?proprietaire=) and
    the quick search searches it (the hidden "boite" field)."""
    from academail.accounts.services import check_create_functional_account
    from academail.store import acl
    from tests.imap.helpers import deliver_to

    member = make_person("Sophie", "Leroy")
    box = check_create_functional_account(name="Collège Jean Moulin", address=SCHOOL_ADDRESS)
    acl.do_grant(box.pk, member.pk, acl.preset_rights(["read", "mark"]))
    deliver_to(box, subject="Absence de mon fils")
    deliver_to(member, subject="Réunion de l'équipe")
    sign_in(page, live_server, member.identifier)
    assert not page.find_elements(By.CSS_SELECTOR, "form.wm-search input[name=boite]")
    click(page, page.find_element(By.CSS_SELECTOR, f'.wm-switcher [data-owner="{box.pk}"] a'))
    wait_text(page, "Absence de mon fils", timeout=20, css="main")
    field = WebDriverWait(page, 20).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "form.wm-search input[name=boite]")))
    assert field.get_attribute("value") == str(box.pk)
    WebDriverWait(page, 20).until(lambda d: d.execute_script(
        "return performance.getEntriesByType('resource').some(e => e.name.indexOf('proprietaire=' + arguments[0]) >= 0)",
        box.pk,
    ))
    search = page.find_element(By.ID, "wm-q")
    search.send_keys("absence")
    search.submit()
    wait_text(page, "Absence de mon fils", timeout=20, css="main .wm-list")
    assert "Réunion de l'équipe" not in page.find_element(By.CSS_SELECTOR, "main").text
