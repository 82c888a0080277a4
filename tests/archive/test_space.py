"""The "Espace utilisé" page and the quota banner of the webmail: what takes
the space, bulk actions that free it, and a full mailbox that says why no new
mail arrives while sending still works."""

from __future__ import annotations

import pytest
from django.urls import reverse

from academail.store.models import Mailbox, Message, Usage
from tests.conftest import build_message
from tests.webmail.conftest import box_of, deliver

VIDEO = b"\x00video" * 60_000  # ~420 KB


@pytest.fixture
def mailbox_with_videos(person):
    person.quota_bytes = 1_600_000
    person.save()
    small = [deliver(person, build_message(subject=f"Note {i}", to=person.address)) for i in range(5)]
    videos = [
        deliver(person, build_message(subject=f"Vidéo sortie {i}", to=person.address, attachment=VIDEO))
        for i in range(3)
    ]
    return small, videos


def test_banner_says_what_to_do_with_a_link(web, person, mailbox_with_videos):
    page = web.get(reverse("webmail:folder", args=[box_of(person, "inbox").pk])).content.decode()
    used = Usage.objects.get(account=person).bytes
    assert used * 100 // person.quota_bytes >= 80
    assert "Votre boîte est utilisée à" in page
    assert reverse("archive:space") in page
    assert "Videz la Corbeille" in page


def test_no_banner_below_80_percent(web, person):
    deliver(person, build_message(to=person.address))
    page = web.get(reverse("webmail:folder", args=[box_of(person, "inbox").pk])).content.decode()
    assert "wm-quota-banner" not in page


def test_full_mailbox_says_why_and_sending_still_works(web, person, other):
    deliver(person, build_message(to=person.address))
    Usage.objects.filter(account=person).update(bytes=person.quota_bytes)
    page = web.get(reverse("webmail:folder", args=[box_of(person, "inbox").pk])).content.decode()
    assert "Votre boîte est pleine : les nouveaux messages ne vous parviennent plus" in page
    assert "Vous pouvez toujours envoyer des messages" in page
    response = web.post(reverse("webmail:write"), {"to": other.address, "cc": "", "bcc": "", "subject": "Malgré tout", "body": "Bonjour"})
    assert response.status_code == 302
    assert Message.objects.filter(mailbox=box_of(other, "inbox"), content__subject="Malgré tout").exists()


def test_space_page_shows_folders_largest_messages_and_attachments(web, person, mailbox_with_videos):
    _small, videos = mailbox_with_videos
    page = web.get(reverse("archive:space")).content.decode()
    assert "Espace utilisé" in page
    assert "Boîte de réception" in page
    # The three videos come first, before any small note.
    first_note = page.index("Note ")
    for i in range(3):
        assert page.index(f"Vidéo sortie {i}") < first_note
    assert "compte-rendu.pdf" in page  # the attachment list
    assert f'value="{videos[0].mailbox_id}:{videos[0].uid}"' in page


def test_destroy_selected_frees_space(web, person, mailbox_with_videos):
    _small, videos = mailbox_with_videos
    before = Usage.objects.get(account=person).bytes
    data = {"action": "delete", "confirm": "on", "m": [f"{v.mailbox_id}:{v.uid}" for v in videos]}
    response = web.post(reverse("archive:space_actions"), data)
    assert response.status_code == 302
    after = Usage.objects.get(account=person).bytes
    assert after < before // 2
    assert after * 100 // person.quota_bytes < 50
    assert not Message.objects.filter(pk__in=[v.pk for v in videos]).exists()
    assert Mailbox.objects.get(pk=videos[0].mailbox_id).messages == 5


def test_destroy_needs_confirmation(web, person, mailbox_with_videos):
    _small, videos = mailbox_with_videos
    web.post(reverse("archive:space_actions"), {"action": "delete", "m": [f"{videos[0].mailbox_id}:{videos[0].uid}"]})
    assert Message.objects.filter(pk=videos[0].pk).exists()


