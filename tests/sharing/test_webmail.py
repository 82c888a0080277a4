"""A functional mailbox in the webmail (issue 19 §1): the switcher beside
one's own mailbox with unread counts, its folders, reading and acting within
one's rights (the store's rule), and the journal of who did what."""

from __future__ import annotations

import pytest
from django.urls import reverse

from academail.accounts.services import check_create_functional_account
from academail.store import acl
from academail.store.messages import special_mailbox
from tests.imap.helpers import deliver_to
from tests.sharing.helpers import client_for, text

SCHOOL_ADDRESS = "ce.0341234x@ac-demo.fr"


@pytest.fixture
def school(transactional_db, make_account):
    box = check_create_functional_account(name="Collège Jean Moulin", address=SCHOOL_ADDRESS)
    secretary = make_account("Sophie", "Leroy")
    reader = make_account("Rémi", "Faure")
    outsider = make_account("Omar", "Benali")
    acl.do_grant(box.pk, secretary.pk, acl.preset_rights(["read", "mark", "file", "delete", "send_as"]))
    acl.do_grant(box.pk, reader.pk, acl.preset_rights(["read"]))
    deliver_to(box, subject="Inscription en 6e")
    deliver_to(box, subject="Demande de rendez-vous")
    return box, secretary, reader, outsider




def test_switcher_folders_and_reading(school):
    box, secretary, _reader, _outsider = school
    client = client_for(secretary)
    inbox_id = special_mailbox(box.pk, "inbox").pk
    own = text(client.get(reverse("webmail:folder", args=[special_mailbox(secretary.pk, "inbox").pk])))
    assert 'class="wm-switcher"' in own and "Collège Jean Moulin" in own and "Ma boîte" in own
    assert f'href="/courrier/dossier/{inbox_id}/"' in own
    page = text(client.get(reverse("webmail:folder", args=[inbox_id])))
    assert "Inscription en 6e" in page and "Demande de rendez-vous" in page
    # The folder list is the functional mailbox's, and the switcher marks it current.
    assert f'data-mailbox="{special_mailbox(box.pk, "trash").pk}"' in page
    assert f'data-mailbox="{special_mailbox(secretary.pk, "trash").pk}"' not in page
    assert client.get(reverse("webmail:message", args=[inbox_id, 1])).status_code == 200
    assert special_mailbox(box.pk, "inbox").unseen == 1  # read for the whole team
    client.post(reverse("webmail:actions", args=[inbox_id]), {"action": "delete", "uid": ["2"]})
    assert special_mailbox(box.pk, "trash").messages == 1  # the functional mailbox's Corbeille
    assert special_mailbox(secretary.pk, "trash").messages == 0
    journal = list(box.journal.values_list("detail", flat=True))
    assert any("Sophie Leroy" in line and "a lu 1 message" in line for line in journal), journal
    assert any("Sophie Leroy" in line and "a déplacé 1 message" in line for line in journal), journal


def test_rights_in_the_webmail(school):
    box, _secretary, reader, outsider = school
    inbox_id = special_mailbox(box.pk, "inbox").pk
    client = client_for(reader)
    assert client.get(reverse("webmail:message", args=[inbox_id, 1])).status_code == 200
    assert special_mailbox(box.pk, "inbox").unseen == 2  # no "s": reading marks nothing for the team
    refused = client.post(reverse("webmail:actions", args=[inbox_id]), {"action": "delete", "uid": ["1"]}, follow=True)
    assert "Vous n'avez pas le droit" in text(refused)
    assert special_mailbox(box.pk, "inbox").messages == 2
    # Someone else: every id is a 404, as for a folder that does not exist.
    stranger = client_for(outsider)
    assert stranger.get(reverse("webmail:folder", args=[inbox_id])).status_code == 404
    assert stranger.get(reverse("webmail:message", args=[inbox_id, 1])).status_code == 404
    assert stranger.post(reverse("webmail:actions", args=[inbox_id]), {"action": "seen", "uid": ["1"]}).status_code == 404
    assert 'class="wm-switcher"' not in text(stranger.get(reverse("webmail:index"), follow=True))
