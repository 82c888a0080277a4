"""The folder list, reading, attachments, actions, search and folder pages,
through Django's test client."""

from __future__ import annotations

import pytest
from django.urls import reverse

from academail.store.models import Flag, Mailbox, Message
from tests.conftest import build_message
from tests.webmail.conftest import box_of, deliver, deliver_many, html_message

pytestmark = pytest.mark.django_db(transaction=False)


def test_sign_in_required(client, person):
    response = client.get(reverse("webmail:index"))
    assert response.status_code == 302
    assert "/connexion/" in response["Location"]


def test_home_redirects_a_signed_in_person_to_the_inbox(web, person):
    response = web.get("/", follow=True)
    inbox = box_of(person, "inbox")
    assert response.redirect_chain[-1][0] == reverse("webmail:folder", args=[inbox.pk])
    assert "Boîte de réception" in response.content.decode()


def test_folder_pane_special_first_unread_and_quota(web, person):
    deliver(person, build_message(subject="Réunion de rentrée"))
    page = web.get(reverse("webmail:index"), follow=True).content.decode()
    order = [page.index(name) for name in ("Boîte de réception", "Envoyés", "Brouillons", "Corbeille", "Indésirables", "Archives")]
    assert order == sorted(order)
    assert 'aria-current="page"' in page
    assert '1<span class="fr-sr-only"> non lus</span>' in page
    assert "<meter" in page and "Réunion de rentrée" in page


