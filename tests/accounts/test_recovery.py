"""Forgotten password: identical answers, single-use one-hour link to the
verified secondary address, everything signed out, notices to both addresses,
and the helpdesk when there is no verified secondary address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from academail.accounts.models import (
    Device,
    EventKind,
    JournalEntry,
    ResetToken,
    WebSession,
)
from academail.assistance.models import Ticket
from tests.accounts.conftest import OTHER_PASSWORD, PASSWORD, link_in, without_csrf

pytestmark = pytest.mark.django_db
REQUEST = reverse("accounts:reset_request")


def ask(client, identifier="jmartin", numen="11E9501234ABC"):
    return client.post(REQUEST, {"identifier": identifier, "numen": numen}, follow=True)


def test_known_and_unknown_answers_are_identical(person):
    answers = [
        without_csrf(ask(Client(), *pair).content)
        for pair in [("jmartin", "11E9501234ABC"), ("jmartin", "11E9999999999"),
                     ("personne", "11E9501234ABC"), ("jmartin", "11 e 950 1234 abc")]
    ]
    assert len(set(answers)) == 1
    assert "Si les informations sont correctes, un lien a été envoyé à votre adresse de secours" in answers[0]
    assert len(mail.outbox) == 2  # the two right pairs
    assert {m.to[0] for m in mail.outbox} == {"julie.perso@exemple.fr"}


def test_reset_signs_out_everything_and_notifies(client, person):
    other = Client()
    other.post(reverse("accounts:login"), {"identifier": "jmartin", "password": PASSWORD})
    assert WebSession.objects.filter(account=person).count() == 1 and Device.objects.filter(account=person).exists()
    ask(client)
    link = link_in(mail.outbox[0])
    assert "valable 60 minutes" in mail.outbox[0].body
    page = client.get(link)
    assert page.status_code == 200 and page["Referrer-Policy"] == "same-origin"
    mail.outbox.clear()
    response = client.post(link, {"password1": OTHER_PASSWORD, "password2": OTHER_PASSWORD})
    assert response.url == reverse("accounts:login")
    person.refresh_from_db()
    assert person.check_password(OTHER_PASSWORD)
    assert not WebSession.objects.filter(account=person).exists()
    assert not Device.objects.filter(account=person).exists()
    assert other.get(reverse("accounts:security")).status_code == 302  # signed out
    assert sorted(m.to[0] for m in mail.outbox) == ["julie.martin@ac-demo.fr", "julie.perso@exemple.fr"]
    assert JournalEntry.objects.filter(account=person, kind=EventKind.PASSWORD_RESET).exists()
    # Single use.
    reused = client.post(link, {"password1": PASSWORD + "9", "password2": PASSWORD + "9"})
    assert reused.status_code == 410 and "plus valable" in reused.content.decode()


def test_expired_link(client, person):
    ask(client)
    link = link_in(mail.outbox[0])
    ResetToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(link).status_code == 410


def test_tampered_link(client, person):
    ask(client)
    assert client.get(link_in(mail.outbox[0])[:-3] + "abc/").status_code == 410


def test_new_password_follows_the_policy_and_history(client, person):
    ask(client)
    link = link_in(mail.outbox[0])
    page = client.post(link, {"password1": PASSWORD, "password2": PASSWORD}).content.decode()
    assert "déjà utilisé ce mot de passe" in page
    assert ResetToken.objects.get().used_at is None  # a refused password does not spend the link


def test_no_verified_secondary_leads_to_the_helpdesk(client, person):
    person.secondary_verified = False
    person.save()
    page = ask(client).content.decode()
    assert not mail.outbox
    assert "Si les informations sont correctes" in page
    assert reverse("accounts:assistance") + "?motif=password" in page
    form = client.get(reverse("accounts:assistance") + "?motif=password", follow=True).content.decode()
    assert 'value="jmartin"' in form and '<option value="mot-de-passe-oublie" selected>' in form
    client.post(reverse("assistance:new"), {
        "category": "mot-de-passe-oublie", "identifier": "jmartin", "name": "Julie Martin",
        "contact_email": "julie.autre@exemple.fr", "contact_phone": "06 12 34 56 78",
        "message": "Je n'ai plus accès à mon adresse personnelle.",
    })
    request = Ticket.objects.get()
    assert request.account == person and request.identity_verified


def test_helpdesk_request_after_a_wrong_pair_is_not_verified(client, person):
    ask(client, numen="11E9999999999")
    client.post(reverse("assistance:new"), {
        "category": "mot-de-passe-oublie", "identifier": "jmartin", "name": "X", "contact_email": "x@exemple.fr",
        "message": "Aidez-moi.",
    })
    request = Ticket.objects.get()
    # The identifier names the account for the agent, but nothing proved who
    # wrote: not verified, and the ticket waits for the confirmation mail.
    assert request.account == person and not request.identity_verified
    assert request.status == "unconfirmed"


def test_malformed_numen_is_explained(client, person):
    page = client.post(REQUEST, {"identifier": "jmartin", "numen": "11E95012"}).content.decode()
    assert "vous en avez saisi 8" in page


def test_reset_mails_are_capped(client, person):
    for _ in range(5):
        ask(client)
    assert len(mail.outbox) == 3
