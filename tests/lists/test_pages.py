"""The lists' pages with Django's client: the secretariat creates a directory
list of its établissement and a hand list, adds members, senders and
moderators; a list containing itself, or a list that contains it, is refused
when saved (French error, nothing saved); who sees what (another
établissement's list is a 404, as is a list one is not a member of);
moderation from the page; the archive; leaving a list."""

from __future__ import annotations

import html

import pytest

from academail.delivery.route import deliver
from academail.lists.models import Kind, MailingList, Member, Moderator, Post, PostStatus
from tests.conftest import build_message

UAI = "0341234X"


@pytest.fixture
def secretary(make_account):
    return make_account("Sophie", "Secretaire", role="secretariat", uai=UAI)


@pytest.fixture
def web(client, secretary):
    client.force_login(secretary)
    return client


def text(response) -> str:
    return html.unescape(response.content.decode())


def create(web, **fields):
    data = {"name": "Équipe", "address": "equipe@ac-demo.fr", "kind": "manual", "posting": "members", **fields}
    return web.post("/courrier/listes/nouvelle/", data)


def test_secretariat_creates_a_directory_list_of_its_etablissement(web, secretary, make_account):
    for i in range(2):
        make_account("Prof", f"Numero{i}", uai=UAI, function="teacher")
    make_account("Paul", "Ailleurs", uai="0349999Z", function="teacher")
    response = create(web, name="Tous les professeurs du collège", address="profs.0341234x@ac-demo.fr",
                      kind="directory", dir_uai="0341234x", dir_function="teacher", posting="senders")
    mailing_list = MailingList.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/courrier/listes/{mailing_list.pk}/gerer/"
    assert (mailing_list.kind, mailing_list.dir_uai, mailing_list.owner_uai) == (Kind.DIRECTORY, UAI, UAI)
    page = text(web.get(f"/courrier/listes/{mailing_list.pk}/gerer/"))
    assert "2 personnes de l'annuaire reçoivent aujourd'hui les messages de la liste." in page


def test_secretariat_cannot_target_another_etablissement_nor_a_departement(web):
    response = create(web, kind="directory", dir_uai="0349999Z", dir_function="teacher")
    assert response.status_code == 400
    assert "Vous ne gérez que les listes de votre établissement." in text(response)
    response = create(web, kind="directory", dir_departement="034", dir_function="principal")
    assert response.status_code == 400
    assert "Seul un administrateur crée une liste à l'échelle d'un département." in text(response)
    assert not MailingList.objects.exists()


def test_a_list_containing_itself_or_a_list_that_contains_it_is_refused(web):
    create(web, name="A", address="a@ac-demo.fr")
    create(web, name="B", address="b@ac-demo.fr")
    a, b = MailingList.objects.get(address="a@ac-demo.fr"), MailingList.objects.get(address="b@ac-demo.fr")
    response = web.post(f"/courrier/listes/{a.pk}/gerer/", {"action": "add_member", "address": "A@ac-demo.fr"})
    assert response.status_code == 400
    assert "Une liste ne peut pas se contenir elle-même" in text(response)
    assert web.post(f"/courrier/listes/{a.pk}/gerer/", {"action": "add_member", "address": "b@ac-demo.fr"}).status_code == 302
    response = web.post(f"/courrier/listes/{b.pk}/gerer/", {"action": "add_member", "address": "a@ac-demo.fr"})
    assert response.status_code == 400
    assert "La liste a@ac-demo.fr contient déjà b@ac-demo.fr" in text(response)
    assert list(Member.objects.values_list("mailing_list__address", "address")) == [("a@ac-demo.fr", "b@ac-demo.fr")]


def test_unknown_academie_member_is_refused_and_outside_one_accepted(web):
    create(web)
    mailing_list = MailingList.objects.get()
    url = f"/courrier/listes/{mailing_list.pk}/gerer/"
    response = web.post(url, {"action": "add_member", "address": "personne@ac-demo.fr"})
    assert response.status_code == 400 and "Aucun compte de l'académie" in text(response)
    assert web.post(url, {"action": "add_member", "address": "Parent.Eleve@Exemple.org"}).status_code == 302
    assert list(Member.objects.values_list("address", "account_id")) == [("parent.eleve@exemple.org", None)]


