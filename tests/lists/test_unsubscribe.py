"""One-click unsubscribe (RFC 8058) from a hand list whose members may
leave: each member's copy (académie members through the MX, outside ones
through the queue) carries its own HTTPS link and List-Unsubscribe-Post,
covered by the DKIM signature (§4); the POST needs no session nor CSRF token
(§3.2), a GET only asks; the link is signed, expires, and serves once.
Directory lists cannot be left, and say so in French."""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
from urllib.parse import urlsplit

import dkim
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from academail.delivery.queue import process_due
from academail.lists import unsubscribe
from academail.lists.models import Kind, MailingList, Member, Posting
from academail.lists.posting import list_headers
from academail.store.models import Content
from tests.conftest import build_message
from tests.lists.test_mx_post import inbox, submit

pytestmark = pytest.mark.django_db(transaction=True)
PUBLIC = "https://mail.ac-demo.fr"


def _post(path: str, body: bytes = b"List-Unsubscribe=One-Click"):
    """What a mail client sends (RFC 8058 §3.2): no cookie, no CSRF token."""
    return Client(enforce_csrf_checks=True).generic("POST", path, body,
                                                    content_type="application/x-www-form-urlencoded")


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _path(url_field: str) -> str:
    url = url_field.strip().strip("<>")
    assert url.startswith(PUBLIC + "/"), url  # §3.1: one HTTPS URI
    return urlsplit(url).path


def test_each_member_gets_a_one_click_link_signed_by_dkim_and_it_works_once(
    mx, submission, sender, make_account, remote_internet, settings, dkim_key
):
    settings.PUBLIC_URL = PUBLIC
    colleague = make_account("Inès", "Morel")
    team = MailingList.objects.create(address="partenaires@ac-demo.fr", name="Partenaires", allow_unsubscribe=True)
    for address, account in ((sender.address, sender), (colleague.address, colleague), ("ami@exemple.org", None)):
        Member.objects.create(mailing_list=team, address=address, account=account)
    assert submit(submission, sender, team.address,
                  build_message(subject="Sortie au musée", sender=sender.address, to=team.address)) == {}

    (own,) = inbox(sender)
    (theirs,) = inbox(colleague)
    mine = email.message_from_bytes(own, policy=email.policy.default)
    hers = email.message_from_bytes(theirs, policy=email.policy.default)
    for parsed in (mine, hers):
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert len(parsed.get_all("List-Unsubscribe")) == 1
    assert _path(mine["List-Unsubscribe"]) != _path(hers["List-Unsubscribe"])  # each member's own
    assert Content.objects.count() == 1  # still one stored content for the académie copies

    # Outside: the fields are in the DKIM signature's h= (RFC 8058 §4), and it verifies.
    asyncio.run(process_due(remote_internet.transport(), now=timezone.now()))
    (delivered,) = remote_internet.sink.received
    outside = email.message_from_bytes(delivered.data, policy=email.policy.default)
    assert outside["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    signed = {h.strip().lower() for h in str(outside["DKIM-Signature"]).split("h=")[1].split(";")[0].split(":")}
    assert {"list-unsubscribe", "list-unsubscribe-post"} <= signed
    record = dkim_key["academail._domainkey.ac-demo.fr."].encode()
    assert dkim.verify(delivered.data, dnsfunc=lambda name, timeout=5: record)
    tampered = delivered.data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                                      b"List-Unsubscribe-Post: List-Unsubscribe=Two-Clicks")
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: record)

    # A GET (a link preview, a scanner) only asks.
    path = _path(hers["List-Unsubscribe"])
    page = Client().get(path)
    assert page.status_code == 200 and "Me désabonner" in _text(page) and "Partenaires" in _text(page)
    assert Member.objects.filter(mailing_list=team, address=colleague.address).exists()
    # The POST needs the RFC's key/value pair...
    assert _post(path, b"confirm=1").status_code == 400
    # ...and no session, no CSRF token.
    done = _post(path)
    assert done.status_code == 200 and "vous ne recevrez plus les messages" in _text(done)
    assert not Member.objects.filter(mailing_list=team, address=colleague.address).exists()
    assert Member.objects.filter(mailing_list=team).count() == 2
    # Single use: again, nothing to do; and once re-subscribed, the old link cannot remove her.
    assert "déjà désabonné" in _text(_post(path))
    Member.objects.create(mailing_list=team, address=colleague.address, account=colleague)
    assert "déjà désabonné" in _text(_post(path))
    assert Member.objects.filter(mailing_list=team, address=colleague.address).exists()

    # The outside member's link works the same way.
    assert _post(_path(outside["List-Unsubscribe"])).status_code == 200
    assert not Member.objects.filter(mailing_list=team, address="ami@exemple.org").exists()


