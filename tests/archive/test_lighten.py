"""'Alléger les anciens messages': attachments of old messages removed in the
background, the text kept with a note, flags and dates kept, the space freed,
recent and small ones untouched, a second run finding nothing more; refused
without the confirmation box or with values not offered."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from academail.accounts.models import EventKind, JournalEntry
from academail.archive.lighten import KIND
from academail.jobs.models import Job
from academail.jobs.runner import run_pending
from academail.store.models import Expunged, Flag, Message, Usage
from academail.store.space import read_message_bytes
from tests.conftest import build_message
from tests.webmail.conftest import box_of, deliver

VIDEO = b"\x00video" * 60_000  # ~420 KB
LOGO = b"\x89PNG" * 50


def _old(message, days: int):
    Message.objects.filter(pk=message.pk).update(internaldate=timezone.now() - timedelta(days=days),
                                                 flags=Flag.SEEN | Flag.FLAGGED, keywords="$Important")


def _post(web, **fields):
    data = {"years": "2", "min_size": "102400", "confirm": "on"}
    data.update(fields)
    return web.post(reverse("archive:space_lighten"), data)


def test_old_attachments_go_the_text_stays(web, person):
    old_video = deliver(person, build_message(subject="Sortie 2023", to=person.address, attachment=VIDEO))
    old_small = deliver(person, build_message(subject="Logo", to=person.address, attachment=LOGO))
    recent = deliver(person, build_message(subject="Sortie cette année", to=person.address, attachment=VIDEO))
    _old(old_video, 900)
    _old(old_small, 900)
    used = Usage.objects.get(account=person).bytes

    response = _post(web)
    assert response.status_code == 302
    assert run_pending() == 1
    job = Job.objects.get(kind=KIND, account=person)
    assert job.result.startswith("Pièces jointes retirées de 1 message(s)")

    inbox = box_of(person, "inbox")
    assert Expunged.objects.filter(mailbox=inbox, uid=old_video.uid).exists()
    (lightened,) = Message.objects.filter(mailbox=inbox, content__subject="Sortie 2023")
    assert lightened.uid > recent.uid
    assert lightened.flags == Flag.SEEN | Flag.FLAGGED and lightened.keywords == "$Important"
    assert abs(lightened.internaldate - (timezone.now() - timedelta(days=900))) < timedelta(minutes=5)
    parsed = email.message_from_bytes(read_message_bytes(person.pk, inbox.pk, lightened.uid), policy=email.policy.default)
    texts = [p.get_content() for p in parsed.walk() if p.get_content_type() == "text/plain"]
    assert any("Le conseil de classe" in t for t in texts)  # the text is kept
    assert any("Pièce jointe retirée le" in t and "pour libérer de l'espace" in t for t in texts)
    assert [p.get_content_type() for p in parsed.walk() if not p.is_multipart()] == ["text/plain", "text/plain"]
    # untouched: the recent video and the old small logo
    assert Message.objects.filter(pk__in=[recent.pk, old_small.pk]).count() == 2
    assert Usage.objects.get(account=person).bytes < used - 400_000
    entry = JournalEntry.objects.get(account=person, kind=EventKind.ATTACHMENTS_REMOVED)
    assert "1 message(s)" in entry.detail

    page = web.get(reverse("archive:space")).content.decode()
    assert "Pièces jointes retirées de 1 message(s)" in page

    _post(web)  # a second pass finds nothing more to remove
    run_pending()
    assert Job.objects.filter(kind=KIND, account=person).order_by("-pk").first().result.startswith(
        "Pièces jointes retirées de 0 message(s)")


def test_needs_the_confirmation_and_offered_values(web, person):
    assert "Alléger les anciens messages" in web.get(reverse("archive:space")).content.decode()
    page = web.post(reverse("archive:space_lighten"), {"years": "2", "min_size": "102400"}, follow=True).content.decode()
    assert "Cochez la case de confirmation" in page
    page = _post(web, years="40", confirm="on").content.decode() + web.get(reverse("archive:space")).content.decode()
    assert "Choisissez l&#x27;âge des messages" in page
    assert not Job.objects.filter(kind=KIND).exists()


def test_sign_in_required(client, db):
    response = client.post(reverse("archive:space_lighten"), {"years": "2", "min_size": "102400", "confirm": "on"})
    assert response.status_code in (302, 403)
    assert not Job.objects.filter(kind=KIND).exists()