def test_quota_warning_classes(web, person):
    from academail.store.models import Usage

    Usage.objects.filter(account=person).update(bytes=person.quota_bytes * 85 // 100)
    page = web.get(reverse("webmail:index"), follow=True).content.decode()
    assert "wm-quota--warning" in page
    Usage.objects.filter(account=person).update(bytes=person.quota_bytes * 96 // 100)
    page = web.get(reverse("webmail:index"), follow=True).content.decode()
    assert "wm-quota--critical" in page


def test_list_is_keyset_paginated(web, person):
    box = deliver_many(person, build_message(subject="Circulaire"), 55)
    url = reverse("webmail:folder", args=[box])
    first = web.get(url).content.decode()
    assert first.count('name="uid"') == 50
    assert "Messages plus anciens" in first
    assert "?avant=6" in first
    second = web.get(url + "?avant=6").content.decode()
    assert second.count('name="uid"') == 5
    assert "Messages plus anciens" not in second


def test_read_plain_marks_seen_and_linkifies(web, person):
    message = deliver(person, build_message(
        subject="Lien", body="Voir https://eduscol.education.fr/page?a=1&b=2. Et <b>pas de gras</b>.\n"))
    page = web.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode()
    assert '<a href="https://eduscol.education.fr/page?a=1&amp;b=2" rel="noopener noreferrer nofollow"' in page
    assert "&lt;b&gt;pas de gras&lt;/b&gt;" in page
    assert "direction@college-exemple.fr" in page
    assert "jeudi 26 novembre 2026" in page
    message.refresh_from_db()
    assert message.flags & Flag.SEEN
    assert Mailbox.objects.get(pk=message.mailbox_id).unseen == 0


def test_display_name_and_real_address_both_shown(web, person):
    message = deliver(person, build_message(sender='"Rectorat - Service paie" <pirate@exemple.com>'))
    page = web.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode()
    assert "Rectorat - Service paie" in page and "&lt;pirate@exemple.com&gt;" in page


def test_html_shown_in_sandboxed_frame_with_own_csp(web, person):
    message = deliver(person, html_message("<p>Bonjour <b>à tous</b></p>"))
    url = reverse("webmail:message", args=[message.mailbox_id, message.uid])
    page = web.get(url)
    text = page.content.decode()
    assert "<iframe" in text and 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in text
    assert "allow-scripts" not in text and "allow-same-origin" not in text
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    frame = web.get(reverse("webmail:message_frame", args=[message.mailbox_id, message.uid]))
    assert frame["Content-Security-Policy"].startswith("default-src 'none'; img-src data:;")
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    assert "<b>à tous</b>" in frame.content.decode()


def test_remote_images_blocked_until_asked(web, person):
    message = deliver(person, html_message('<p>Logo</p><img src="https://pisteur.example/pixel.gif" alt="logo">'))
    url = reverse("webmail:message", args=[message.mailbox_id, message.uid])
    frame_url = reverse("webmail:message_frame", args=[message.mailbox_id, message.uid])
    page = web.get(url).content.decode()
    assert "Afficher les images" in page
    blocked = web.get(frame_url)
    assert "pisteur.example" not in blocked.content.decode()
    assert "https:" not in blocked["Content-Security-Policy"]
    allowed = web.get(frame_url + "?images=1")
    assert 'src="https://pisteur.example/pixel.gif"' in allowed.content.decode()
    assert "img-src data: https:" in allowed["Content-Security-Policy"]
    assert "?images=1" in web.get(url + "?images=1").content.decode()


def test_cid_image_inlined_from_its_part(web, person):
    raw = (
        b"From: a@college-exemple.fr\r\nTo: julie.martin@ac-demo.fr\r\nSubject: cid\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/related; boundary="b"\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n'
        b'<img src="cid:logo@x" alt="logo">\r\n--b\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n"
    )
    message = deliver(person, raw)
    frame = web.get(reverse("webmail:message_frame", args=[message.mailbox_id, message.uid])).content.decode()
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in frame


def test_attachment_download_headers(web, person):
    message = deliver(person, build_message(attachment=b"%PDF-1.4 compte rendu"))
    url = reverse("webmail:message", args=[message.mailbox_id, message.uid])
    page = web.get(url).content.decode()
    assert "compte-rendu.pdf" in page and "application/pdf" in page
    response = web.get(reverse("webmail:attachment", args=[message.mailbox_id, message.uid, "2"]))
    assert response.status_code == 200
    assert response.content == b"%PDF-1.4 compte rendu"
    assert response["Content-Disposition"] == "attachment; filename=\"compte-rendu.pdf\"; filename*=UTF-8''compte-rendu.pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert web.get(reverse("webmail:attachment", args=[message.mailbox_id, message.uid, "9"])).status_code == 404


def test_source_is_plain_text(web, person):
    message = deliver(person, html_message("<script>alert(1)</script>"))
    response = web.get(reverse("webmail:source", args=[message.mailbox_id, message.uid]))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"<script>alert(1)</script>" in response.content


def _act(web, message, action, **extra):
    return web.post(reverse("webmail:actions", args=[message.mailbox_id]), {"uid": [message.uid], "action": action, **extra})


def test_flags_actions(web, person):
    message = deliver(person, build_message())
    _act(web, message, "seen")
    message.refresh_from_db()
    assert message.flags & Flag.SEEN
    _act(web, message, "unseen")
    _act(web, message, "flag")
    message.refresh_from_db()
    assert message.flags & Flag.FLAGGED and not message.flags & Flag.SEEN


def test_actions_need_post_and_csrf(client, person):
    from django.test import Client

    message = deliver(person, build_message())
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(person)
    url = reverse("webmail:actions", args=[message.mailbox_id])
    assert strict.get(url).status_code == 405
    assert strict.post(url, {"uid": message.uid, "action": "delete"}).status_code == 403


def test_delete_goes_to_trash_then_expunge(web, person):
    message = deliver(person, build_message(subject="À jeter"))
    _act(web, message, "delete")
    trash = box_of(person, "trash")
    assert not Message.objects.filter(pk=message.pk).exists()
    moved = Message.objects.get(mailbox=trash)
    assert moved.content.subject == "À jeter"
    web.post(reverse("webmail:actions", args=[trash.pk]), {"uid": [moved.uid], "action": "delete"})
    assert not Message.objects.filter(mailbox=trash).exists()
    trash.refresh_from_db()
    assert trash.messages == 0


def test_junk_and_move(web, person):
    from academail.store.mailboxes import do_create_mailbox

    first = deliver(person, build_message(subject="Promo"))
    second = deliver(person, build_message(subject="Projet"))
    _act(web, first, "junk")
    assert Message.objects.filter(mailbox=box_of(person, "junk")).count() == 1
    projets = do_create_mailbox(person.pk, "Projets")
    _act(web, second, "move", target=projets.pk)
    assert Message.objects.get(mailbox=projets).content.subject == "Projet"


def test_search_ignores_accents(web, person):
    deliver(person, build_message(subject="Réunion des élèves délégués"))
    deliver(person, build_message(subject="Cantine"))
    page = web.get(reverse("webmail:search"), {"q": "reunion eleves"}).content.decode()
    assert "<mark>Réunion</mark> des <mark>élèves</mark> délégués" in page and "Cantine" not in page
    empty = web.get(reverse("webmail:search"), {"q": "introuvable"}).content.decode()
    assert "Aucun message ne correspond" in empty


def test_folder_create_rename_delete(web, person):
    response = web.post(reverse("webmail:folders"), {"name": "Projets/2026"})
    assert response.status_code == 302
    box = Mailbox.objects.get(account=person, name="Projets/2026")
    web.post(reverse("webmail:folder_rename", args=[box.pk]), {"name": "Projets/Année 2026"})
    box.refresh_from_db()
    assert box.name == "Projets/Année 2026"
    assert "Supprimer le dossier" in web.get(reverse("webmail:folder_delete", args=[box.pk])).content.decode()
    web.post(reverse("webmail:folder_delete", args=[box.pk]))
    assert not Mailbox.objects.filter(pk=box.pk).exists()


def test_folder_errors_in_french(web, person):
    page = web.post(reverse("webmail:folders"), {"name": "Envoyés"}).content.decode()
    assert "existe déjà" in page
    inbox = box_of(person, "inbox")
    response = web.post(reverse("webmail:folder_rename", args=[inbox.pk]), {"name": "Autre"}, follow=True)
    assert "ne peuvent pas être renommés" in response.content.decode()
    response = web.post(reverse("webmail:folder_delete", args=[inbox.pk]), follow=True)
    assert "ne peuvent pas être supprimés" in response.content.decode()
    assert Mailbox.objects.filter(pk=inbox.pk).exists()


def test_empty_trash_needs_confirmation_and_only_for_trash_or_junk(web, person):
    from academail.store.messages import quota_usage

    deliver(person, build_message(subject="à jeter"))
    inbox, trash = box_of(person, "inbox"), box_of(person, "trash")
    web.post(reverse("webmail:actions", args=[inbox.pk]), {"action": "delete", "uid": ["1"]})
    assert "Vider la corbeille" in web.get(reverse("webmail:folder", args=[trash.pk])).content.decode()
    web.post(reverse("webmail:empty_folder", args=[trash.pk]))  # no confirmation: nothing happens
    trash.refresh_from_db()
    assert trash.messages == 1
    web.post(reverse("webmail:empty_folder", args=[trash.pk]), {"confirm": "on"})
    trash.refresh_from_db()
    assert trash.messages == 0 and quota_usage(person.pk)[0] == 0
    deliver(person, build_message(subject="à garder"))
    web.post(reverse("webmail:empty_folder", args=[inbox.pk]), {"confirm": "on"})
    inbox.refresh_from_db()
    assert inbox.messages == 1


def test_paging_links_are_the_dsfr_pagination(web, person):
    """fr-pagination: on the first page "Messages les plus récents" is there but
    not a link (aria-disabled), "Messages plus anciens" is the next link; on
    the last page the first page is a link and there is no next item."""
    box = deliver_many(person, build_message(subject="Circulaire"), 55)
    url = reverse("webmail:folder", args=[box])
    first = web.get(url).content.decode()
    assert '<ul class="fr-pagination__list">' in first
    assert ('<a class="fr-pagination__link fr-pagination__link--first fr-pagination__link--lg-label" aria-disabled="true" '
            'role="link">Messages les plus récents</a>') in first
    assert (f'<a class="fr-pagination__link fr-pagination__link--next fr-pagination__link--lg-label" href="{url}?avant=6" '
            'rel="next">Messages plus anciens</a>') in first
    last = web.get(url + "?avant=6").content.decode()
    assert f'<a class="fr-pagination__link fr-pagination__link--first fr-pagination__link--lg-label" href="{url}">' in last
    assert "fr-pagination__link--next" not in last
    # A list that fits on one page has no pagination at all.
    trash = box_of(person, "trash")
    assert "fr-pagination" not in web.get(reverse("webmail:folder", args=[trash.pk])).content.decode()


def test_a_list_row_says_everything_once_written_in_python(web, person):
    """The rows are written by webmail.rows, not per-row template filters
    (issue 20): the same link, marks, date, size and selection name as before."""
    message = deliver(person, build_message(subject="Réunion de rentrée", attachment=b"%PDF-1.4 " + b"x" * 4000))
    url = reverse("webmail:folder", args=[message.mailbox_id])
    page = web.get(url).content.decode()
    row = page[page.index(f'data-uid="{message.uid}"'):]
    row = row[: row.index("</tr>")]
    href = reverse("webmail:message", args=[message.mailbox_id, message.uid])
    assert f'<a href="{href}">Réunion de rentrée</a>' in row
    assert 'aria-label="Sélectionner Réunion de rentrée"' in row
    assert '<span class="wm-mark wm-mark--unread" title="Non lu">●<span class="fr-sr-only">Non lu</span></span>' in row
    assert 'title="Pièce jointe"' in row and 'title="Suivi"' not in row
    # Date: header, shown in Paris time ("Thu, 26 Nov 2026 10:00:00 +0100").
    assert '<time datetime="2026-11-26T10:00:00+01:00">26 novembre 2026, 10:00</time>' in row
    assert "\xa0Ko</td>" in row
    assert "direction@college-exemple.fr" in row

    found = web.get(reverse("webmail:search") + "?q=reunion").content.decode()
    row = found[found.index(f'data-uid="{message.uid}"'):]
    row = row[: row.index("</tr>")]
    assert f'<a href="{href}"><mark>Réunion</mark> de rentrée</a>' in row
    assert "<td>Boîte de réception</td>" in row
