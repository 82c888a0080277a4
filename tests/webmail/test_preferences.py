"""The preferences page: signature (inserted in new messages and replies),
conversation view, messages per page, trusted senders (list, remove, IDOR);
CSRF and French validation errors."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from academail.webmail.models import Preferences, TrustedSender
from tests.conftest import build_message
from tests.webmail.conftest import deliver

pytestmark = pytest.mark.django_db(transaction=False)

URL = "/courrier/preferences/"


def test_page_is_linked_and_signed_in_only(web, client):
    assert reverse("webmail:preferences") == URL
    assert f'href="{URL}"' in web.get(reverse("webmail:folders")).content.decode()
    anonymous = Client()
    assert anonymous.get(URL).status_code == 302


def test_defaults_then_save(web, person):
    page = web.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Signature" in html and "Messages par page" in html
    assert "Content-Security-Policy" in page.headers
    response = web.post(URL, {"signature": "Julie Martin\nCollège Exemple", "conversations": "on", "page_size": "25"})
    assert response.status_code == 302
    saved = Preferences.objects.get(account=person)
    assert (saved.signature, saved.conversations, saved.page_size) == ("Julie Martin\nCollège Exemple", True, 25)
    assert "Julie Martin\nCollège Exemple" in web.get(URL).content.decode()


def test_validation_errors_in_french(web, person):
    html = web.post(URL, {"signature": "x" * 2001, "page_size": "30"}).content.decode()
    assert "La signature est trop longue" in html
    assert "Choisissez 25, 50 ou 100 messages par page." in html
    assert not Preferences.objects.filter(account=person).exists()


def test_csrf_is_required(person):
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    assert client.post(URL, {"signature": "x", "page_size": "50"}).status_code == 403
    assert not Preferences.objects.filter(account=person).exists()


def _body(html: str) -> str:
    return re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', html, re.S).group(1)


def test_signature_below_a_new_message(web, person):
    web.post(URL, {"signature": "Julie Martin\nProfesseure de SVT", "page_size": "50"})
    body = _body(web.get(reverse("webmail:write")).content.decode())
    assert body.replace("\r\n", "\n").endswith("\n\n-- \nJulie Martin\nProfesseure de SVT")


def test_signature_above_the_quote_in_a_reply(web, person):
    web.post(URL, {"signature": "Julie", "page_size": "50"})
    original = deliver(person, build_message(subject="Question", body="Une question ?\n"))
    html = web.get(reverse("webmail:write"), {"mode": "reply", "source": f"{original.mailbox_id}-{original.uid}"}).content.decode()
    body = _body(html).replace("\r\n", "\n")
    assert body.index("-- \nJulie") < body.index("a écrit :") < body.index("&gt; Une question ?")


def test_no_signature_no_separator(web, person):
    assert "-- " not in _body(web.get(reverse("webmail:write")).content.decode())


def test_trusted_senders_listed_and_removed(web, person, other):
    mine = TrustedSender.objects.create(account=person, address="lettre@ac-demo.fr")
    theirs = TrustedSender.objects.create(account=other, address="secret@ac-demo.fr")
    html = web.get(URL).content.decode()
    assert "lettre@ac-demo.fr" in html
    assert "secret@ac-demo.fr" not in html
    # Another account's entry: nothing removed.
    web.post(reverse("webmail:forget_sender", args=[theirs.pk]))
    assert TrustedSender.objects.filter(pk=theirs.pk).exists()
    web.post(reverse("webmail:forget_sender", args=[mine.pk]))
    assert not TrustedSender.objects.filter(pk=mine.pk).exists()
    assert web.get(reverse("webmail:forget_sender", args=[theirs.pk])).status_code == 405


def test_conversation_default_from_preferences(web, person):
    web.post(URL, {"signature": "", "conversations": "on", "page_size": "50"})
    deliver(person, build_message(subject="Sujet"))
    html = web.get(reverse("webmail:index"), follow=True).content.decode()
    assert "Afficher message par message" in html