def test_move_to_archives(web, person, mailbox_with_videos):
    _small, videos = mailbox_with_videos
    web.post(reverse("archive:space_actions"), {"action": "archive", "m": [f"{v.mailbox_id}:{v.uid}" for v in videos]})
    archives = box_of(person, "archive")
    assert Message.objects.filter(mailbox=archives).count() == 3
    assert box_of(person, "inbox").messages == 5


def test_another_accounts_messages_are_404(web, person, other):
    theirs = deliver(other, build_message(to=other.address))
    response = web.post(
        reverse("archive:space_actions"),
        {"action": "delete", "confirm": "on", "m": [f"{theirs.mailbox_id}:{theirs.uid}"]},
    )
    assert response.status_code == 404
    assert Message.objects.filter(pk=theirs.pk).exists()


def test_space_page_needs_sign_in(client):
    response = client.get(reverse("archive:space"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def _run_jobs():
    from academail.jobs.runner import run_pending

    return run_pending()


def test_space_page_counts_by_year_and_sender_in_the_background(web, person):
    from datetime import UTC, datetime

    from academail.archive.counting import KIND
    from academail.jobs.models import Job

    videos = [
        deliver(person, build_message(subject=f"Vidéo {i}", sender="mediatheque@ville-exemple.fr",
                                      to=person.address, attachment=VIDEO))
        for i in range(2)
    ]
    notes = [deliver(person, build_message(subject=f"Note {i}", to=person.address)) for i in range(3)]
    Message.objects.filter(pk=notes[0].pk).update(internaldate=datetime(2019, 6, 1, 12, tzinfo=UTC))

    page = web.get(reverse("archive:space")).content.decode()
    assert "Comptage des messages par année et par expéditeur en cours" in page
    web.get(reverse("archive:space"))  # a second visit does not queue a second count
    assert Job.objects.filter(kind=KIND, account=person).count() == 1
    assert _run_jobs() == 1

    page = web.get(reverse("archive:space")).content.decode()
    assert "Comptage des messages par année" not in page and "Compté le" in page
    years = page[page.index('id="wm-space-years"'):page.index('id="wm-space-senders"')]
    this_year = videos[0].internaldate.year
    assert years.index(f">{this_year}<") < years.index(">2019<")  # newest first
    assert "?du=2019-01-01&amp;au=2019-12-31" in years
    senders = page[page.index('id="wm-space-senders"'):]
    assert senders.index("mediatheque@ville-exemple.fr") < senders.index("direction@college-exemple.fr")
    assert "?de=mediatheque%40ville-exemple.fr" in senders
    assert Job.objects.filter(kind=KIND, account=person).count() == 1  # fresh: no new count asked


def test_count_goes_stale_when_the_usage_moves_or_a_day_passes(web, person, mailbox_with_videos):
    from datetime import timedelta

    from django.utils import timezone

    from academail.store.space import do_count_space, do_destroy, read_space_summary

    _small, videos = mailbox_with_videos
    counted = do_count_space(person.pk)
    assert sum(y.messages for y in counted.years) == 8
    (sender,) = counted.senders
    assert (sender.address, sender.messages) == ("direction@college-exemple.fr", 8)
    assert not read_space_summary(person.pk).stale
    assert read_space_summary(person.pk, now=timezone.now() + timedelta(days=2)).stale
    do_destroy(person.pk, [(videos[0].mailbox_id, videos[0].uid)])
    assert read_space_summary(person.pk).stale
    assert sum(y.messages for y in do_count_space(person.pk).years) == 7


def test_another_accounts_count_is_never_shown(web, person, other):
    from academail.store.space import do_count_space

    deliver(other, build_message(subject="Privé", sender="secret@ailleurs.fr", to=other.address))
    do_count_space(other.pk)
    page = web.get(reverse("archive:space")).content.decode()
    assert "secret@ailleurs.fr" not in page
