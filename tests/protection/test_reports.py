"""'Signaler un hameçonnage' and the security team's campaigns page: the
report moves the message to Indésirables (training the filter), mails it as
message/rfc822 to the security address, journals it; the team sees the
campaign with how many mailboxes hold it and pulls it from all of them."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import pytest

from academail.accounts.models import EventKind, JournalEntry
from academail.delivery.route import deliver
from academail.protection.models import Campaign, Learned, PhishingReport
from academail.store.models import Message

pytestmark = pytest.mark.django_db(transaction=True)
LURE = (Path(__file__).resolve().parent.parent / "data" / "protection" / "lure-assistance-numen.eml").read_bytes()


@pytest.fixture
def people(make_account, settings, client):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    julie, paul = make_account("Julie", "Martin"), make_account("Paul", "Durand")
    team = make_account("Equipe", "Securite", role="security")
    settings.PHISHING_REPORT_ADDRESS = team.address
    return julie, paul, team


def test_report_then_pull_the_campaign_from_every_mailbox(people, client):
    julie, paul, team = people
    deliver(LURE, [julie.address, paul.address], screen=True)
    mine = Message.objects.get(mailbox__account=julie)
    client.force_login(julie)
    response = client.post(f"/courrier/protection/signaler/{mine.mailbox_id}/{mine.uid}/")
    assert response.status_code == 302
    moved = Message.objects.select_related("mailbox").get(mailbox__account=julie)
    assert moved.mailbox.special_use == "junk"
    assert Learned.objects.get(account=julie).spam is True
    assert JournalEntry.objects.filter(account=julie, kind=EventKind.PHISHING_REPORTED).exists()
    # The security team got the message as message/rfc822, with its trace fields.
    received = Message.objects.select_related("content").get(mailbox__account=team)
    assert received.content.subject.startswith("Signalement d'hameçonnage")
    from academail.store.messages import read_raw

    raw = read_raw(received)
    assert b"Content-Type: message/rfc822" in raw and b"X-Spam-Status" in raw
    assert PhishingReport.objects.count() == 1

    # A staff member has no campaigns page (no hint that it exists).
    assert client.get("/courrier/protection/campagnes/").status_code == 404
    client.force_login(team)
    page = unescape(client.get("/courrier/protection/campagnes/").content.decode())
    assert "assistance@ac-dem0.fr" in page and "Votre boîte aux lettres est pleine" in page
    assert '<td class="prot-mailboxes">2</td>' in page  # Julie's copy (in Indésirables) and Paul's
    campaign = Campaign.objects.get()
    response = client.post(f"/courrier/protection/campagnes/{campaign.pk}/retirer/")
    assert response.status_code == 302
    assert not Message.objects.filter(mailbox__account__in=[julie, paul]).exists()
    for person in (julie, paul):
        assert JournalEntry.objects.filter(account=person, kind=EventKind.PHISHING_REMOVED).exists()
    page = unescape(client.get("/courrier/protection/campagnes/").content.decode())
    assert "Retirée le" in page


def test_reports_group_by_sender_subject_or_link_host(people, client):
    julie, paul, _ = people
    deliver(LURE, [julie.address], screen=True)
    variant = LURE.replace(b"Votre bo=C3=AEte aux lettres est pleine", b"Dernier avertissement").replace(
        b"Subject: Votre bo", b"Subject: Dernier avertissement - bo")
    deliver(variant, [paul.address], screen=True)
    for person in (julie, paul):
        message = Message.objects.get(mailbox__account=person)
        client.force_login(person)
        client.post(f"/courrier/protection/signaler/{message.mailbox_id}/{message.uid}/")
    assert Campaign.objects.count() == 1  # same sender
    assert Campaign.objects.get().reports.count() == 2


def test_report_the_selection_from_the_list(people, client):
    """"Signaler un hameçonnage" in the list reports the checked messages
    (each to the security team, one journal entry each), moves them to
    Indésirables in one action, and leaves the others."""
    julie, paul, team = people
    deliver(LURE, [julie.address], screen=True)
    second = LURE.replace(b"Votre bo=C3=AEte aux lettres est pleine", b"Rappel").replace(
        b"Subject: Votre bo", b"Subject: Rappel : bo")
    assert second != LURE
    deliver(second, [julie.address], screen=True)
    deliver(b"From: paul.durand@ac-demo.fr\r\nSubject: Conseil de classe\r\n\r\nA jeudi.\r\n", [julie.address])
    lures = list(Message.objects.select_related("content").filter(
        mailbox__account=julie, content__from_addr="assistance@ac-dem0.fr"))
    kept = Message.objects.get(mailbox__account=julie, content__subject="Conseil de classe")
    inbox = kept.mailbox_id
    client.force_login(julie)
    page = client.get(f"/courrier/dossier/{inbox}/").content.decode()
    assert f'formaction="/courrier/protection/signaler/{inbox}/"' in page
    response = client.post(f"/courrier/protection/signaler/{inbox}/", {"uid": [m.uid for m in lures]}, follow=True)
    assert "2 messages ont été signalés" in unescape(response.content.decode())
    junk = Message.objects.filter(mailbox__account=julie, mailbox__special_use="junk")
    assert sorted(junk.values_list("content__subject", flat=True)) == sorted(m.content.subject for m in lures)
    assert Message.objects.get(pk=kept.pk).mailbox_id == inbox
    assert JournalEntry.objects.filter(account=julie, kind=EventKind.PHISHING_REPORTED).count() == 2
    assert Message.objects.filter(mailbox__account=team).count() == 2
    assert PhishingReport.objects.filter(account=julie).count() == 2

    # Nothing selected: a clear error, nothing done. Someone else's folder: 404.
    response = client.post(f"/courrier/protection/signaler/{inbox}/", follow=True)
    assert "Sélectionnez au moins un message à signaler." in unescape(response.content.decode())
    client.force_login(paul)
    assert client.post(f"/courrier/protection/signaler/{inbox}/", {"uid": [kept.uid]}).status_code == 404
    assert Message.objects.get(pk=kept.pk).mailbox_id == inbox
