"""Platform-wide page rules: the default security headers every page gets,
the French page for a refused form (CSRF), and the main navigation."""

from __future__ import annotations

import pathlib
import re

import pytest
from django.test import Client

from academail.config.security import PAGE_CSP

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, make_account):
    client.force_login(make_account("Julie", "Martin"))
    return client


def test_every_page_gets_the_one_strict_policy(web):
    # One policy, set in config.security: the webmail, filters, forwarding,
    # account and sign-in pages carry no copy of their own (the message frame
    # and downloads set theirs: tests/webmail/test_pages.py).
    for client, url in ((web, "/courrier/"), (web, "/courrier/filtres/"), (web, "/courrier/transfert/"),
                        (web, "/compte/"), (Client(), "/connexion/")):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        assert response["Content-Security-Policy"] == PAGE_CSP, url
        assert response["Referrer-Policy"] == "same-origin", url
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_a_refused_form_explains_itself_in_french():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/connexion/", {"identifier": "jmartin", "password": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "Ce formulaire n'a pas pu être envoyé" in page
    assert "rechargez-la" in page and "/assistance/" in page
    assert "CSRF" not in page


def test_navigation_marks_the_current_feature(web):
    page = web.get("/courrier/filtres/").content.decode()
    assert '<a class="fr-nav__link" href="/courrier/filtres/" aria-current="page">Filtres et absence</a>' in page
    assert '<a class="fr-nav__link" href="/courrier/">Courrier</a>' in page
    inbox = web.get("/courrier/", follow=True).content.decode()
    assert '<a class="fr-nav__link" href="/courrier/" aria-current="page">Courrier</a>' in inbox


def test_no_navigation_for_people_signed_out():
    page = Client().get("/connexion/").content.decode()
    assert "Menu principal" not in page


def test_favicon():
    from django.contrib.staticfiles import finders

    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    # The hashed name ServeStatic serves (cached for a year), and it is served.
    assert re.search(r"/academail/favicon\.[0-9a-f]{12}\.svg$", response["Location"])
    assert Client().get(response["Location"]).status_code == 200
    assert b"<svg" in pathlib.Path(finders.find("academail/favicon.svg")).read_bytes()
