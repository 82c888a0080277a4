"""The message list sorted by date, sender, subject and size (keyset pages on
(key, uid), ties included), the sort keys (accents, case, Re:/Fwd:), the
column headers, and the conversation view."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from academail.store import webmail as store
from academail.store.models import Message
from academail.store.sortkeys import base_subject, sender_key
from tests.conftest import build_message
from tests.webmail.conftest import box_of, deliver, deliver_many

pytestmark = pytest.mark.django_db(transaction=False)


def raw(subject: str, sender: str, *, body: str = "Bonjour.\n", message_id: str = "", references: str = "") -> bytes:
    headers = [
        f"From: {sender}",
        "To: julie.martin@ac-demo.fr",
        f"Subject: {subject}",
        "Date: Thu, 26 Nov 2026 10:00:00 +0100",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    if message_id:
        headers.append(f"Message-ID: <{message_id}>")
    if references:
        headers.append(f"In-Reply-To: <{references.split()[-1]}>")
        headers.append("References: " + " ".join(f"<{r}>" for r in references.split()))
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Réunion", "reunion"),
        ("RE : TR: Fwd: Réunion", "reunion"),
        ("[CA] Re: [3eB] Conseil   de classe", "conseil de classe"),
        ("Réf. : budget 2027", "budget 2027"),
        ("[Fwd: Re: Sortie au musée]", "sortie au musee"),
        ("Sortie (fwd)", "sortie"),
        ("Éducation", "education"),
        ("Re:", "re:"),
        ("Reunion: ordre du jour", "reunion: ordre du jour"),
    ],
)
def test_base_subject(subject, expected):
    assert base_subject(subject) == expected


def test_sender_key_folds_name_or_address():
    assert sender_key("Élodie Martin", "e@x.fr") == "elodie martin"
    assert sender_key("", "Zoe.Bernard@Ac-Demo.fr") == "zoe.bernard@ac-demo.fr"
    assert len(sender_key("x" * 500, "")) == 100


def test_keys_written_at_delivery_and_kept_by_copy(person):
    message = deliver(person, raw("TR: Élections", '"Émile Zola" <ez@ac-demo.fr>'))
    assert (message.sender_sort, message.subject_sort) == ("emile zola", "elections")
    archive = box_of(person, "archive")
    (pair,) = store.do_copy(person.pk, message.mailbox_id, [(message.uid, message.uid)], archive.pk)
    copy = Message.objects.get(mailbox=archive, uid=pair[1])
    assert (copy.sender_sort, copy.subject_sort) == ("emile zola", "elections")


def _subjects(page_html: str) -> list[str]:
    return re.findall(r'class="wm-list__subject"><a href="[^"]+">([^<]+)</a>', page_html)


def _senders(page_html: str) -> list[str]:
    return [s.strip() for s in re.findall(r'class="wm-list__from">([^<]+)</td>', page_html)]


def test_sort_by_sender_folds_accents_and_case(web, person):
    for name in ("zoé", "Émile", "bernard", "Agnès", "eric"):
        deliver(person, raw("Bonjour", f'"{name}" <{name.encode("ascii", "ignore").decode() or "x"}@ac-demo.fr>'))
    url = reverse("webmail:folder", args=[box_of(person, "inbox").pk])
    ascending = _senders(web.get(url, {"tri": "expediteur", "sens": "asc"}).content.decode())
    assert ascending == ["Agnès", "bernard", "Émile", "eric", "zoé"]
    descending = _senders(web.get(url, {"tri": "expediteur", "sens": "desc"}).content.decode())
    assert descending == list(reversed(ascending))


def test_sort_by_subject_ignores_reply_prefixes(web, person):
    for subject in ("Re: Cantine", "budget", "TR : Absences", "[CA] Demande", "Fwd: Re: conseil"):
        deliver(person, raw(subject, "direction@college-exemple.fr"))
    url = reverse("webmail:folder", args=[box_of(person, "inbox").pk])
    html = web.get(url, {"tri": "objet"}).content.decode()
    assert _subjects(html) == ["TR : Absences", "budget", "Re: Cantine", "Fwd: Re: conseil", "[CA] Demande"]


def test_sort_by_size_both_ways(web, person):
    for n in (3, 1, 2):
        deliver(person, raw(f"taille {n}", "a@ac-demo.fr", body="x" * (n * 1000)))
    url = reverse("webmail:folder", args=[box_of(person, "inbox").pk])
    assert _subjects(web.get(url, {"tri": "taille"}).content.decode()) == ["taille 3", "taille 2", "taille 1"]
    assert _subjects(web.get(url, {"tri": "taille", "sens": "asc"}).content.decode()) == [
        "taille 1", "taille 2", "taille 3"
    ]


def test_default_is_newest_first_and_unknown_sort_falls_back(web, person):
    for n in range(3):
        deliver(person, raw(f"n{n}", "a@ac-demo.fr"))
    url = reverse("webmail:folder", args=[box_of(person, "inbox").pk])
    assert _subjects(web.get(url).content.decode()) == ["n2", "n1", "n0"]
    assert _subjects(web.get(url, {"tri": "'; DROP TABLE x"}).content.decode()) == ["n2", "n1", "n0"]
    assert _subjects(web.get(url, {"tri": "date", "sens": "asc"}).content.decode()) == ["n0", "n1", "n2"]


@pytest.mark.parametrize(("sort", "direction"), [("expediteur", "asc"), ("objet", "desc"), ("taille", "asc"), ("date", "asc")])
def test_keyset_pages_with_ties_neither_skip_nor_repeat(web, person, sort, direction):
    """120 messages with only three distinct keys: pages of 50 must still give
    every message exactly once, in (key, uid) order."""
    inbox = box_of(person, "inbox").pk
    for index, (name, subject) in enumerate([("Bruno", "Alpha"), ("Anne", "Gamma"), ("Chloé", "Beta")]):
        deliver_many(person, raw(subject, f'"{name}" <p{index}@ac-demo.fr>', body="y" * (index * 10)), 40)
    url = reverse("webmail:folder", args=[inbox])
    seen: list[int] = []
    params = {"tri": sort, "sens": direction}
    for _ in range(5):
        html = web.get(url, params).content.decode()
        seen.extend(int(u) for u in re.findall(r'name="uid" value="(\d+)"', html))
        following = re.search(r'href="[^"]*\?tri=[^"]*&amp;apres=(\d+)&amp;cle=([^"]*)" rel="next"', html)
        if following is None:
            break
        from urllib.parse import unquote

        params = {"tri": sort, "sens": direction, "apres": following.group(1), "cle": unquote(following.group(2))}
    assert len(seen) == 120
    assert len(set(seen)) == 120
    column = store.SORTS[sort]
    rows = {m.uid: m for m in Message.objects.filter(mailbox_id=inbox)}
    keys = [(getattr(rows[u], column), u) for u in seen]
    assert keys == sorted(keys, reverse=direction == "desc")


def test_headers_are_links_with_aria_sort(web, person):
    deliver(person, raw("Bonjour", "a@ac-demo.fr"))
    url = reverse("webmail:folder", args=[box_of(person, "inbox").pk])
    html = web.get(url).content.decode()
    assert html.count("aria-sort=") == 1
    assert 'aria-sort="descending"><a class="wm-sort wm-sort--current" href="?tri=date&amp;sens=asc"' in html
    assert 'href="?tri=expediteur&amp;sens=asc"' in html
    html = web.get(url, {"tri": "objet", "sens": "asc"}).content.decode()
    assert 'aria-sort="ascending"><a class="wm-sort wm-sort--current" href="?tri=objet&amp;sens=desc"' in html


def test_sort_of_another_account_folder_is_404(web, other):
    deliver(other, raw("Secret", "a@ac-demo.fr"))
    url = reverse("webmail:folder", args=[box_of(other, "inbox").pk])
    assert web.get(url, {"tri": "objet", "apres": "1", "cle": "a"}).status_code == 404


# --- conversations ---------------------------------------------------------------


def _thread(person):
    deliver(person, raw("Sortie au musée", '"Anne" <anne@ac-demo.fr>', message_id="root@x"))
    deliver(person, raw("Autre sujet", '"Bruno" <bruno@ac-demo.fr>', message_id="alone@x"))
    deliver(person, raw("Re: Sortie au musée", '"Chloé" <chloe@ac-demo.fr>', message_id="r1@x", references="root@x"))
    deliver(person, raw("Re: Re: Sortie au musée", '"Anne" <anne@ac-demo.fr>', message_id="r2@x", references="root@x r1@x"))


def test_conversations_group_by_thread_newest_first(person):
    _thread(person)
    page = store.conversation_page(person.pk, box_of(person, "inbox").pk)
    assert [c.count for c in page.conversations] == [3, 1]
    first = page.conversations[0]
    assert first.latest.content.subject == "Re: Re: Sortie au musée"
    assert first.participants == ["Anne", "Chloé"]
    assert first.unseen == 3
    assert page.older is None


def test_conversation_pages_put_each_thread_once(person):
    inbox = box_of(person, "inbox").pk
    for n in range(7):
        deliver(person, raw(f"fil {n}", "a@ac-demo.fr", message_id=f"t{n}@x"))
    # Replies to old threads arrive last: those threads move to the top.
    deliver(person, raw("Re: fil 1", "b@ac-demo.fr", message_id="t1r@x", references="t1@x"))
    deliver(person, raw("Re: fil 4", "b@ac-demo.fr", message_id="t4r@x", references="t4@x"))
    keys: list[str] = []
    subjects: list[str] = []
    before = None
    while True:
        page = store.conversation_page(person.pk, inbox, before_uid=before, page_size=3)
        keys.extend(c.thread_key for c in page.conversations)
        subjects.extend(c.latest.content.subject for c in page.conversations)
        if page.older is None:
            break
        before = page.older
    assert len(keys) == len(set(keys)) == 7
    assert subjects == ["Re: fil 4", "Re: fil 1", "fil 6", "fil 5", "fil 3", "fil 2", "fil 0"]


def test_conversation_toggle_is_remembered_and_opens_in_order(web, person):
    _thread(person)
    inbox = box_of(person, "inbox").pk
    url = reverse("webmail:folder", args=[inbox])
    html = web.get(url, {"vue": "conversations"}).content.decode()
    assert "3 messages" in html
    assert "Anne, Chloé" in html
    html = web.get(url).content.decode()  # remembered in the preferences
    assert "Afficher message par message" in html
    link = re.search(r'href="(/courrier/dossier/\d+/conversation/[^"]+/)"', html).group(1)
    page = web.get(link).content.decode()
    order = [page.index(s) for s in ("Sortie au musée</a>", "Re: Sortie au musée</a>", "Re: Re: Sortie au musée</a>")]
    assert order == sorted(order)
    assert "Autre sujet" not in page.split('class="wm-conversation"')[1]
    flags = dict(Message.objects.filter(mailbox_id=inbox).values_list("content__subject", "flags"))
    assert [flags[s] & 1 for s in ("Sortie au musée", "Re: Sortie au musée", "Re: Re: Sortie au musée")] == [1, 1, 1]
    assert flags["Autre sujet"] & 1 == 0
    web.get(url, {"vue": "messages"})
    assert "Regrouper par conversation" in web.get(url).content.decode()


def test_conversation_of_another_account_is_404(web, person, other):
    deliver(other, raw("Secret", "a@ac-demo.fr", message_id="secret@x"))
    message = Message.objects.select_related("content").get(mailbox__account=other, mailbox__special_use="inbox")
    key = message.content.thread_key
    assert web.get(reverse("webmail:conversation", args=[message.mailbox_id, key])).status_code == 404
    mine = box_of(person, "inbox").pk
    assert web.get(reverse("webmail:conversation", args=[mine, key])).status_code == 404


def test_list_respects_page_size_preference(web, person):
    from academail.webmail.preferences import do_save_preferences

    deliver_many(person, build_message(subject="Circulaire"), 30)
    do_save_preferences(person.pk, signature="", conversations=False, page_size=25)
    html = web.get(reverse("webmail:folder", args=[box_of(person, "inbox").pk])).content.decode()
    assert html.count('name="uid"') == 25
