"""Advanced search (from, to, subject, words, dates, attachments, folder) and
the highlighting of matches, through the search page and the store."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from academail.store.messages import Criteria, search_messages
from academail.webmail.searching import highlight
from tests.conftest import build_message
from tests.webmail.conftest import box_of, deliver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_search_paths")]


@pytest.fixture
def mailbox(person):
    """Four messages: two senders, two subjects, one with an attachment, one old."""
    deliver(person, build_message(subject="Réunion parents", sender="Élodie Dupré <elodie.dupre@college-exemple.fr>",
                                  to="julie.martin@ac-demo.fr, vie.scolaire@ac-demo.fr"))
    deliver(person, build_message(subject="Re: Réunion parents", sender="direction@college-exemple.fr",
                                  attachment=b"%PDF-1.4 compte rendu"))
    deliver(person, build_message(subject="Cantine", sender="intendance@college-exemple.fr",
                                  body="Les menus de la semaine: réunion de la commission mardi."))
    old = deliver(person, build_message(subject="Voyage 2025", sender="elodie.dupre@college-exemple.fr"))
    type(old).objects.filter(pk=old.pk).update(internaldate=timezone.make_aware(dt.datetime(2025, 3, 10, 9, 0)))
    return person


def subjects(account, criteria):
    return sorted(m.content.subject for m in search_messages(account.pk, criteria))


def test_criteria_each_field(mailbox):
    assert subjects(mailbox, Criteria(sender="elodie")) == ["Réunion parents", "Voyage 2025"]
    assert subjects(mailbox, Criteria(sender="DUPRÉ")) == ["Réunion parents", "Voyage 2025"]  # display name, accents
    assert subjects(mailbox, Criteria(sender="direction@college")) == ["Re: Réunion parents"]  # the address
    assert subjects(mailbox, Criteria(recipient="vie.scolaire")) == ["Réunion parents"]
    assert subjects(mailbox, Criteria(subject="reunion")) == ["Re: Réunion parents", "Réunion parents"]
    assert subjects(mailbox, Criteria(with_attachments=True)) == ["Re: Réunion parents"]
    since = timezone.make_aware(dt.datetime(2026, 1, 1))
    assert "Voyage 2025" not in subjects(mailbox, Criteria(since=since))
    assert subjects(mailbox, Criteria(until=since)) == ["Voyage 2025"]
    # Fields combine with AND; words go through the full-text index (body included).
    assert subjects(mailbox, Criteria(words="reunion", sender="intendance")) == ["Cantine"]
    assert subjects(mailbox, Criteria(words="reunion", subject="cantine", with_attachments=True)) == []


def test_like_wildcards_are_plain_characters(mailbox):
    assert subjects(mailbox, Criteria(subject="%")) == []
    assert subjects(mailbox, Criteria(sender="_")) == []
    assert search_messages(mailbox.pk, Criteria()) == []  # empty criteria find nothing


def test_other_accounts_mail_is_never_found(mailbox, other):
    deliver(other, build_message(subject="Réunion secrète", to="paul.durand@ac-demo.fr"))
    assert "Réunion secrète" not in subjects(mailbox, Criteria(subject="reunion"))
    other_inbox = box_of(other, "inbox")
    assert subjects(mailbox, Criteria(subject="reunion", mailbox_id=other_inbox.pk)) == []


def test_advanced_form_on_the_page(web, mailbox):
    page = web.get(reverse("webmail:search"), {"de": "elodie", "du": "2026-01-01"}).content.decode()
    assert "Réunion parents" in page and "Voyage 2025" not in page and "Cantine" not in page
    assert "<details class=\"wm-advanced\" open>" in page
    # French dates typed by hand are understood too.
    page = web.get(reverse("webmail:search"), {"de": "elodie", "au": "31/12/2025"}).content.decode()
    assert "Voyage 2025" in page and "Réunion parents" not in page
    # The results show the folder's name as people read it.
    assert "Boîte de réception" in page


def test_folder_choice_is_limited_to_own_folders(web, mailbox, other):
    other_inbox = box_of(other, "inbox")
    response = web.get(reverse("webmail:search"), {"objet": "reunion", "dossier": other_inbox.pk})
    page = response.content.decode()
    assert response.status_code == 200
    assert "corrigez les champs signalés" in page and "Réunion parents</a>" not in page
    own = box_of(mailbox, "inbox")
    page = web.get(reverse("webmail:search"), {"objet": "reunion", "dossier": own.pk}).content.decode()
    assert "<mark>Réunion</mark> parents" in page


def test_bad_dates_get_a_french_error(web, mailbox):
    page = web.get(reverse("webmail:search"), {"du": "hier"}).content.decode()
    assert "Date non reconnue" in page
    page = web.get(reverse("webmail:search"), {"du": "2026-05-01", "au": "2026-04-01"}).content.decode()
    assert "La date de fin est avant la date de début" in page


def test_next_page_keeps_the_criteria(web, person):
    from tests.webmail.conftest import deliver_many

    deliver_many(person, build_message(subject="Note de service", sender="direction@college-exemple.fr"), 60)
    page = web.get(reverse("webmail:search"), {"de": "direction", "objet": "note"}).content.decode()
    assert page.count("<mark>Note</mark> de service") == 50
    import re

    (link,) = re.findall(r'<a [^>]*href="\?([^"]+)"[^>]*rel="next"', page)
    params = dict(pair.split("=") for pair in link.replace("&amp;", "&").split("&"))
    assert params["de"] == "direction" and params["objet"] == "note" and params["avant"].isdigit()
    older = web.get(reverse("webmail:search"), params).content.decode()
    assert older.count("<mark>Note</mark> de service") == 10


def test_highlight_escapes_and_ignores_accents():
    assert highlight("Réunion <b>élèves</b>", ["reunion", "eleves"]) == (
        "<mark>Réunion</mark> &lt;b&gt;<mark>élèves</mark>&lt;/b&gt;"
    )
    assert highlight("Préunion", ["reunion"]) == "Préunion"  # a word start only
    assert highlight("Cœur", ["coeur"]) == "<mark>Cœur</mark>"  # one character folds to two
    assert highlight("<script>", []) == "&lt;script&gt;"
    # Overlapping or touching matches make one mark; the text between is escaped.
    assert highlight("Réunion & réunions", ["re", "reunion"]) == "<mark>Réunion</mark> &amp; <mark>réunion</mark>s"
    assert highlight("Rentrée R&D", ["rentree r"]) == "<mark>Rentrée R</mark>&amp;D"


def test_newest_matches_first_across_probe_windows(person, monkeypatch):
    """SQLite's probe search reads the scope newest first by windows and stops
    once a page is found (issue 20): with windows of 3, the matches spread over
    several windows, folders and pages come out as one search of everything
    would give them, newest first, each once."""
    from academail.store import messages as store_messages
    from academail.store.messages import Placement, do_store, prepare_content
    from academail.store.models import Message

    monkeypatch.setattr(store_messages, "PROBE_WINDOW", 3)
    boxes = [box_of(person, "inbox").pk, box_of(person, "archive").pk]
    for n in range(20):
        subject = f"Conseil pédagogique {n}" if n % 3 == 0 else f"Cantine {n}"
        do_store(prepare_content(build_message(subject=subject, body="Bonjour.\n")), [Placement(person.pk, boxes[n % 2])])
    expected = list(Message.objects.filter(mailbox__account=person, content__subject__startswith="Conseil")
                    .order_by("-id").values_list("id", flat=True))
    assert len(expected) == 7
    first = [m.pk for m in search_messages(person.pk, "conseil", limit=4)]
    rest = [m.pk for m in search_messages(person.pk, "conseil", limit=4, before_id=first[-1])]
    assert first + rest == expected
    assert [m.pk for m in search_messages(person.pk, "conseil", mailbox_id=boxes[1])] == [
        i for i in expected if Message.objects.get(pk=i).mailbox_id == boxes[1]]
    assert search_messages(person.pk, "introuvable") == []
