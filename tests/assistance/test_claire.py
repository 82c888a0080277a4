"""Claire's story, the issue's "Done when", end to end through the real pages
and the real mails:

1. she lost her NUMEN and cannot sign in: she opens a ticket without signing in;
2. she gets a number by mail;
3. an agent sees it in the queue with its due time, checks her identity as the
   page guides, and sends a reset link to a new secondary address;
4. Claire sets a new password;
5. her journal shows what the helpdesk did;
6. the dashboard counts the ticket as resolved within the SLA.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from academail.accounts.models import EventKind, JournalEntry
from academail.assistance.models import AuditEntry, Ticket, TicketStatus
from tests.assistance.conftest import links_in, ticket_form

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Lune#Bleue42Piano"


def test_claire_gets_her_access_back(claire, agent, agent_client):
    # 1. Signed out, from the help centre's link for a lost NUMEN.
    requester = Client()
    page = requester.get(reverse("assistance:new") + "?categorie=numen-perdu").content.decode()
    assert '<option value="numen-perdu" selected>' in page
    assert "Avez-vous déjà demandé votre NUMEN" in page  # the category's own question
    response = requester.post(reverse("assistance:new"), ticket_form(q_secretariat_contacte="oui"), follow=True)
    assert "Ouvrez le lien qu'il contient pour confirmer" in response.content.decode()
    ticket = Ticket.objects.get()
    assert ticket.status == TicketStatus.UNCONFIRMED and ticket.account == claire
    assert not ticket.identity_verified
    (confirmation,) = mail.outbox
    assert confirmation.to == ["claire.nouvelle@exemple.fr"]
    confirm_url = links_in(confirmation)[0]
    assert requester.get(confirm_url).status_code == 200  # a button, not an action
    mail.outbox.clear()
    requester.post(confirm_url)

    # 2. The number, by mail, with a follow-up link.
    (ack,) = mail.outbox
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW and ticket.due_at is not None
    assert f"n° {ticket.pk}" in ack.subject and f"numéro {ticket.pk}" in ack.body
    follow_url = links_in(ack)[0]
    assert "perdu mon NUMEN et je ne peux plus" in requester.get(follow_url).content.decode()

    # 3. The agent's queue shows it with its due time.
    queue = agent_client.get(reverse("assistance:console")).content.decode()
    assert reverse("assistance:ticket", args=[ticket.pk]) in queue
    assert f'datetime="{timezone.localtime(ticket.due_at).isoformat()[:19]}' in queue
    page = agent_client.get(reverse("assistance:ticket", args=[ticket.pk])).content.decode()
    assert "Étape 1. Vérifiez l'identité" in page and "claire.ancienne@exemple.fr" in page
    # She has no NUMEN: the établissement, then a call-back to the school's number.
    agent_client.post(reverse("assistance:ticket_identity", args=[ticket.pk]),
                      {"numen": "", "establishment_ok": "on", "callback_ok": "on"})
    page = agent_client.get(reverse("assistance:ticket", args=[ticket.pk])).content.decode()
    assert "Étape 2." in page
    mail.outbox.clear()
    agent_client.post(reverse("assistance:ticket_secondary", args=[ticket.pk]),
                      {"address": "claire.moreau.perso@exemple.fr"})
    reset = next(m for m in mail.outbox if m.to == ["claire.moreau.perso@exemple.fr"])
    reset_url = re.search(r"https?://\S+/mot-de-passe-oublie/lien/\S+", reset.body).group(0)
    agent_client.post(reverse("assistance:ticket_answer", args=[ticket.pk]), {
        "body": "Bonjour, un lien pour choisir un nouveau mot de passe vous a été envoyé.", "kind": "answer",
        "close": "on",
    })
    answer = next(m for m in mail.outbox if m.to == ["claire.nouvelle@exemple.fr"])
    assert "un lien pour choisir un nouveau mot de passe" in answer.body
    assert "/assistance/avis/" in answer.body  # the one-click rating of a closed ticket

    # 4. Claire sets a new password with the link and signs in.
    claire_browser = Client()
    done = claire_browser.post(reset_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302, done.content.decode()[-3000:]
    signed = claire_browser.post(reverse("accounts:login"), {"identifier": "cmoreau", "password": NEW_PASSWORD})
    assert signed.status_code == 302 and "/connexion" not in signed["Location"]

    # 5. Her journal says what the helpdesk did, and who.
    details = list(JournalEntry.objects.filter(account=claire, kind=EventKind.STAFF_ACTION)
                   .values_list("detail", flat=True))
    assert any("nouvelle adresse de secours claire.moreau.perso@exemple.fr" in d and "Sophie Agent" in d
               for d in details)
    assert any("lien de réinitialisation" in d for d in details)
    journal_page = claire_browser.get(reverse("accounts:security")).content.decode()
    assert "Sophie Agent" in journal_page
    assert AuditEntry.objects.filter(ticket=ticket, action="secondary_reset", actor=agent).exists()

    # 6. The dashboard counts it resolved within the SLA.
    board = agent_client.get(reverse("assistance:dashboard")).content.decode()
    assert "1 sur 1" in board
    assert "100,0 % de 1 demande(s) résolue(s) dans le délai de 48 h ouvrées" in board
    rating = requester.post(links_in(answer)[-1], {"rating": "5"})
    assert "Merci" in rating.content.decode()
    ticket.refresh_from_db()
    assert ticket.rating == 5
