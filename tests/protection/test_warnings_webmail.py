"""Warnings in the reading pane (stored at delivery, shown with "Pourquoi ?"),
flagged links rewritten to the interstitial page in the sandboxed frame, the
interstitial page itself, and "Ce n'est pas un indésirable"."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from academail.delivery.route import deliver
from academail.protection.models import Correspondent, MessageWarnings
from academail.protection.spam import GTUBE
from academail.store.models import Message
from tests.conftest import build_message

pytestmark = pytest.mark.django_db(transaction=True)
CORPUS = Path(__file__).resolve().parent.parent / "data" / "protection"


@pytest.fixture
def web(client, make_account, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    person = make_account("Julie", "Martin")
    client.force_login(person)
    client.person = person
    return client


def arrive(account, raw: bytes, *, screen: bool = True) -> Message:
    (outcome,) = deliver(raw, [account.address], screen=screen)
    assert outcome.delivered
    return Message.objects.filter(mailbox__account=account).select_related("mailbox").latest("pk")


def test_lure_shows_a_red_warning_and_its_link_opens_the_interstitial(web):
    message = arrive(web.person, (CORPUS / "lure-assistance-numen.eml").read_bytes())
    assert MessageWarnings.objects.count() == 1
    page = web.get(f"/courrier/message/{message.mailbox_id}/{message.uid}/").content.decode()
    assert "fr-alert--error" in page and "hameçonnage" in page
    assert "Pourquoi ?" in page and "ressemble à ac-demo.fr" in unescape(page)
    frame = web.get(f"/courrier/message/{message.mailbox_id}/{message.uid}/contenu/").content.decode()
    hrefs = [unescape(h) for h in re.findall(r'href="([^"]+)"', frame)]
    assert hrefs and all(h.startswith("/courrier/protection/quitter/?u=") for h in hrefs), hrefs
    leave = web.get(hrefs[0])
    text = unescape(leave.content.decode())
    assert leave.status_code == 200
    assert "Vous allez quitter la messagerie vers ac-dem0.fr.verif-compte.example" in text
    assert 'href="https://ac-dem0.fr.verif-compte.example/login"' in text
    forged = web.get("/courrier/protection/quitter/?u=" + hrefs[0].split("u=", 1)[1][:-3] + "AAA")
    assert forged.status_code == 400


def test_outside_mail_shows_only_the_neutral_banner_and_a_colleague_nothing(web):
    parent = arrive(web.person, (CORPUS / "legit-parent.eml").read_bytes())
    page = unescape(web.get(f"/courrier/message/{parent.mailbox_id}/{parent.uid}/").content.decode())
    assert "Message venant de l'extérieur de l'académie." in page
    assert "fr-alert--error" not in page and "fr-alert--warning" not in page
    colleague = arrive(web.person, (CORPUS / "internal-collegue.eml").read_bytes(), screen=False)
    page = web.get(f"/courrier/message/{colleague.mailbox_id}/{colleague.uid}/").content.decode()
    assert "prot-warnings" not in page


def test_not_junk_button_moves_back_and_keeps_the_sender(web):
    message = arrive(web.person, build_message(sender="lettre@asso.example", body=GTUBE))
    assert message.mailbox.special_use == "junk"
    page = unescape(web.get(f"/courrier/message/{message.mailbox_id}/{message.uid}/").content.decode())
    assert "Ce n'est pas un indésirable" in page
    response = web.post(f"/courrier/dossier/{message.mailbox_id}/actions/", {"action": "notjunk", "uid": message.uid})
    assert response.status_code == 302
    moved = Message.objects.filter(mailbox__account=web.person).select_related("mailbox").latest("pk")
    assert moved.mailbox.special_use == "inbox"
    assert Correspondent.objects.filter(account=web.person, address="lettre@asso.example").exists()


def test_the_list_shows_a_sign_on_flagged_messages_only(web):
    lure = arrive(web.person, (CORPUS / "lure-assistance-numen.eml").read_bytes())
    arrive(web.person, (CORPUS / "legit-parent.eml").read_bytes())
    page = unescape(web.get(f"/courrier/dossier/{lure.mailbox_id}/").content.decode())
    rows = re.findall(r"<tr class=\"wm-(?:un)?read\".*?</tr>", page, re.S)
    assert len(rows) == 2
    flagged = [r for r in rows if "Hameçonnage probable" in r]
    assert len(flagged) == 1 and "Votre boîte aux lettres est pleine" in flagged[0]


REPLY = (
    "From: Paul Durand <paul.durand@ac-demo.fr>\r\nTo: julie.martin@ac-demo.fr\r\n"
    "Subject: Re: Votre =?utf-8?q?bo=C3=AEte?= aux lettres est pleine\r\n"
    "Date: Mon, 07 Dec 2026 10:00:00 +0100\r\nMessage-ID: <reponse-paul@ac-demo.fr>\r\n"
    "In-Reply-To: <lure-assistance-numen@corpus.example>\r\nReferences: <lure-assistance-numen@corpus.example>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Julie, ne clique surtout pas : c'est de l'hameçonnage.\r\n"
).encode()


def test_a_conversation_shows_each_messages_own_warnings(web):
    lure = arrive(web.person, (CORPUS / "lure-assistance-numen.eml").read_bytes())
    reply = arrive(web.person, REPLY, screen=False)
    key = lure.content.thread_key
    assert key and reply.content.thread_key == key
    page = unescape(web.get(f"/courrier/dossier/{lure.mailbox_id}/conversation/{key}/").content.decode())
    articles = page.split('<article class="wm-message"')[1:]
    assert len(articles) == 2  # oldest first: the lure, then the colleague's answer
    assert "fr-alert--error" in articles[0] and "ressemble à ac-demo.fr" in articles[0]
    assert f'<h3 id="prot-warnings-title-{lure.uid}"' in articles[0]  # under the message's h2, its own id
    assert "prot-warnings" not in articles[1]
