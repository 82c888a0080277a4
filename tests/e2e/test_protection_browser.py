"""Issue 13's "Done when", in Chromium, with no other service running:
- a look-alike "assistance" mail asking for the NUMEN shows a clear red
  warning ("Pourquoi ?" explains), and its link opens the interstitial page;
- GTUBE and a reported sender's next mail land in Indésirables;
- a colleague's mail shows nothing;
- the security team sees the report as a campaign and pulls it from every
  mailbox.
Then axe-core on the pages protection adds (the warnings, the interstitial,
the campaigns page, the list's report button, the download confirmation),
on a desktop and a phone. Also: "Signaler un hameçonnage" on the messages
selected in the list, and the confirmation before a dangerous download."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from academail.delivery.route import deliver
from academail.protection.spam import GTUBE
from academail.store.models import Message
from tests.conftest import build_message
from tests.e2e.conftest import make_person, sign_in, wait_text
from tests.e2e.pagechecks import audit, report
from tests.protection.test_download_check import with_files
from tests.protection.test_warnings_webmail import REPLY

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CORPUS = Path(__file__).resolve().parent.parent / "data" / "protection"
LURE = (CORPUS / "lure-assistance-numen.eml").read_bytes()
MX_AUTH = b"Authentication-Results: localhost;\r\n\tspf=pass smtp.mailfrom=assistance@ac-dem0.fr;\r\n\tdkim=none;\r\n\tdmarc=none header.from=ac-dem0.fr\r\n"


def inbound(raw: bytes, *addresses: str, prefix: bytes = MX_AUTH) -> None:
    """As the MX delivers: screened, with its Authentication-Results."""
    outcomes = deliver(raw, list(addresses), prefix=prefix, screen=True)
    assert all(getattr(o, "delivered", False) for o in outcomes), outcomes


def open_subject(driver, live_server, account, subject: str) -> None:
    message = Message.objects.filter(mailbox__account=account, content__subject=subject).latest("pk")
    driver.get(f"{live_server.url}/courrier/message/{message.mailbox_id}/{message.uid}/")


def test_done_when(page, live_server, settings):
    julie, paul = make_person("Julie", "Martin"), make_person("Paul", "Durand")
    team = make_person("Equipe", "Securite")
    team.role = "security"
    team.save()
    settings.PHISHING_REPORT_ADDRESS = team.address
    inbound(LURE, julie.address, paul.address)
    inbound(build_message(subject="Test GTUBE", body=GTUBE, sender="x@offres.example", to=julie.address),
            julie.address, prefix=b"")
    deliver(build_message(subject="Conseil de classe 3eB", sender=paul.address, to=julie.address), [julie.address])

    sign_in(page, live_server, julie.identifier)
    # The lure: a clear red warning, explained.
    open_subject(page, live_server, julie, "Votre boîte aux lettres est pleine")
    alert = page.find_element(By.CSS_SELECTOR, ".prot-warnings .fr-alert--error")
    assert "hameçonnage" in alert.text
    page.find_element(By.CSS_SELECTOR, ".prot-why summary").click()
    wait_text(page, "ressemble à ac-demo.fr", css=".prot-why")
    # Its link, in the sandboxed frame, opens the interstitial page first.
    page.switch_to.frame(page.find_element(By.CSS_SELECTOR, "iframe.wm-frame"))
    link = page.find_element(By.CSS_SELECTOR, "a")
    assert "/courrier/protection/quitter/" in link.get_attribute("href")
    before = set(page.window_handles)
    link.click()
    page.switch_to.default_content()
    new = [h for h in page.window_handles if h not in before]
    assert new, "the link opened no page"
    page.switch_to.window(new[0])
    wait_text(page, "Vous allez quitter la messagerie vers ac-dem0.fr.verif-compte.example")
    wait_text(page, "https://ac-dem0.fr.verif-compte.example/login")
    page.close()
    page.switch_to.window(list(before)[0])

    # "Signaler un hameçonnage": to Indésirables, with GTUBE.
    page.find_element(By.ID, "prot-report").click()
    wait_text(page, "signalé à l'équipe sécurité")
    junk = Message.objects.filter(mailbox__account=julie, mailbox__special_use="junk")
    assert set(junk.values_list("content__subject", flat=True)) == {"Test GTUBE", "Votre boîte aux lettres est pleine"}
    # The reported sender's next mail lands in Indésirables too.
    inbound(LURE.replace(b"Votre bo=C3=AEte aux lettres est pleine", b"Rappel").replace(
        b"Subject: Votre bo", b"Subject: Rappel : bo"), julie.address)
    assert Message.objects.filter(mailbox__account=julie).latest("pk").mailbox.special_use == "junk"

    # A colleague's mail shows nothing.
    open_subject(page, live_server, julie, "Conseil de classe 3eB")
    wait_text(page, "Conseil de classe 3eB", css="h1")
    assert not page.find_elements(By.CSS_SELECTOR, ".prot-warnings")

    # The security team sees the campaign and pulls it from every mailbox.
    sign_in(page, live_server, team.identifier)
    page.get(live_server.url + "/courrier/protection/campagnes/")
    row = page.find_element(By.CSS_SELECTOR, "tr.prot-campaign")
    assert "assistance@ac-dem0.fr" in row.text
    assert row.find_element(By.CSS_SELECTOR, ".prot-mailboxes").text == "2"
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(page, "Campagne retirée")
    assert not Message.objects.filter(content__from_addr="assistance@ac-dem0.fr",
                                      mailbox__account__in=[julie, paul]).exists()


def test_the_conversation_view_shows_each_messages_warnings(page, live_server, axe_source):
    julie = make_person("Julie", "Martin")
    inbound(LURE, julie.address)
    deliver(REPLY, [julie.address])
    lure = Message.objects.select_related("content").get(mailbox__account=julie, content__subject__startswith="Votre")
    sign_in(page, live_server, julie.identifier)
    page.get(f"{live_server.url}/courrier/dossier/{lure.mailbox_id}/conversation/{lure.content.thread_key}/")
    first, second = page.find_elements(By.CSS_SELECTOR, "article.wm-message")
    alert = first.find_element(By.CSS_SELECTOR, ".prot-warnings .fr-alert--error")
    assert "hameçonnage" in alert.text
    first.find_element(By.CSS_SELECTOR, ".prot-why summary").click()
    wait_text(page, "ressemble à ac-demo.fr", css=".prot-why")
    assert not second.find_elements(By.CSS_SELECTOR, ".prot-warnings")  # the colleague's answer
    # The lure's link, in its frame, goes through the interstitial page.
    page.switch_to.frame(first.find_element(By.CSS_SELECTOR, "iframe.wm-frame"))
    assert "/courrier/protection/quitter/" in page.find_element(By.CSS_SELECTOR, "a").get_attribute("href")
    page.switch_to.default_content()
    found = {"conversation": audit(page, axe_source)}
    assert not any(found.values()), report(found)


def test_report_the_selection_from_the_list(page, live_server, settings):
    """In the message list, "Signaler un hameçonnage" reports the checked
    messages only, and they leave the inbox for Indésirables."""
    julie, paul = make_person("Julie", "Martin"), make_person("Paul", "Durand")
    settings.PHISHING_REPORT_ADDRESS = paul.address
    inbound(LURE, julie.address)
    inbound(LURE.replace(b"Votre bo=C3=AEte aux lettres est pleine", b"Rappel").replace(
        b"Subject: Votre bo", b"Subject: Rappel : bo"), julie.address)
    deliver(build_message(subject="Conseil de classe 3eB", sender=paul.address, to=julie.address), [julie.address])
    lures = Message.objects.filter(mailbox__account=julie, content__from_addr="assistance@ac-dem0.fr")
    inbox = lures.first().mailbox_id
    sign_in(page, live_server, julie.identifier)
    page.get(f"{live_server.url}/courrier/dossier/{inbox}/")
    wait_text(page, "Conseil de classe 3eB", timeout=30)
    for message in lures:
        page.find_element(By.ID, f"sel-{message.uid}").click()
    page.find_element(By.ID, "prot-report-selected").click()
    wait_text(page, "2 messages ont été signalés à l'équipe sécurité", timeout=30)
    assert "Conseil de classe 3eB" in page.find_element(By.TAG_NAME, "main").text
    assert not Message.objects.filter(mailbox_id=inbox, content__from_addr="assistance@ac-dem0.fr").exists()
    assert Message.objects.filter(mailbox__account=julie, mailbox__special_use="junk").count() == 2
    assert Message.objects.filter(mailbox__account=paul, content__subject__startswith="Signalement").count() == 2


def test_a_dangerous_attachment_asks_before_downloading(page, live_server, tmp_path):
    """The archive holding a program opens the confirmation page (French,
    with the help article); "Ne pas télécharger" goes back; "Télécharger
    quand même" saves the file."""
    julie = make_person("Julie", "Martin")
    inbound(with_files(julie.address), julie.address)
    page.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    sign_in(page, live_server, julie.identifier)
    open_subject(page, live_server, julie, "Votre facture")
    wait_text(page, "documents.zip", timeout=30, css="section.wm-attachments")
    assert [a.text for a in page.find_elements(By.CSS_SELECTOR, "a.wm-att-risky")] == ["facture.pdf.exe", "documents.zip"]
    page.find_element(By.LINK_TEXT, "documents.zip").click()
    wait_text(page, "Ce fichier peut être dangereux", timeout=30, css="h1")
    assert "contient installer.scr" in page.find_element(By.TAG_NAME, "main").text
    assert page.find_elements(By.CSS_SELECTOR, "main a[href$='/aide/indesirables-et-hameconnage/']")
    page.find_element(By.ID, "wm-download-back").click()
    wait_text(page, "Votre facture", timeout=30, css="h1")
    assert not list(tmp_path.iterdir())
    page.find_element(By.LINK_TEXT, "documents.zip").click()
    wait_text(page, "Ce fichier peut être dangereux", timeout=30, css="h1")
    page.find_element(By.ID, "wm-download-confirm").click()
    saved = tmp_path / "documents.zip"
    WebDriverWait(page, 60, poll_frequency=0.2).until(lambda _: saved.exists() and saved.stat().st_size > 0)
    assert saved.read_bytes().startswith(b"PK")


