"""Downloading a program, a script, an Office file with macros or an
archive holding a program first shows what it is, in plain French with the
help article, and asks for confirmation (a CSRF-checked POST); a harmless
file downloads at once. The reading pane marks those files and gives their
links no ``download`` attribute, so the browser opens the confirmation page
instead of saving it."""

from __future__ import annotations

import io
import re
import zipfile
from email.message import EmailMessage
from email.policy import SMTP
from html import unescape

import pytest
from django.test import Client

from academail.delivery.route import deliver
from academail.store.models import Message

pytestmark = pytest.mark.django_db(transaction=True)
PROGRAM = b"MZ\x90\x00" + b"\x00" * 200


def with_files(to: str, sender: str = "secretariat@fournisseur.example") -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Votre facture"
    message.set_content("Veuillez trouver la facture ci-jointe.")
    message.add_attachment(PROGRAM, maintype="application", subtype="octet-stream", filename="facture.pdf.exe")
    message.add_attachment(b"%PDF-1.4\n%%EOF\n", maintype="application", subtype="pdf", filename="devis.pdf")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("lisez-moi.txt", "bonjour")
        z.writestr("installer.scr", PROGRAM)
    message.add_attachment(archive.getvalue(), maintype="application", subtype="zip", filename="documents.zip")
    return message.as_bytes()


def _links(page: str) -> dict[str, str]:
    """file name -> the <a> tag of its download link."""
    return {unescape(name): tag for tag, name in re.findall(r'(<a href="[^"]*/piece/[\d.]+/"[^>]*>)([^<]+)</a>', page)}


def test_dangerous_files_ask_for_confirmation(make_account, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    julie = make_account()
    deliver(with_files(julie.address), [julie.address], screen=True)  # from outside: warnings stored
    message = Message.objects.get(mailbox__account=julie)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(julie)
    page = browser.get(f"/courrier/message/{message.mailbox_id}/{message.uid}/").content.decode()
    links = _links(page)
    assert set(links) == {"facture.pdf.exe", "devis.pdf", "documents.zip"}
    assert " download" in links["devis.pdf"]
    # The program by its name, the archive by what delivery found inside it.
    for name in ("facture.pdf.exe", "documents.zip"):
        assert " download" not in links[name] and "wm-att-risky" in links[name]
    assert page.count("fichier dangereux") == 2

    url = re.search(r'href="([^"]+)"', links["facture.pdf.exe"]).group(1)
    check = browser.get(url)
    assert check.status_code == 200 and check["Content-Type"].startswith("text/html")
    text = unescape(check.content.decode())
    assert "Ce fichier peut être dangereux" in text and "« facture.pdf.exe »" in text
    assert "se fait passer pour un document .pdf mais c'est un programme (.exe)" in text
    assert "/aide/indesirables-et-hameconnage/" in text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)
    assert browser.post(url).status_code == 403  # no confirmation without the form's token
    confirmed = browser.post(url, {"csrfmiddlewaretoken": token})
    assert confirmed.status_code == 200 and confirmed.content == PROGRAM
    assert confirmed["Content-Disposition"].startswith("attachment")
    assert confirmed["Content-Type"] == "application/octet-stream"

    zipped = browser.get(re.search(r'href="([^"]+)"', links["documents.zip"]).group(1))
    assert "contient installer.scr" in unescape(zipped.content.decode())
    harmless = browser.get(re.search(r'href="([^"]+)"', links["devis.pdf"]).group(1))
    assert harmless.content.startswith(b"%PDF") and harmless["Content-Disposition"].startswith("attachment")


def test_a_colleagues_program_asks_too(make_account, settings):
    """Mail from inside stores no warnings: the name alone decides."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    julie, paul = make_account("Julie", "Martin"), make_account("Paul", "Durand")
    deliver(with_files(julie.address, sender=paul.address), [julie.address])
    message = Message.objects.get(mailbox__account=julie)
    browser = Client()
    browser.force_login(julie)
    links = _links(browser.get(f"/courrier/message/{message.mailbox_id}/{message.uid}/").content.decode())
    assert "wm-att-risky" in links["facture.pdf.exe"] and " download" in links["documents.zip"]
    url = re.search(r'href="([^"]+)"', links["facture.pdf.exe"]).group(1)
    assert "Ce fichier peut être dangereux" in unescape(browser.get(url).content.decode())
    # Someone else's attachment: 404, confirmation or not.
    browser.force_login(paul)
    assert browser.get(url).status_code == 404 and browser.post(url).status_code == 404
