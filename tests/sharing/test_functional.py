"""Functional mailboxes (issue 19 §1): created by the administrator and the
secretariat in the browser and by CSV, members and their rights, the
mailbox's journal, departures, and who may reach which page (IDOR)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from academail.accounts.models import Kind
from academail.accounts.services import check_sign_in
from academail.sharing import functional
from academail.sharing.models import FunctionalMailbox
from academail.store import acl
from academail.store.webmail import folder_pane, special_mailbox
from tests.imap.helpers import deliver_to
from tests.sharing.helpers import client_for, text

SCHOOL = "Collège Jean Moulin"


@pytest.fixture
def secretary(make_account):
    return make_account("Nadia", "Secretaire", role="secretariat", establishment=SCHOOL)


@pytest.fixture
def staff(make_account):
    principal = make_account("Paul", "Girard", establishment=SCHOOL)
    deputy = make_account("Inès", "Morel", establishment=SCHOOL)
    return principal, deputy




def test_secretariat_creates_one_in_the_browser(secretary, staff):
    principal, deputy = staff
    client = client_for(secretary)
    page = client.get(reverse("sharing:functional_new"))
    assert page.status_code == 200 and "ce.<uai>@ac-demo.fr" in text(page)
    response = client.post(reverse("sharing:functional_new"), {
        "uai": "0341234X", "name": SCHOOL, "address": "", "members": deputy.identifier,
        "managers": principal.identifier, "action": "create",
    })
    box = FunctionalMailbox.objects.get(uai="0341234x")
    assert response.status_code == 302 and response["Location"] == reverse("sharing:functional", args=[box.pk])
    account = box.account
    assert account.address == "ce.0341234x@ac-demo.fr" and account.kind == Kind.FUNCTIONAL
    assert account.establishment == SCHOOL and not account.has_usable_password()
    # The functional mailbox has its folders and no password of its own.
    assert special_mailbox(account.pk, "sent").name == "Envoyés"
    assert check_sign_in(account.identifier, "", protocol="imap", remote_addr="127.0.0.1").account is None
    rights = {row.identifier: row.rights for row in functional.members_of(box)}
    assert rights == {deputy.identifier: "lrswikxte0", principal.identifier: "lrswikxtea0"}
    journal = list(account.journal.values_list("detail", flat=True))
    assert any("Inès Morel" in line and "membre ajouté" in line for line in journal), journal
    assert any("ce.0341234x@ac-demo.fr" in line for line in deputy.journal.values_list("detail", flat=True))


def test_bad_input_is_refused_in_french(secretary, staff):
    client = client_for(secretary)
    bad_uai = client.post(reverse("sharing:functional_new"), {"uai": "12AB", "name": SCHOOL, "action": "create"})
    assert bad_uai.status_code == 400 and "n'est pas valide" in text(bad_uai)
    unknown = client.post(reverse("sharing:functional_new"), {
        "uai": "0341234X", "name": SCHOOL, "members": "personne.inconnue", "action": "create",
    })
    assert unknown.status_code == 400 and "aucun compte actif" in text(unknown)
    other_school = client.post(reverse("sharing:functional_new"), {
        "uai": "0341234X", "name": "Lycée Victor Hugo", "establishment": "Lycée Victor Hugo", "action": "create",
    })
    assert other_school.status_code == 400 and "n'est pas le vôtre" in text(other_school)
    assert not FunctionalMailbox.objects.exists()  # nothing half-made
    client.post(reverse("sharing:functional_new"), {"uai": "0341234X", "name": SCHOOL, "action": "create"})
    again = client.post(reverse("sharing:functional_new"), {"uai": "0341234X", "name": SCHOOL, "action": "create"})
    assert again.status_code == 400 and "déjà utilisée" in text(again)


def test_csv_import(make_account, staff):
    principal, deputy = staff
    admin = make_account("Alice", "Admin", role="admin")
    data = (
        "uai;nom;adresse;membres;gestionnaires\n"
        f"0341234X;{SCHOOL};;{deputy.identifier};{principal.identifier}\n"
        "0349999Z;Lycée Joffre;ce.joffre@ac-demo.fr;;\n"
        "123;Sans UAI;;;\n"
        f"0341111A;École du Parc;;inconnu.total;\n"
    ).encode("cp1252")
    response = client_for(admin).post(reverse("sharing:functional_new"), {
        "action": "import", "file": _upload(data),
    })
    body = text(response)
    assert response.status_code == 200
    assert "2 boîtes créées" in body and "Ligne 4" in body and "Ligne 5" in body
    assert set(FunctionalMailbox.objects.values_list("account__address", flat=True)) == {
        "ce.0341234x@ac-demo.fr", "ce.joffre@ac-demo.fr",
    }


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("boites.csv", data, content_type="text/csv")


def test_members_page_and_idor(secretary, staff, make_account):
    principal, deputy = staff
    box = functional.check_create_functional(secretary, uai="0341234X", name=SCHOOL, managers=[principal.identifier])
    url = reverse("sharing:functional", args=[box.pk])
    # The principal manages it: adds the deputy with read and mark only.
    manager = client_for(principal)
    response = manager.post(url, {"identifier": deputy.identifier, "rights": ["read", "mark"], "action": "set"})
    assert response.status_code == 302
    assert {r.identifier: r.rights for r in functional.members_of(box)}[deputy.identifier] == "lrsw"
    page = text(manager.get(url))
    assert "Inès Morel" in page and "Paul Girard" in page and "membre ajouté" in page
    # Neither a plain member nor someone from elsewhere reaches the page.
    assert client_for(deputy).get(url).status_code == 404
    outsider = make_account("Omar", "Benali", role="secretariat", establishment="Lycée Victor Hugo")
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider).post(url, {"grantee": deputy.pk, "action": "remove"}).status_code == 404
    assert client_for(deputy).get(reverse("sharing:functional_new")).status_code == 404
    # Removal ends access.
    manager.post(url, {"grantee": deputy.pk, "action": "remove"})
    assert not acl.visible_shared(deputy.pk)


def test_departure_in_the_secretariat_console_ends_access(secretary, staff):
    principal, deputy = staff
    box = functional.check_create_functional(secretary, uai="0341234X", name=SCHOOL, members=[deputy.identifier])
    assert acl.visible_shared(deputy.pk)
    client_for(secretary).post(reverse("assistance:secretariat_departure", args=[deputy.pk]), {"confirm": "on"})
    assert not acl.visible_shared(deputy.pk)
    assert not functional.members_of(box)


def test_the_switcher_lists_it_with_its_unread_count(secretary, staff):
    principal, deputy = staff
    box = functional.check_create_functional(secretary, uai="0341234X", name=SCHOOL, members=[deputy.identifier])
    deliver_to(box.account)
    deliver_to(box.account)
    page = text(client_for(deputy).get(reverse("sharing:index")))
    assert "ce.0341234x@ac-demo.fr" in page and "2<span" in page
    assert folder_pane(deputy.pk).folders  # their own folders are unchanged