def test_other_etablissement_and_non_members_get_404(client, make_account, secretary):
    other = make_account("Autre", "Secretaire", role="secretariat", uai="0349999Z")
    stranger = make_account("Jean", "Dehors")
    mailing_list = MailingList.objects.create(address="equipe@ac-demo.fr", name="Équipe", owner_uai=UAI)
    client.force_login(other)
    assert client.get(f"/courrier/listes/{mailing_list.pk}/gerer/").status_code == 404
    assert client.post(f"/courrier/listes/{mailing_list.pk}/gerer/", {"action": "delete"}).status_code == 404
    client.force_login(stranger)
    assert client.get(f"/courrier/listes/{mailing_list.pk}/").status_code == 404
    assert client.get("/courrier/listes/nouvelle/").status_code == 404
    assert MailingList.objects.exists()


def test_moderation_from_the_page_then_archive_and_leaving(client, make_account):
    moderator = make_account("Claire", "Principale")
    member = make_account("Marie", "Membre")
    mailing_list = MailingList.objects.create(
        address="equipe@ac-demo.fr", name="Équipe", posting="moderated", allow_unsubscribe=True
    )
    Moderator.objects.create(mailing_list=mailing_list, account=moderator)
    Member.objects.create(mailing_list=mailing_list, address=member.address, account=member)
    deliver(build_message(subject="Sortie au musée", sender="parent@exemple.org", to=mailing_list.address),
            [mailing_list.address], envelope_from="parent@exemple.org")
    post = Post.objects.get()
    client.force_login(member)
    page = text(client.get(f"/courrier/listes/{mailing_list.pk}/"))
    assert "Sortie au musée" not in page  # held: not in the archive, and a member does not moderate
    assert client.get(f"/courrier/listes/{mailing_list.pk}/messages/{post.pk}/").status_code == 404
    assert client.post(f"/courrier/listes/{mailing_list.pk}/messages/{post.pk}/moderer/",
                       {"decision": "approve"}).status_code == 404

    client.force_login(moderator)
    page = text(client.get(f"/courrier/listes/{mailing_list.pk}/"))
    assert "Sortie au musée" in page and "Accepter et distribuer" in page
    response = client.post(f"/courrier/listes/{mailing_list.pk}/messages/{post.pk}/moderer/", {"decision": "approve"})
    assert response.status_code == 302
    assert Post.objects.get().status == PostStatus.DISTRIBUTED

    client.force_login(member)
    page = text(client.get(f"/courrier/listes/{mailing_list.pk}/"))
    assert "Sortie au musée" in page
    body = text(client.get(f"/courrier/listes/{mailing_list.pk}/messages/{post.pk}/"))
    assert "Le conseil de classe de 3eB aura lieu jeudi." in body
    assert client.post(f"/courrier/listes/{mailing_list.pk}/quitter/").status_code == 302
    assert not Member.objects.exists()
    assert client.get(f"/courrier/listes/{mailing_list.pk}/").status_code == 404


def test_moderators_and_senders_are_added_and_removed(web, make_account):
    moderator = make_account("Claire", "Principale")
    create(web)
    mailing_list = MailingList.objects.get()
    url = f"/courrier/listes/{mailing_list.pk}/gerer/"
    assert web.post(url, {"action": "add_moderator", "address": moderator.address}).status_code == 302
    assert web.post(url, {"action": "add_sender", "address": "dane@ac-demo.fr"}).status_code == 302
    response = web.post(url, {"action": "add_moderator", "address": "parent@exemple.org"})
    assert response.status_code == 400 and "Un modérateur est un compte de l'académie" in text(response)
    page = text(web.get(url))
    assert f"Retirer {moderator.address}" in page and "Retirer dane@ac-demo.fr" in page
    sender_id = mailing_list.senders.get().pk
    assert web.post(url, {"action": "remove_sender", "id": sender_id}).status_code == 302
    assert not mailing_list.senders.exists() and mailing_list.moderators.count() == 1