@pytest.mark.parametrize("viewport", [(1366, 900), (390, 844)])
def test_protection_pages_are_accessible(page, live_server, settings, viewport, axe_source):
    source = axe_source
    julie = make_person("Julie", "Martin")
    julie.role = "security"
    julie.save()
    settings.PHISHING_REPORT_ADDRESS = julie.address
    inbound(LURE, julie.address)
    width, height = viewport
    page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                         {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    try:
        sign_in(page, live_server, julie.identifier)
        found: dict[str, list[dict]] = {}
        open_subject(page, live_server, julie, "Votre boîte aux lettres est pleine")
        found["message"] = audit(page, source)
        assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.switch_to.frame(page.find_element(By.CSS_SELECTOR, "iframe.wm-frame"))
        leave = page.find_element(By.CSS_SELECTOR, "a").get_attribute("href")
        page.switch_to.default_content()
        page.get(leave)
        found["quitter"] = audit(page, source)
        assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        from academail.protection.reports import check_report

        reported = Message.objects.get(mailbox__account=julie)
        check_report(julie, reported.mailbox_id, reported.uid)  # a campaign row to audit
        page.get(live_server.url + "/courrier/protection/campagnes/")
        assert page.find_elements(By.CSS_SELECTOR, "tr.prot-campaign")
        found["campagnes"] = audit(page, source)
        # The list with its report button, and a dangerous file's confirmation page.
        inbound(with_files(julie.address), julie.address)
        files = Message.objects.filter(mailbox__account=julie, content__subject="Votre facture").latest("pk")
        page.get(f"{live_server.url}/courrier/dossier/{files.mailbox_id}/")
        assert page.find_elements(By.ID, "prot-report-selected")
        found["dossier"] = audit(page, source)
        open_subject(page, live_server, julie, "Votre facture")
        page.find_element(By.LINK_TEXT, "facture.pdf.exe").click()
        wait_text(page, "Ce fichier peut être dangereux", timeout=30, css="h1")
        found["telechargement"] = audit(page, source)
        assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert not any(found.values()), report(found)
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
