"""In-place navigation's fragments (issue 20): with the X-Academail-Fragment
header, the same webmail views answer the page's title, notices and content
(the reading region and the folder pane) without the site's header, footer,
styles and scripts, say so in the same response header, and keep every
check of the whole page (sign-in, another account's ids)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import build_message
from tests.webmail.conftest import box_of, deliver, deliver_many

pytestmark = pytest.mark.django_db(transaction=False)

FRAGMENT = {"HTTP_X_ACADEMAIL_FRAGMENT": "1"}


def test_a_folder_as_a_fragment_and_as_a_page(web, person):
    box = deliver_many(person, build_message(subject="Circulaire de rentrée"), 55)
    url = reverse("webmail:folder", args=[box])
    whole = web.get(url)
    part = web.get(url + "?avant=6", **FRAGMENT)
    assert part.status_code == 200
    assert part["X-Academail-Fragment"] == "1"
    assert "X-Academail-Fragment" not in whole
    assert "X-Academail-Fragment" in whole["Vary"] and "X-Academail-Fragment" in part["Vary"]
    page, fragment = whole.content.decode(), part.content.decode()
    assert "<header" in page and "<footer" in page and "stylesheet" in page and "inplace" in page
    assert "<header" not in fragment and "<footer" not in fragment and "<script" not in fragment and "<link" not in fragment
    assert "<title>Boîte de réception — academail</title>" in fragment
    # The regions the script swaps: the list with its rows, the folder pane, the search field.
    assert 'class="wm-main"' in fragment and fragment.count('name="uid"') == 5
    assert 'class="wm-drawer__body"' in fragment and 'aria-current="page"' in fragment
    assert 'id="wm-q"' in fragment
    assert len(fragment) < len(page) / 2


def test_a_message_and_a_search_as_fragments(web, person):
    message = deliver(person, build_message(subject="Conseil de classe", body="Jeudi à 17 h."))
    inbox = box_of(person, "inbox")
    opened = web.get(reverse("webmail:message", args=[inbox.pk, message.uid]), **FRAGMENT).content.decode()
    assert '<h1 id="wm-subject">Conseil de classe</h1>' in opened and "Jeudi à 17 h." in opened
    assert "<title>Conseil de classe — academail</title>" in opened
    # Opening marked it read: the pane in the fragment has no unread count left.
    assert "non lus</span>" not in opened.split('class="wm-drawer__body"', 1)[1]
    found = web.get(reverse("webmail:search") + "?q=conseil", **FRAGMENT)
    assert found["X-Academail-Fragment"] == "1"
    text = found.content.decode()
    assert "<mark>Conseil</mark> de classe" in text and "<header" not in text and 'value="conseil"' in text


def test_notices_come_with_the_fragment(web, person):
    message = deliver(person, build_message(subject="À supprimer"))
    inbox = box_of(person, "inbox")
    web.post(reverse("webmail:actions", args=[inbox.pk]), {"action": "delete", "uid": [message.uid]})
    text = web.get(reverse("webmail:folder", args=[inbox.pk]), **FRAGMENT).content.decode()
    assert '<div class="fr-messages" role="status">' in text and "Supprimé." in text


def test_a_fragment_checks_like_the_page(client, web, person, other):
    message = deliver(other, build_message(subject="Pas pour Julie"))
    theirs = box_of(other, "inbox")
    refused = web.get(reverse("webmail:message", args=[theirs.pk, message.uid]), **FRAGMENT)
    assert refused.status_code == 404
    assert "X-Academail-Fragment" not in refused
    client.logout()
    signed_out = client.get(reverse("webmail:folder", args=[theirs.pk]), **FRAGMENT)
    assert signed_out.status_code == 302 and "/connexion/" in signed_out["Location"]
