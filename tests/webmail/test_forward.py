"""Forwarding from the webmail: inline with the original's files (each can be
left out), or the whole original attached as a message/rfc822 part."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest
from django.urls import reverse

from academail.store.messages import read_raw
from academail.store.models import Message
from tests.conftest import build_message
from tests.webmail.conftest import box_of, deliver

pytestmark = pytest.mark.django_db


def _received(account):
    (message,) = Message.objects.filter(mailbox=box_of(account, "inbox")).select_related("content")
    return message_from_bytes(read_raw(message), policy=default)


def test_inline_forward_keeps_the_chosen_files(web, person, other):
    original = deliver(person, build_message(subject="Compte rendu", attachment=b"%PDF-1.4 contenu du CR"))
    source = f"{original.mailbox_id}-{original.uid}"
    page = web.get(reverse("webmail:write"), {"mode": "forward", "source": source}).content.decode()
    assert "Pièces jointes du message d'origine" in page and "compte-rendu.pdf" in page
    assert 'name="keep" value="2" checked' in page
    response = web.post(reverse("webmail:write"), {
        "mode": "forward", "source": source, "keep": "2", "to": other.address, "cc": "", "bcc": "",
        "subject": "TR: Compte rendu", "body": "Pour information.",
    })
    assert response.status_code == 302
    received = _received(other)
    (attachment,) = list(received.iter_attachments())
    assert attachment.get_filename() == "compte-rendu.pdf"
    assert attachment.get_content() == b"%PDF-1.4 contenu du CR"


def test_inline_forward_without_the_files(web, person, other):
    original = deliver(person, build_message(subject="Compte rendu", attachment=b"%PDF-1.4 contenu du CR"))
    web.post(reverse("webmail:write"), {
        "mode": "forward", "source": f"{original.mailbox_id}-{original.uid}", "to": other.address,
        "cc": "", "bcc": "", "subject": "TR: Compte rendu", "body": "Sans le fichier.",
    })
    assert list(_received(other).iter_attachments()) == []


def test_forward_as_attachment_carries_the_original_whole(web, person, other):
    raw = build_message(subject="Sortie au musée", body="Départ à 8 h 30, retour à 17 h.\n")
    original = deliver(person, raw)
    source = f"{original.mailbox_id}-{original.uid}"
    page = web.get(reverse("webmail:write"), {"mode": "forward_attached", "source": source}).content.decode()
    assert "Le message d'origine est joint : Sortie au musée.eml" in page
    assert 'value="TR: Sortie au musée"' in page
    response = web.post(reverse("webmail:write"), {
        "mode": "forward_attached", "source": source, "to": other.address, "cc": "", "bcc": "",
        "subject": "TR: Sortie au musée", "body": "Voir le message joint.",
    })
    assert response.status_code == 302
    received = _received(other)
    (attached,) = list(received.iter_attachments())
    assert attached.get_content_type() == "message/rfc822"
    assert attached["Content-Transfer-Encoding"] in (None, "7bit", "8bit")  # never base64 (RFC 2046)
    inner = attached.get_content()
    assert inner["Subject"] == "Sortie au musée" and "Départ à 8 h 30" in inner.get_content()


def test_forward_of_someone_elses_message_is_refused(web, person, other):
    theirs = deliver(other, build_message(subject="Privé", to=other.address, attachment=b"secret"))
    source = f"{theirs.mailbox_id}-{theirs.uid}"
    for mode in ("forward", "forward_attached"):
        assert web.get(reverse("webmail:write"), {"mode": mode, "source": source}).status_code == 404
        response = web.post(reverse("webmail:write"), {
            "mode": mode, "source": source, "keep": "2", "to": person.address, "cc": "", "bcc": "",
            "subject": "TR", "body": "x",
        })
        assert response.status_code == 404
    assert not Message.objects.filter(mailbox=box_of(person, "inbox")).exists()
