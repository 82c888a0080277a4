"""Daily digests: a member chooses "Un résumé par jour" on the list's page;
the posts then skip their inbox and come once a day in one MIME digest
(RFC 2046 §5.1.5), sent by the jobs system; nothing comes twice, and going
back to "Chaque message" delivers the next post at once."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html

import pytest

from academail.delivery.route import deliver
from academail.jobs.models import Job, JobState
from academail.jobs.runner import run_pending
from academail.lists import digests
from academail.lists.models import Kind, MailingList, Member
from tests.conftest import build_message
from tests.lists.test_mx_post import inbox

pytestmark = pytest.mark.django_db(transaction=True)
# Tomorrow at 18:00 in Paris: after every post the test makes now, whatever
# the day and hour the suite runs (a fixed date broke once the clock passed it).
EVENING = dt.datetime.combine(dt.datetime.now(digests.PARIS).date() + dt.timedelta(days=1), dt.time(18),
                              digests.PARIS)


def _post(team, author, subject: str, body: str = "Bonjour à tous.") -> None:
    deliver(build_message(subject=subject, body=body, sender=author.address, to=team.address),
            [team.address], envelope_from=author.address)


def test_a_member_chooses_a_daily_digest(client, make_account, settings):
    settings.LISTS_DIGEST_HOUR = 17
    author, reader = make_account("Claire", "Durand"), make_account("Marie", "Membre")
    team = MailingList.objects.create(address="equipe@ac-demo.fr", name="Équipe", posting="members")
    for person in (author, reader):
        Member.objects.create(mailing_list=team, address=person.address, account=person)
    _post(team, author, "Avant le choix")
    assert len(inbox(reader)) == 1

    client.force_login(reader)
    page = html.unescape(client.get(f"/courrier/listes/{team.pk}/").content.decode())
    assert "Un résumé par jour" in page and "Chaque message, dès son envoi" in page
    assert client.post(f"/courrier/listes/{team.pk}/reception/", {"reception": "resume"}).status_code == 302
    _post(team, author, "Réunion de rentrée", "La réunion aura lieu au réfectoire.")
    _post(team, author, "Sortie au musée")
    assert len(inbox(reader)) == 1  # nothing more until the digest
    assert len(inbox(author)) == 3  # the others still get each post

    # Before the hour, nothing is queued; after it, one job a day.
    assert digests.do_queue_digests(EVENING.replace(hour=9)) is None
    job = digests.do_queue_digests(EVENING)
    assert job is not None and digests.do_queue_digests(EVENING + dt.timedelta(hours=1)) is None
    assert run_pending() == 1
    assert Job.objects.get(pk=job.pk).state == JobState.DONE

    messages = inbox(reader)
    assert len(messages) == 2
    parsed = email.message_from_bytes(messages[-1], policy=email.policy.default)
    assert parsed["Subject"] == f"[Équipe] Résumé du {EVENING:%d/%m/%Y} : 2 messages"
    assert parsed["List-Id"].endswith("<equipe.ac-demo.fr>") and parsed["Precedence"] == "list"
    assert "Avant le choix" not in parsed.get_body(("plain",)).get_content()  # already received
    (digest,) = [p for p in parsed.walk() if p.get_content_type() == "multipart/digest"]
    posts = [p.get_content() for p in digest.iter_parts()]
    assert [p["Subject"] for p in posts] == ["Réunion de rentrée", "Sortie au musée"]
    assert "réfectoire" in posts[0].get_body(("plain",)).get_content()

    # The next day's round sends nothing already sent.
    assert digests.do_queue_digests(EVENING + dt.timedelta(days=1)) is not None
    run_pending()
    assert len(inbox(reader)) == 2

    # Back to each message: the next post arrives at once.
    client.post(f"/courrier/listes/{team.pk}/reception/", {"reception": "chaque"})
    _post(team, author, "Cantine")
    assert len(inbox(reader)) == 3


def test_directory_lists_offer_no_digest(client, make_account):
    teacher = make_account("Inès", "Morel", uai="0341234X", function="teacher")
    profs = MailingList.objects.create(address="profs.0341234x@ac-demo.fr", name="Professeurs",
                                       kind=Kind.DIRECTORY, dir_uai="0341234X", dir_function="teacher")
    client.force_login(teacher)
    assert "Un résumé par jour" not in client.get(f"/courrier/listes/{profs.pk}/").content.decode()
    answer = client.post(f"/courrier/listes/{profs.pk}/reception/", {"reception": "resume"}, follow=True)
    assert "arrivent message par message" in html.unescape(answer.content.decode())
