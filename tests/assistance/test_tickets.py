"""Tickets from the requester's side: the form signed in and out, the
confirmation mail, rate limits, a NUMEN that verifies without telling, the
follow-up link and "Mes demandes", replies with attachments, answers by mail,
merging, and the old helpdesk address."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from academail.assistance import tickets
from academail.assistance.models import Attachment, DayStat, Entry, Ticket, TicketLink, TicketStatus
from tests.assistance.conftest import links_in, ticket_form

pytestmark = pytest.mark.django_db
NEW = reverse("assistance:new")


@pytest.mark.parametrize("slug", ["premiere-connexion", "mot-de-passe-oublie", "adresse-de-secours", "numen-perdu",
                                  "configuration", "boite-pleine", "indesirables-hameconnage", "transfert", "autre"])
def test_every_category_slug_of_the_help_centre_opens_its_form(client, slug):
    page = client.get(f"{NEW}?categorie={slug}").content.decode()
    assert f'<option value="{slug}" selected>' in page
    assert f'name="category" value="{slug}"' in page


def test_an_unknown_category_falls_back_to_other(client):
    assert '<option value="autre" selected>' in client.get(f"{NEW}?categorie=nimporte").content.decode()


def test_category_questions_are_kept_and_foreign_ones_dropped(client, claire):
    client.post(NEW, ticket_form(category="configuration", q_appareil="android", q_message_erreur="Échec SSL",
                                 q_secretariat_contacte="oui"))
    assert Ticket.objects.get().fields == {"appareil": "android", "message_erreur": "Échec SSL"}


def test_a_matching_numen_verifies_without_telling(client, claire):
    right = client.post(NEW, ticket_form(numen="11E1234567ABC"), follow=True).content.decode()
    other = Client().post(NEW, ticket_form(numen="11E7654321ABC", contact_email="x@exemple.fr"),
                          follow=True).content.decode()
    verified, unverified = Ticket.objects.order_by("id")
    assert verified.identity_verified and verified.status == TicketStatus.NEW
    assert not unverified.identity_verified and unverified.status == TicketStatus.UNCONFIRMED
    for page in (right, other):
        assert "NUMEN" not in page.split('id="contenu"')[1].split("</main>")[0]
        assert "vérifi" not in page.lower().split('id="contenu"')[1].split("</main>")[0]


def test_a_malformed_numen_is_explained(client, claire):
    page = client.post(NEW, ticket_form(numen="11E12")).content.decode()
    assert "vous en avez saisi 5" in page and not Ticket.objects.exists()


def test_signed_out_needs_an_address_and_a_name(client):
    page = client.post(NEW, ticket_form(contact_email="", name="")).content.decode()
    assert "fr-error-text" in page and not Ticket.objects.exists()


def test_unconfirmed_tickets_stay_out_of_the_queue_and_counts(client, agent_client, claire):
    client.post(NEW, ticket_form())
    ticket = Ticket.objects.get()
    assert ticket.due_at is None and not DayStat.objects.exists()
    assert reverse("assistance:ticket", args=[ticket.pk]) not in agent_client.get(
        reverse("assistance:console")).content.decode()
    confirm = links_in(mail.outbox[0])[0]
    client.post(confirm)
    client.post(confirm)  # a second click changes nothing
    assert DayStat.objects.get().opened == 1
    assert len([m for m in mail.outbox if "enregistrée" in m.subject]) == 1


def test_a_bad_confirmation_link_is_refused(client):
    assert client.post(reverse("assistance:confirm", args=["nimporte"])).status_code == 410


def test_rate_limit_per_address_and_per_network(client, settings):
    settings.ASSISTANCE_PER_HOUR = 2
    for n in range(2):
        client.post(NEW, ticket_form(contact_email="flood@exemple.fr"), REMOTE_ADDR=f"10.0.0.{n}")
    page = client.post(NEW, ticket_form(contact_email="flood@exemple.fr"), REMOTE_ADDR="10.0.0.9").content.decode()
    assert "plusieurs demandes" in page
    for n in range(3):
        client.post(NEW, ticket_form(contact_email=f"p{n}@exemple.fr"), REMOTE_ADDR="10.9.9.9")
    # The third from the same network is refused, whatever the address given.
    assert Ticket.objects.filter(remote_addr="10.9.9.9").count() == 2
    assert not Ticket.objects.filter(contact_email="p2@exemple.fr").exists()


def test_signed_in_ticket_is_queued_and_listed_in_mes_demandes(claire):
    client = Client()
    client.force_login(claire)
    page = client.get(NEW).content.decode()
    assert 'name="numen"' not in page and 'name="name"' not in page
    client.post(NEW, {"category": "boite-pleine", "message": "Ma boîte est pleine.", "contact_email": "",
                      "contact_phone": ""})
    ticket = Ticket.objects.get()
    assert ticket.status == TicketStatus.NEW and ticket.account == claire and ticket.signed_in
    assert ticket.contact_email == claire.address
    (ack,) = mail.outbox
    assert reverse("assistance:mine_detail", args=[ticket.pk]) in ack.body  # no secret link needed
    assert not TicketLink.objects.exists()
    mine = client.get(reverse("assistance:mine")).content.decode()
    assert reverse("assistance:mine_detail", args=[ticket.pk]) in mine


def test_requester_and_agent_exchange_with_attachments(client, claire, agent, agent_client):
    client.post(NEW, ticket_form(numen="11E1234567ABC"))
    ticket = Ticket.objects.get()
    follow = links_in(mail.outbox[0])[0]
    mail.outbox.clear()
    client.post(follow, {"message": "Voici la capture.",
                         "attachments": [SimpleUploadedFile("ecran.png", b"\x89PNG fake", "image/png")]})
    stored = Attachment.objects.get()
    assert stored.filename == "ecran.png" and bytes(stored.data) == b"\x89PNG fake"
    download = agent_client.get(reverse("assistance:ticket_attachment", args=[ticket.pk, stored.pk]))
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff" and "sandbox" in download["Content-Security-Policy"]
    agent_client.post(reverse("assistance:ticket_answer", args=[ticket.pk]), {
        "body": "Voici la procédure.", "kind": "answer",
        "attachments": [SimpleUploadedFile("procedure.pdf", b"%PDF-1.4 procedure", "application/pdf")],
    })
    (answer,) = mail.outbox
    assert answer.attachments[0][0] == "procedure.pdf"
    assert answer.reply_to == [f"assistance+{ticket.pk}-{ticket.mail_key}@ac-demo.fr"]
    assert f"[Assistance n° {ticket.pk}-{ticket.mail_key}]" in answer.subject
    assert "Auto-Submitted" not in answer.extra_headers  # written by a person
    page = client.get(links_in(answer)[0]).content.decode()
    assert "Voici la procédure." in page and "procedure.pdf" in page
    agent_client.post(reverse("assistance:ticket_answer", args=[ticket.pk]),
                      {"body": "Note: rappeler lundi", "kind": "note"})
    assert "rappeler lundi" not in client.get(follow).content.decode()  # notes stay internal
    note_file = Entry.objects.get(kind="note")
    assert note_file.body.startswith("Note")


def test_a_follow_link_expires(client, claire, settings):
    settings.ASSISTANCE_LINK_TTL = -1
    client.post(NEW, ticket_form(numen="11E1234567ABC"))
    assert client.get(links_in(mail.outbox[0])[0]).status_code == 410


def test_oversized_attachment_is_refused_with_advice(client, claire, settings):
    settings.ASSISTANCE_MAX_ATTACHMENT = 10
    page = client.post(NEW, ticket_form(numen="11E1234567ABC", attachments=[
        SimpleUploadedFile("gros.bin", b"x" * 11, "application/octet-stream")])).content.decode()
    assert "dépasse" in page and not Ticket.objects.exists()


def test_reply_reopens_a_closed_ticket(client, claire, agent, agent_client):
    client.post(NEW, ticket_form(numen="11E1234567ABC"))
    ticket = Ticket.objects.get()
    follow = links_in(mail.outbox[0])[0]
    tickets.do_close(ticket, agent)
    client.post(follow, {"message": "Toujours bloquée."})
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.closed_at is None


def test_merge_moves_the_thread_and_the_links(client, claire, agent, agent_client):
    client.post(NEW, ticket_form(numen="11E1234567ABC", message="Premier message"))
    client.post(NEW, ticket_form(numen="11E1234567ABC", message="Doublon"))
    first, duplicate = Ticket.objects.order_by("id")
    duplicate_link = links_in(mail.outbox[1])[0]
    agent_client.post(reverse("assistance:ticket_merge", args=[duplicate.pk]), {"into": first.pk})
    duplicate.refresh_from_db()
    assert duplicate.status == TicketStatus.MERGED
    page = client.get(duplicate_link).content.decode()
    assert f"Demande n° {first.pk}" in page and "Doublon" in page and "Premier message" in page
    assert DayStat.objects.get().opened == 1


def test_the_first_form_address_redirects_keeping_the_reason(client):
    response = client.get(reverse("accounts:assistance") + "?motif=numen")
    assert response.status_code == 302 and response["Location"].endswith("?motif=numen")
    assert '<option value="numen-perdu" selected>' in client.get(response["Location"]).content.decode()


def test_the_page_shows_the_helpdesk_phone_and_hours_when_set(client, settings):
    """Issue 20: ACADEMAIL_ASSISTANCE_PHONE / _HOURS on the "Contacter l'assistance" page."""
    assert 'id="assistance-phone"' not in client.get(NEW).content.decode()  # none by default
    settings.ASSISTANCE_PHONE, settings.ASSISTANCE_HOURS = "01 99 00 12 34", "du lundi au vendredi, de 8 h à 18 h"
    page = client.get(NEW).content.decode()
    assert 'Par téléphone : <a href="tel:0199001234">01 99 00 12 34</a> — du lundi au vendredi, de 8 h à 18 h' in page
