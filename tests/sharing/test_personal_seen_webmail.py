"""Per-person \\Seen in the webmail (issue 19 §1): with the setting, a member
opening a message of the functional mailbox makes it read for them alone:
their list shows it read and their counts drop, a colleague's list keeps it
bold and their counts stay. The IMAP side is tests/imap/test_personal_seen.py."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from academail.accounts.services import check_create_functional_account
from academail.sharing.models import FunctionalMailbox
from academail.store import acl, seen
from academail.store.messages import special_mailbox
from academail.store.models import PersonalSeen
from tests.imap.helpers import deliver_to
from tests.sharing.helpers import client_for, text

SCHOOL_ADDRESS = "ce.0341234x@ac-demo.fr"


@pytest.fixture
def school(transactional_db, make_account):
    box = check_create_functional_account(name="Collège Jean Moulin", address=SCHOOL_ADDRESS)
    secretary = make_account("Sophie", "Leroy")
    principal = make_account("Paul", "Girard")
    for person in (secretary, principal):
        acl.do_grant(box.pk, person.pk, acl.preset_rights(["read", "mark", "file", "delete"]))
    deliver_to(box, subject="Inscription en 6e")
    deliver_to(box, subject="Demande de rendez-vous")
    seen.do_set_mode(box.pk, per_person=True)
    return box, secretary, principal


def _unread_uids(page: str) -> set[int]:
    return {int(uid) for uid in re.findall(r'<tr class="wm-unread" data-uid="(\d+)"', page)}


def _switcher_count(page: str) -> str:
    entry = re.search(r'<li class="wm-folder" data-owner="\d+">\s*<a href="[^"]+">\s*'
                      r'<span class="wm-folder__name">Collège Jean Moulin</span>\s*(.*?)</a>', page, re.S)
    assert entry is not None, page[:2000]
    found = re.search(r'<span class="wm-count">(\d+)', entry.group(1))
    return found.group(1) if found else "0"


def test_opening_a_message_reads_it_for_that_member_only(school):
    box, secretary, principal = school
    inbox_id = special_mailbox(box.pk, "inbox").pk
    mine, theirs = client_for(secretary), client_for(principal)
    assert mine.get(reverse("webmail:message", args=[inbox_id, 1])).status_code == 200
    own_page = text(mine.get(reverse("webmail:folder", args=[inbox_id])))
    their_page = text(theirs.get(reverse("webmail:folder", args=[inbox_id])))
    assert _unread_uids(own_page) == {2}
    assert _unread_uids(their_page) == {1, 2}
    assert "2 messages, 1 non lu" in own_page and "2 messages, 2 non lus" in their_page
    # The switcher, from each person's own mailbox.
    own_inbox = special_mailbox(secretary.pk, "inbox").pk
    assert _switcher_count(text(mine.get(reverse("webmail:folder", args=[own_inbox])))) == "1"
    assert _switcher_count(text(theirs.get(reverse("webmail:folder", args=[special_mailbox(principal.pk, "inbox").pk])))) == "2"
    # "Marquer comme non lu" from the list undoes hers, not the team's.
    mine.post(reverse("webmail:actions", args=[inbox_id]), {"action": "unseen", "uid": ["1"]})
    assert _unread_uids(text(mine.get(reverse("webmail:folder", args=[inbox_id])))) == {1, 2}
    assert special_mailbox(box.pk, "inbox").unseen == 2
    # A departure ends her grants and takes her own "lu" on the school's mail with them.
    mine.get(reverse("webmail:message", args=[inbox_id, 2]))
    assert PersonalSeen.objects.filter(account_id=secretary.pk).exists()
    acl.do_end_grants_of(secretary.pk)
    assert not PersonalSeen.objects.filter(account_id=secretary.pk).exists()


def test_the_default_stays_shared_by_the_team(school):
    box, secretary, principal = school
    seen.do_set_mode(box.pk, per_person=False)
    inbox_id = special_mailbox(box.pk, "inbox").pk
    client_for(secretary).get(reverse("webmail:message", args=[inbox_id, 1]))
    assert _unread_uids(text(client_for(principal).get(reverse("webmail:folder", args=[inbox_id])))) == {2}


def test_the_manager_chooses_on_the_members_page(school):
    box, secretary, principal = school
    seen.do_set_mode(box.pk, per_person=False)
    FunctionalMailbox.objects.create(account=box, uai="0341234x", name="Collège Jean Moulin")
    acl.do_grant(box.pk, principal.pk, acl.preset_rights(["read", "mark", "manage"]))
    url = reverse("sharing:functional", args=[box.pk])
    manager = client_for(principal)
    page = text(manager.get(url))
    assert 'id="fm-seen-team" name="seen" value="team" checked' in page
    manager.post(url, {"action": "seen_mode", "seen": "person"})
    assert seen.is_per_person(box.pk)
    assert 'id="fm-seen-person" name="seen" value="person" checked' in text(manager.get(url))
    journal = list(box.journal.values_list("detail", flat=True))
    assert any("propre à chaque personne" in line and "Paul Girard" in line for line in journal), journal
    # A member who does not manage the mailbox cannot reach the page (404).
    assert client_for(secretary).post(url, {"action": "seen_mode", "seen": "team"}).status_code == 404
    assert seen.is_per_person(box.pk)
