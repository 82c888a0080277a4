"""Writing: sending to académie and outside addresses through the submission
rules, the sent copy, replies and forwards, the attachment reminder, drafts."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest
from django.urls import reverse

from academail.delivery.models import OutboundMessage, QueueEntry
from academail.delivery.submit import SenderRefused, do_send
from academail.store.messages import read_raw
from academail.store.models import Flag, Message
from tests.conftest import build_message
from tests.webmail.conftest import box_of, deliver


def _send(web, **fields):
    data = {"to": "", "cc": "", "bcc": "", "subject": "Essai", "body": "Bonjour", **fields}
    return web.post(reverse("webmail:write"), data)


def _only(account, use):
    (message,) = Message.objects.filter(mailbox=box_of(account, use)).select_related("content")
    return message


def test_send_to_local_address(web, person, other):
    response = _send(web, to=other.address, subject="Conseil pédagogique", body="À jeudi.")
    assert response.status_code == 302
    received = _only(other, "inbox")
    assert received.content.subject == "Conseil pédagogique"
    assert received.content.from_addr == person.address
    sent = _only(person, "sent")
    assert sent.flags & Flag.SEEN
    assert sent.content.subject == "Conseil pédagogique"
    assert not QueueEntry.objects.exists()


def test_send_outside_is_queued_and_bcc_hidden(web, person, other):
    response = _send(web, to="parent@exemple.org", bcc=other.address, subject="Sortie scolaire")
    assert response.status_code == 302
    entry = QueueEntry.objects.get()
    assert entry.recipient == "parent@exemple.org"
    queued = bytes(OutboundMessage.objects.get().raw)
    assert b"Sortie scolaire" in queued and b"Bcc" not in queued
    assert b"Bcc" not in read_raw(_only(other, "inbox"))
    assert b"Bcc: " + other.address.encode() in read_raw(_only(person, "sent"))


def test_forged_sender_is_impossible(web, person, other):
    _send(web, to=other.address, **{"from": "recteur@ac-demo.fr"})
    assert _only(other, "inbox").content.from_addr == person.address
    forged = build_message(sender="recteur@ac-demo.fr", to=other.address)
    with pytest.raises(SenderRefused):
        do_send(person, forged, [other.address])
    assert Message.objects.filter(mailbox__account=other).count() == 1


def test_unknown_local_recipient_refused_in_french(web, person):
    page = _send(web, to="personne.inconnue@ac-demo.fr").content.decode()
    assert "personne.inconnue@ac-demo.fr : Adresse inconnue dans l&#x27;académie." in page
    assert not Message.objects.filter(mailbox=box_of(person, "sent")).exists()
    assert "Indiquez au moins un destinataire" in _send(web, to="").content.decode()


def test_attachment_reminder_then_send_anyway(web, person, other):
    page = _send(web, to=other.address, body="Vous trouverez ci-joint le compte rendu.").content.decode()
    assert "aucun fichier n'est joint" in page and "Envoyer quand même" in page
    assert not Message.objects.filter(mailbox__account=other).exists()
    _send(web, to=other.address, body="Vous trouverez ci-joint le compte rendu.", confirm="1")
    assert Message.objects.filter(mailbox__account=other).count() == 1


def test_send_with_attachment(web, person, other):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("compte rendu.pdf", b"%PDF-1.4 ...", content_type="application/pdf")
    _send(web, to=other.address, body="Voici la pièce jointe.", attachments=upload)
    received = _only(other, "inbox")
    assert received.content.has_attachments
    page = web.get(reverse("webmail:write"))
    assert "Taille maximale du message" in page.content.decode()


def test_reply_threading_and_answered(web, person, other):
    original = deliver(person, build_message(subject="Conseil de classe", sender=f"Paul Durand <{other.address}>"))
    form = web.get(reverse("webmail:write") + f"?mode=reply&source={original.mailbox_id}-{original.uid}").content.decode()
    assert 'value="Re: Conseil de classe"' in form and other.address in form
    assert "&gt; Le conseil de classe de 3eB aura lieu jeudi." in form
    _send(web, to=other.address, subject="Re: Conseil de classe", body="Bien reçu.", mode="reply",
          source=f"{original.mailbox_id}-{original.uid}")
    reply = message_from_bytes(read_raw(_only(other, "inbox")), policy=default)
    assert reply["In-Reply-To"] == original.content.message_id
    assert reply["References"] == original.content.message_id
    original.refresh_from_db()
    assert original.flags & Flag.ANSWERED


def test_reply_all_and_forward(web, person, other):
    original = deliver(person, build_message(
        subject="Re: Sortie", sender="a@exemple.org", to=f"{person.address}, b@exemple.org"))
    source = f"{original.mailbox_id}-{original.uid}"
    form = web.get(reverse("webmail:write") + f"?mode=all&source={source}").content.decode()
    assert 'value="Re: Sortie"' in form and "b@exemple.org" in form
    assert 'name="cc" value="b@exemple.org"' in form
    forward = web.get(reverse("webmail:write") + f"?mode=forward&source={source}").content.decode()
    assert 'value="TR: Re: Sortie"' in forward and "Message transféré" in forward


def test_draft_saved_in_brouillons(web, person):
    response = _send(web, to="x@exemple.org", subject="À finir", intent="draft")
    assert response.status_code == 302
    draft = _only(person, "drafts")
    assert draft.flags & Flag.DRAFT and draft.content.subject == "À finir"
    assert not QueueEntry.objects.exists()


def test_held_message_is_announced_as_held(web, person, other, settings):
    settings.SEND_LIMIT_SOFT_HOUR = 1
    response = _send(web, to=f"{other.address}, ami@exemple.org", subject="Sortie")
    assert response.status_code == 302
    page = web.get(response.url, follow=True).content.decode()
    assert "Message retenu" in page and "Message envoyé." not in page
    assert not Message.objects.filter(mailbox=box_of(other, "inbox")).exists()
