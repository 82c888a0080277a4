"""Address autocompletion: the académie directory (active accounts, name and
address only, accents ignored, at most 10) and the person's own recent
recipients; sign-in, method and a rate limit against bulk scraping."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from academail.accounts import directory
from academail.accounts.models import Status


@pytest.fixture(autouse=True)
def _fresh():
    cache.clear()
    directory.forget_index()
    yield
    directory.forget_index()


def _ask(web, q):
    response = web.get(reverse("webmail:directory"), {"q": q})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()["results"]


def test_accents_case_and_order_are_ignored(web, make_account):
    herve = make_account("Hervé", "Le Guen")
    for query in ("herve", "HERVÉ", "Hervé le", "le guen", "LE GUEN herv", herve.address[:6]):
        results = _ask(web, query)
        assert [r["address"] for r in results] == [herve.address], query
    (result,) = _ask(web, "hervé")
    assert result == {"name": "Hervé Le Guen", "address": herve.address, "recent": False}


def test_no_private_field_is_ever_returned(web, make_account):
    make_account("Aurélie", "Lefèvre", numen="11E0000099ABC", secondary_address="aurelie.perso@exemple.fr")
    response = web.get(reverse("webmail:directory"), {"q": "aurel"})
    body = response.content.decode()
    assert "11E0000099" not in body and "perso@exemple.fr" not in body and "numen" not in body.lower()
    (result,) = response.json()["results"]
    assert set(result) == {"name", "address", "recent"}


def test_inactive_accounts_are_left_out_even_from_a_built_index(web, make_account):
    gone = make_account("Sébastien", "Parti")
    assert _ask(web, "sebastien")  # the index now holds him
    gone.status = Status.DISABLED
    gone.save()
    assert _ask(web, "sebastien") == []
    make_account("Sébastienne", "Attente", status=Status.PENDING)
    directory.forget_index()
    assert _ask(web, "sebastien") == []


def test_short_queries_and_the_cap(web, make_account):
    for n in range(15):
        make_account("Camille", f"Dupont{n:02d}")
    assert _ask(web, "c") == []
    assert _ask(web, "") == []
    results = _ask(web, "camille")
    assert len(results) == directory.MAX_RESULTS
    assert len({r["address"] for r in results}) == directory.MAX_RESULTS


def test_recent_recipients_come_first_and_stay_private(web, person, other, make_account):
    web.post(reverse("webmail:write"), {"to": "parent.eleve@exemple.org", "subject": "Sortie", "body": "Bonjour"})
    web.post(reverse("webmail:write"), {"to": other.address, "subject": "Réunion", "body": "Bonjour"})
    (recent,) = _ask(web, "parent")
    assert recent == {"name": "", "address": "parent.eleve@exemple.org", "recent": True}
    # A colleague written to recently is named from the directory.
    results = _ask(web, "durand")
    assert results[0] == {"name": "Paul Durand", "address": other.address, "recent": True}
    assert [r["address"] for r in results].count(other.address) == 1

    from django.test import Client

    theirs = Client()
    theirs.force_login(other)
    assert _ask(theirs, "parent") == []  # someone else's recipients never show


def test_sign_in_and_method(client, person):
    assert client.get(reverse("webmail:directory"), {"q": "julie"}).status_code == 401
    client.force_login(person)
    assert client.post(reverse("webmail:directory"), {"q": "julie"}).status_code == 405


def test_rate_limit_against_scraping(web, settings, make_account):
    settings.WEBMAIL_DIRECTORY_RATE = 3
    for _ in range(3):
        _ask(web, "julie")
    response = web.get(reverse("webmail:directory"), {"q": "ju"})
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert "patientez" in response.json()["error"]


@pytest.mark.django_db(transaction=True)
def test_a_stale_index_is_rebuilt_in_the_background(make_account, settings):
    import time

    make_account("Odile", "Ancienne")
    assert [p.name for p in directory.search_directory("odile")] == ["Odile Ancienne"]
    make_account("Odile", "Nouvelle")
    settings.WEBMAIL_DIRECTORY_TTL = 0
    # The stale index answers (no wait for the rebuild, which runs in a thread of its own).
    assert "Odile Ancienne" in [p.name for p in directory.search_directory("odile")]
    deadline = time.monotonic() + 10
    while directory._index.rebuilding:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    settings.WEBMAIL_DIRECTORY_TTL = 300
    assert sorted(p.name for p in directory.search_directory("odile")) == ["Odile Ancienne", "Odile Nouvelle"]
