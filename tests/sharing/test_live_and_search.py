"""A shared mailbox being viewed in the webmail (issue 19): its live updates
(the JSON state and the server-sent event stream, over a real socket from
uvicorn) and the quick and advanced search, within the person's rights:
the folders they may see, nothing of an owner they see nothing of, and not
another member's own \\Seen."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from academail.accounts.services import check_create_functional_account
from academail.store import acl, seen
from academail.store.mailboxes import do_create_mailbox
from academail.store.messages import do_append, do_set_flags, special_mailbox
from academail.store.models import Flag
from tests.conftest import build_message
from tests.imap.helpers import deliver_to
from tests.sharing.helpers import client_for, text
from tests.webmail.test_live import EventStream, _session_cookie, running_asgi

SCHOOL_ADDRESS = "ce.0341234x@ac-demo.fr"


@pytest.fixture
def school(make_account):
    box = check_create_functional_account(name="Collège Jean Moulin", address=SCHOOL_ADDRESS)
    secretary = make_account("Sophie", "Leroy")
    principal = make_account("Paul", "Girard")
    outsider = make_account("Omar", "Benali")
    for person in (secretary, principal):
        acl.do_grant(box.pk, person.pk, acl.preset_rights(["read", "mark", "file", "delete"]))
    deliver_to(box, subject="Inscription en 6e")
    deliver_to(box, subject="Demande de rendez-vous")
    return box, secretary, principal, outsider


def _words(response) -> str:
    """The page's text without tags (search results highlight the words)."""
    return re.sub(r"<[^>]+>", "", text(response))


def _state(client, owner=None):
    return client.get(reverse("webmail:live_state"), {"proprietaire": owner} if owner else {})


@pytest.mark.django_db(transaction=True)
def test_state_of_a_shared_mailbox_within_the_rights(school, make_account):
    box, secretary, principal, outsider = school
    seen.do_set_mode(box.pk, per_person=True)
    inbox = special_mailbox(box.pk, "inbox")
    do_set_flags(principal.pk, inbox.pk, [(1, 1)], mode="add", flags=Flag.SEEN)
    own = _state(client_for(secretary)).json()
    assert inbox.pk not in {b["id"] for b in own["mailboxes"]}  # without the parameter: her own only
    state = _state(client_for(secretary), box.pk).json()
    rows = {b["id"]: b for b in state["mailboxes"]}
    assert rows[inbox.pk]["messages"] == 2 and rows[inbox.pk]["unseen"] == 2  # her own \Seen
    assert state["inbox"] == special_mailbox(secretary.pk, "inbox").pk  # the tab title stays hers
    assert {b["id"]: b["unseen"] for b in _state(client_for(principal), box.pk).json()["mailboxes"]}[inbox.pk] == 1
    # Someone who sees nothing of it: 404, as for an id that does not exist.
    assert _state(client_for(outsider), box.pk).status_code == 404
    assert _state(client_for(outsider), 999999).status_code == 404
    # A folder share: that folder only.
    owner = make_account("Claire", "Dumas")
    projects = do_create_mailbox(owner.pk, "Projets")
    acl.do_grant(owner.pk, outsider.pk, "lr", mailbox_id=projects.pk, kind="share")
    assert [b["id"] for b in _state(client_for(outsider), owner.pk).json()["mailboxes"]
            if b["id"] not in {r["id"] for r in _state(client_for(outsider)).json()["mailboxes"]}] == [projects.pk]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_stream_follows_the_shared_mailbox_being_viewed(school, settings):
    box, secretary, principal, _outsider = school
    settings.WEBMAIL_LIVE_HEARTBEAT = 0.2
    seen.do_set_mode(box.pk, per_person=True)
    inbox = special_mailbox(box.pk, "inbox")
    with running_asgi() as base:
        stream = EventStream(base, _session_cookie(secretary), f"/courrier/direct/flux/?proprietaire={box.pk}")
        try:
            assert stream.status == 200
            stream.until("hello")
            # A colleague's own \Seen is not news for her (per-person \Seen)...
            do_set_flags(principal.pk, inbox.pk, [(1, 1)], mode="add", flags=Flag.SEEN)
            # ...new mail in the functional mailbox is.
            deliver_to(box, subject="Absence de Léa")
            change = json.loads(stream.until("change"))
            assert change == {"mailbox": inbox.pk, "kind": "exists", "modseq": change["modseq"]}
            # Her own \Seen reaches her.
            do_set_flags(secretary.pk, inbox.pk, [(2, 2)], mode="add", flags=Flag.SEEN)
            change = json.loads(stream.until("change"))
            assert change["mailbox"] == inbox.pk and change["kind"] == "flags"
        finally:
            stream.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_folder_share_streams_that_folder_only(make_account, settings):
    settings.WEBMAIL_LIVE_HEARTBEAT = 0.2
    owner = make_account("Claire", "Dumas")
    colleague = make_account("Hugo", "Petit")
    projects = do_create_mailbox(owner.pk, "Projets")
    acl.do_grant(owner.pk, colleague.pk, "lr", mailbox_id=projects.pk, kind="share")
    with running_asgi() as base:
        stream = EventStream(base, _session_cookie(colleague), f"/courrier/direct/flux/?proprietaire={owner.pk}")
        try:
            stream.until("hello")
            deliver_to(owner, subject="Privé")  # her INBOX: not shared
            do_append(owner.pk, projects.pk, build_message(subject="Projet", to=owner.address))
            change = json.loads(stream.until("change"))
            assert change["mailbox"] == projects.pk
        finally:
            stream.close()


def test_search_in_the_shared_mailbox_being_viewed(school, make_account, transactional_db):
    box, secretary, _principal, outsider = school
    client = client_for(secretary)
    url = reverse("webmail:search")
    # Her own mailbox, as before: the school's mail is not there.
    assert "Inscription en 6e" not in _words(client.get(url, {"q": "inscription"}))
    found = _words(client.get(url, {"q": "inscription", "boite": box.pk}))
    assert "Inscription en 6e" in found and "Demande de rendez-vous" not in found
    assert f'name="boite" value="{box.pk}"' in text(client.get(url, {"q": "inscription", "boite": box.pk}))
    # Advanced: one of its folders.
    archives = do_create_mailbox(box.pk, "Inscriptions")
    do_append(box.pk, archives.pk, build_message(subject="Inscription en 5e", to=SCHOOL_ADDRESS))
    only = _words(client.get(url, {"objet": "inscription", "dossier": archives.pk, "boite": box.pk}))
    assert "Inscription en 5e" in only and "Inscription en 6e" not in only
    # Someone who sees nothing of it searches their own mailbox only.
    stranger = _words(client_for(outsider).get(url, {"q": "inscription", "boite": box.pk}))
    assert "Inscription en 6e" not in stranger and "Aucun message ne correspond à cette recherche." in stranger
    # A folder share: that folder only.
    owner = make_account("Claire", "Dumas")
    projects = do_create_mailbox(owner.pk, "Projets")
    deliver_to(owner, subject="Réunion privée")
    do_append(owner.pk, projects.pk, build_message(subject="Réunion projet", to=owner.address))
    acl.do_grant(owner.pk, outsider.pk, "lr", mailbox_id=projects.pk, kind="share")
    shared = _words(client_for(outsider).get(url, {"q": "reunion", "boite": owner.pk}))
    assert "Réunion projet" in shared and "Réunion privée" not in shared
