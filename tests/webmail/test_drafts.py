"""Drafts saved automatically while writing: each save replaces the previous
draft of the compose session (one draft in Brouillons, not a pile), an IMAP
client sees it, sending removes it; authentication, CSRF and IDOR."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from academail.store.messages import read_raw
from academail.store.models import Flag, Message
from tests.conftest import build_message
from tests.webmail.conftest import box_of, deliver


def _save(web, **fields):
    data = {"to": "", "cc": "", "bcc": "", "subject": "Brouillon", "body": "Début", "mode": "", "source": "", **fields}
    return web.post(reverse("webmail:autosave"), data)


def _drafts(account):
    return list(Message.objects.filter(mailbox=box_of(account, "drafts")).select_related("content").order_by("uid"))


def test_autosave_stores_then_replaces(web, person):
    first = _save(web, subject="Sortie au musée", body="Première version")
    assert first.status_code == 200 and first["Content-Type"] == "application/json"
    uid = first.json()["draft"]
    (stored,) = _drafts(person)
    assert stored.uid == uid and stored.flags & Flag.DRAFT and stored.flags & Flag.SEEN
    assert stored.content.subject == "Sortie au musée"

    second = _save(web, subject="Sortie au musée", body="Deuxième version", draft=str(uid))
    new_uid = second.json()["draft"]
    assert new_uid != uid
    (stored,) = _drafts(person)  # replaced, not piled up
    assert stored.uid == new_uid and b"Deuxi" in read_raw(stored)
    assert box_of(person, "drafts").messages == 1


def test_sending_deletes_the_draft(web, person, other):
    uid = _save(web, to=other.address, subject="Réunion").json()["draft"]
    response = web.post(reverse("webmail:write"), {"to": other.address, "subject": "Réunion", "body": "Jeudi",
                                                   "draft": str(uid)})
    assert response.status_code == 302
    assert _drafts(person) == []
    assert box_of(person, "drafts").messages == 0


def test_save_button_replaces_the_autosaved_draft(web, person):
    uid = _save(web, subject="Avant").json()["draft"]
    web.post(reverse("webmail:write"), {"to": "", "subject": "Après", "body": "x", "intent": "draft", "draft": str(uid)})
    (stored,) = _drafts(person)
    assert stored.content.subject == "Après"


def test_reply_draft_keeps_threading_headers_from_the_store(web, person):
    original = deliver(person, build_message(subject="Conseil de classe"))
    source = f"{original.mailbox_id}-{original.uid}"
    uid = _save(web, mode="reply", source=source, subject="Re: Conseil de classe", body="Oui").json()["draft"]
    (stored,) = _drafts(person)
    assert stored.uid == uid
    assert stored.content.in_reply_to == original.content.message_id


def test_rich_text_draft(web, person):
    _save(web, format="html", body_html="<b>gras</b><script>alert(1)</script>")
    raw = read_raw(_drafts(person)[0])
    assert b"multipart/alternative" in raw and b"<b>gras</b>" in raw and b"<script" not in raw


def test_a_uid_of_another_account_or_a_non_draft_is_never_expunged(web, person, other):
    theirs = deliver(other, build_message(to=other.address, subject="À eux"))
    _save(web, draft=str(theirs.uid))
    assert Message.objects.filter(pk=theirs.pk).exists()
    # A message filed in Brouillons by hand (no \Draft flag) is not replaced either.
    from academail.store.messages import do_append

    filed = do_append(person.pk, box_of(person, "drafts").pk, build_message(subject="Classé à la main"))
    _save(web, draft=str(filed.uid))
    assert Message.objects.filter(pk=filed.pk).exists()
    assert len(_drafts(person)) == 3


def test_autosave_requires_sign_in_post_and_csrf(person, client):
    response = client.post(reverse("webmail:autosave"), {"subject": "x"})
    assert response.status_code == 401 and "reconnectez-vous" in response.json()["error"]
    assert Message.objects.filter(mailbox=box_of(person, "drafts")).count() == 0

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(person)
    assert strict.post(reverse("webmail:autosave"), {"subject": "x"}).status_code == 403
    assert strict.get(reverse("webmail:autosave")).status_code == 405
    assert _drafts(person) == []


def test_autosave_over_quota_says_what_to_do(web, person):
    person.quota_bytes = 10
    person.save()
    response = _save(web, body="y" * 5000)
    assert response.status_code == 507
    assert "Corbeille" in response.json()["error"]
    assert _drafts(person) == []