def test_forged_expired_and_directory_links(settings, make_account):
    settings.PUBLIC_URL = PUBLIC
    person = make_account("Inès", "Morel", uai="0341234X", function="teacher")
    team = MailingList.objects.create(address="club@ac-demo.fr", name="Club théâtre", allow_unsubscribe=True)
    member = Member.objects.create(mailing_list=team, address=person.address, account=person)
    token = unsubscribe.token_for(team.pk, member.pk)
    path = reverse("lists:unsubscribe", args=[token])

    forged = reverse("lists:unsubscribe", args=[token[:-1] + ("A" if token[-1] != "A" else "B")])
    assert Client().get(forged).status_code == 410 and "n'est pas valide" in _text(Client().get(forged))
    other = reverse("lists:unsubscribe", args=[f"{team.pk}.{member.pk + 1}:" + token.split(":", 2)[1] + ":x"])
    assert _post(other).status_code == 400
    settings.LISTS_UNSUBSCRIBE_DAYS = -1
    expired = _post(path)
    assert expired.status_code == 400 and "a expiré" in _text(expired)
    settings.LISTS_UNSUBSCRIBE_DAYS = 60
    assert Member.objects.filter(pk=member.pk).exists()

    # A directory list issues no link, and a link to one says why it cannot be left.
    profs = MailingList.objects.create(
        address="profs.0341234x@ac-demo.fr", name="Tous les professeurs du collège", kind=Kind.DIRECTORY,
        dir_uai="0341234X", dir_function="teacher", posting=Posting.MEMBERS, allow_unsubscribe=True)
    assert not unsubscribe.one_click(profs)
    assert b"List-Unsubscribe" not in list_headers(profs, b"Subject: x\r\n\r\n")
    page = Client().get(reverse("lists:unsubscribe", args=[unsubscribe.token_for(profs.pk, 1)]))
    assert "tenue à jour depuis l'annuaire : on ne peut pas s'en désabonner" in _text(page)
    client = Client()
    client.force_login(person)
    detail = _text(client.get(reverse("lists:detail", args=[profs.pk])))
    assert "on ne peut pas s'en désabonner" in detail

    # Over plain HTTP (a local run) the copies keep the list page's link: §3.1 wants HTTPS.
    settings.PUBLIC_URL = "http://localhost:8000"
    assert not unsubscribe.one_click(team)
    assert f"/courrier/listes/{team.pk}/>".encode() in list_headers(team, b"Subject: x\r\n\r\n")


def test_the_link_pages_speak_english_when_chosen(settings, make_account):
    """The public page's refusals come from the lists catalogue, like the
    rest of the page: a person who chose English reads them in English."""
    settings.PUBLIC_URL = PUBLIC
    team = MailingList.objects.create(address="club@ac-demo.fr", name="Club théâtre", allow_unsubscribe=True)
    token = unsubscribe.token_for(team.pk, 1)
    english = Client()
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    forged = english.get(reverse("lists:unsubscribe", args=[token[:-1] + ("A" if token[-1] != "A" else "B")]))
    assert forged.status_code == 410 and "This unsubscribe link is not valid" in _text(forged)
    profs = MailingList.objects.create(
        address="profs.0341234x@ac-demo.fr", name="Tous les professeurs du collège", kind=Kind.DIRECTORY,
        dir_uai="0341234X", dir_function="teacher", posting=Posting.MEMBERS)
    page = english.get(reverse("lists:unsubscribe", args=[unsubscribe.token_for(profs.pk, 1)]))
    assert "This list is kept up to date from the directory" in _text(page)
    assert "tenue à jour" not in _text(page)
