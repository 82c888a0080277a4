"""A person's own sharing (issue 19 §2): a folder shared read-only or
read-write with a colleague (their folder list and IMAP), a whole mailbox
delegated for a period with "send on behalf", and the grant, its use and its
end in both journals."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from django.urls import reverse
from django.utils import timezone

from academail.sharing.delegation import do_close_expired
from academail.store import acl
from academail.store.mailboxes import do_create_mailbox
from academail.store.messages import special_mailbox
from tests.imap.helpers import deliver_to
from tests.sharing.helpers import client_for, text
from tests.smtp.test_submission import inbox


@pytest.fixture
def people(transactional_db, make_account):
    principal = make_account("Paul", "Girard")
    deputy = make_account("Inès", "Morel")
    colleague = make_account("Jean", "Dupont")
    return principal, deputy, colleague




def _details(account) -> list[str]:
    return list(account.journal.values_list("detail", flat=True))


def test_share_a_folder_read_only_then_read_write(people):
    principal, deputy, colleague = people
    folder = do_create_mailbox(principal.pk, "Conseils de classe")
    deliver_to(principal, subject="Ordre du jour")
    inbox_id = special_mailbox(principal.pk, "inbox").pk
    owner = client_for(principal)
    owner.post(reverse("webmail:actions", args=[inbox_id]), {"action": "move", "uid": ["1"], "target": folder.pk})
    response = owner.post(reverse("sharing:index"), {
        "action": "share", "mailbox": folder.pk, "identifier": deputy.identifier, "level": "read",
    })
    assert response.status_code == 302
    page = text(owner.get(reverse("sharing:index")))
    assert "« Conseils de classe » avec Inès Morel" in page and "lecture seule" in page
    # The colleague finds it in the switcher and reads it; writing is refused.
    reader = client_for(deputy)
    listing = text(reader.get(reverse("webmail:folder", args=[folder.pk])))
    assert "Ordre du jour" in listing and "Paul Girard" in listing
    assert reader.get(reverse("webmail:folder", args=[inbox_id])).status_code == 404  # only that folder
    refused = reader.post(reverse("webmail:actions", args=[folder.pk]), {"action": "delete", "uid": ["1"]}, follow=True)
    assert "Vous n'avez pas le droit" in text(refused)
    # Read-write: the colleague may now file and delete.
    owner.post(reverse("sharing:index"), {
        "action": "share", "mailbox": folder.pk, "identifier": deputy.identifier, "level": "write",
    })
    reader.post(reverse("webmail:actions", args=[folder.pk]), {"action": "delete", "uid": ["1"]})
    assert special_mailbox(principal.pk, "trash").messages == 1
    assert any("partagé en lecture seule" in d and "Inès Morel" in d for d in _details(principal))
    assert any("partagé en lecture et écriture" in d for d in _details(deputy))
    assert any("Inès Morel" in d and "a déplacé 1 message" in d for d in _details(principal))
    # Ending it: gone at once.
    owner.post(reverse("sharing:index"), {"action": "end", "grantee": deputy.pk, "mailbox": folder.pk})
    assert reader.get(reverse("webmail:folder", args=[folder.pk])).status_code == 404
    assert any("partage du dossier « Conseils de classe » retiré" in d for d in _details(deputy))


def test_delegation_for_a_period_with_send_on_behalf(people):
    principal, deputy, colleague = people
    deliver_to(principal, subject="Réunion des parents")
    until = timezone.localdate() + timedelta(days=14)
    response = client_for(principal).post(reverse("sharing:index"), {
        "action": "delegate", "identifier": deputy.identifier, "until": until.isoformat(), "on_behalf": "1",
    })
    assert response.status_code == 302
    assert any("délégation de la boîte jusqu'au" in d and "avec envoi de sa part" in d for d in _details(deputy))
    # The deputy sees the whole mailbox and writes on the principal's behalf.
    delegate = client_for(deputy)
    inbox_id = special_mailbox(principal.pk, "inbox").pk
    assert "Réunion des parents" in text(delegate.get(reverse("webmail:folder", args=[inbox_id])))
    write = text(delegate.get(reverse("webmail:write")))
    assert f"{principal.address}&gt; (de sa part)" in write or f"{principal.address}> (de sa part)" in write
    delegate.post(reverse("webmail:write"), {
        "from": principal.address, "to": colleague.address, "subject": "Report de la réunion", "body": "Reportée.",
    })
    [received] = inbox(colleague)
    parsed = email.message_from_bytes(received, policy=policy.default)
    assert parsed["From"].addresses[0].addr_spec == principal.address
    assert parsed["Sender"].addresses[0].addr_spec == deputy.address  # RFC 5322 §3.6.2
    assert special_mailbox(principal.pk, "sent").messages == 1
    assert any("Inès Morel" in d and "a envoyé « Report de la réunion »" in d for d in _details(principal))
    assert any(f"envoyé de la part de {principal.address}" in d for d in _details(deputy))


def test_a_delegation_ends_with_its_period(people):
    principal, deputy, _colleague = people
    today = timezone.localdate()
    client_for(principal).post(reverse("sharing:index"), {
        "action": "delegate", "identifier": deputy.identifier, "until": today.isoformat(),
    })
    assert acl.visible_shared(deputy.pk)
    later = timezone.now() + timedelta(days=2)
    assert do_close_expired(later) == 1
    assert not acl.visible_shared(deputy.pk)
    assert any("délégation arrivée à son terme" in d for d in _details(principal))
    assert any("délégation arrivée à son terme" in d for d in _details(deputy))


@pytest.mark.parametrize(("fields", "message"), [
    ({"identifier": "personne.inconnue", "until": "2099-01-01"}, "aucun compte actif"),
    ({"until": "2000-01-01"}, "La date de fin est passée"),
    ({"until": "2999-01-01"}, "un an au plus"),
    ({"until": "pas une date"}, "Indiquez jusqu'à quand"),
])
def test_bad_delegations_are_refused_in_french(people, fields, message):
    principal, deputy, _colleague = people
    data = {"action": "delegate", "identifier": deputy.identifier, **fields}
    if fields.get("until") == "2099-01-01":
        data["until"] = (timezone.localdate() + timedelta(days=10)).isoformat()
    response = client_for(principal).post(reverse("sharing:index"), data)
    assert response.status_code == 400 and message in text(response)
    assert not acl.visible_shared(deputy.pk)


def test_sharing_someone_elses_folder_is_refused(people):
    principal, deputy, colleague = people
    theirs = do_create_mailbox(colleague.pk, "Privé")
    response = client_for(principal).post(reverse("sharing:index"), {
        "action": "share", "mailbox": theirs.pk, "identifier": deputy.identifier, "level": "read",
    })
    assert response.status_code == 400
    assert not acl.visible_shared(deputy.pk)
