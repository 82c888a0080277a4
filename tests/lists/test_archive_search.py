"""Search in a list's archive from the webmail: accents and case ignored,
every word as a prefix in the subject, the sender or the text, newest
first, paginated with the query kept; only for those who may read the
archive (anyone else: the list's 404), and held or refused posts never
found. Both the per-post probe and the shared index give the same answer."""

from __future__ import annotations

import html

import pytest

from academail.delivery.route import deliver
from academail.lists import services
from academail.lists.models import MailingList, Member, Post, PostStatus
from academail.store import search
from tests.conftest import build_message

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def archive(make_account):
    member = make_account("Marie", "Membre")
    team = MailingList.objects.create(address="equipe@ac-demo.fr", name="Équipe", posting="members")
    Member.objects.create(mailing_list=team, address=member.address, account=member)
    posts = [
        ("Réunion de rentrée", "La réunion aura lieu au réfectoire."),
        ("Sortie au musée", "Prévoir les autorisations parentales."),
        ("Conseil pédagogique", "Ordre du jour : évaluations et réunion des équipes."),
        ("Cantine", "Menus de la semaine."),
    ]
    for subject, body in posts:
        deliver(build_message(subject=subject, body=body, sender=member.address, to=team.address),
                [team.address], envelope_from=member.address)
    assert Post.objects.filter(status=PostStatus.DISTRIBUTED).count() == 4
    return team, member


def _subjects(posts) -> list[str]:
    return [p.subject for p in posts]


@pytest.mark.parametrize("probe_limit", [search.PROBE_LIMIT, 0])  # per post / the shared index
def test_search_ignores_accents_and_case_and_is_paginated(archive, client, monkeypatch, probe_limit):
    monkeypatch.setattr(search, "PROBE_LIMIT", probe_limit)
    team, member = archive
    # "reunion" finds "Réunion" (subject) and "réunion" (text), newest first.
    assert _subjects(services.archive_search(team, "REUNION")) == ["Conseil pédagogique", "Réunion de rentrée"]
    assert _subjects(services.archive_search(team, "réfect")) == ["Réunion de rentrée"]  # a word's prefix
    assert _subjects(services.archive_search(team, "reunion equipes")) == ["Conseil pédagogique"]  # every word
    assert _subjects(services.archive_search(team, "marie")) == _subjects(services.archive_page(team))  # the sender
    assert services.archive_search(team, "piscine") == []
    assert services.archive_search(team, " !? ") is None

    client.force_login(member)
    monkeypatch.setattr(services, "PAGE_SIZE", 1)
    first = _text(client.get(f"/courrier/listes/{team.pk}/", {"q": "réunion"}))
    assert "Conseil pédagogique" in first and "Réunion de rentrée" not in first and "Cantine" not in first
    assert "Messages contenant « réunion »" in first
    newest = Post.objects.get(subject="Conseil pédagogique").pk
    assert f"?avant={newest}&q=r%C3%A9union" in first  # the next page keeps the query
    second = _text(client.get(f"/courrier/listes/{team.pk}/", {"q": "réunion", "avant": newest}))
    assert "Réunion de rentrée" in second and "Conseil pédagogique" not in second
    assert "Aucun message des archives ne contient ces mots." in _text(
        client.get(f"/courrier/listes/{team.pk}/", {"q": "piscine"}))


def test_only_readers_of_the_archive_search_it_and_held_posts_stay_out(archive, client, make_account):
    team, member = archive
    outsider = make_account("Jean", "Dupont")
    client.force_login(outsider)
    assert client.get(f"/courrier/listes/{team.pk}/", {"q": "réunion"}).status_code == 404
    # A post held for moderation (or refused) is not in the archive, so not found.
    Post.objects.filter(subject="Cantine").update(status=PostStatus.HELD)
    assert services.archive_search(team, "menus") == []
    # Another list's archive is another scope.
    other = MailingList.objects.create(address="autre@ac-demo.fr", name="Autre", posting="members")
    assert services.archive_search(other, "réunion") == []
