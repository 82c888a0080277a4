"""Role and scope on every URL of the helpdesk and the secretariat (IDOR):
a staff member, a secretary or a signed-out visitor never reaches the
console; a requester never reaches another's ticket or attachment; a
secretary never reaches an account of another établissement — each gets a
404 (or the sign-in page when signed out), and nothing changes."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from academail.accounts.models import Account, EventKind, JournalEntry, Status
from academail.assistance import tickets
from academail.assistance.models import Attachment, Entry, Ticket
from academail.assistance.tickets import NewTicket, Upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(claire):
    opened = tickets.check_open_web(
        NewTicket(category="autre", subject="Aide", message="Bonjour",
                  attachments=[Upload("a.txt", "text/plain", b"secret")]),
        requester=claire, remote_addr="192.0.2.1")
    return opened.ticket


def console_urls(ticket: Ticket) -> list[tuple[str, str]]:
    att = Attachment.objects.get(entry__ticket=ticket)
    pk = ticket.pk
    return [
        ("get", reverse("assistance:console")),
        ("get", reverse("assistance:dashboard")),
        ("get", reverse("assistance:phone")),
        ("get", reverse("assistance:canned")),
        ("post", reverse("assistance:canned")),
        ("get", reverse("assistance:ticket", args=[pk])),
        ("get", reverse("assistance:ticket_attachment", args=[pk, att.pk])),
        ("post", reverse("assistance:ticket_answer", args=[pk])),
        ("post", reverse("assistance:ticket_assign", args=[pk])),
        ("post", reverse("assistance:ticket_status", args=[pk])),
        ("post", reverse("assistance:ticket_category", args=[pk])),
        ("post", reverse("assistance:ticket_merge", args=[pk])),
        ("post", reverse("assistance:ticket_link", args=[pk])),
        ("post", reverse("assistance:ticket_identity", args=[pk])),
        ("post", reverse("assistance:ticket_secondary", args=[pk])),
        *[("post", reverse("assistance:ticket_action", args=[pk, name]))
          for name in ("quota", "desactiver", "reactiver", "renvoyer-activation", "lever-limitation",
                       "reinitialiser-double-authentification", "fermer-sessions")],
    ]


def _hit(client: Client, method: str, url: str):
    data = {"body": "x", "kind": "answer", "close": "on", "into": "1", "identifier": "cmoreau", "numen": "",
            "establishment_ok": "on", "callback_ok": "on", "address": "pirate@exemple.fr", "megabytes": "99999",
            "do": "resoudre", "assignee": ""}
    return client.post(url, data) if method == "post" else client.get(url)


@pytest.mark.parametrize("role", ["staff", "secretariat"])
def test_the_console_is_a_404_for_other_roles(make_account, ticket, claire, role):
    intruder = make_account("Ivan", "Intrus", role=role, establishment="École Jean Jaurès")
    client = Client()
    client.force_login(intruder)
    for method, url in console_urls(ticket):
        assert _hit(client, method, url).status_code == 404, url
    claire.refresh_from_db()
    assert claire.status == Status.ACTIVE and claire.secondary_address == "claire.ancienne@exemple.fr"
    assert not JournalEntry.objects.filter(kind=EventKind.STAFF_ACTION).exists()
    assert not Entry.objects.exclude(kind="requester").exists()


def test_a_disabled_agent_is_refused(agent, ticket):
    Account.objects.filter(pk=agent.pk).update(status=Status.DISABLED)
    client = Client()
    client.force_login(agent)
    assert client.get(reverse("assistance:console")).status_code in (302, 404)


def test_signed_out_visitors_are_sent_to_sign_in(ticket):
    client = Client()
    for method, url in console_urls(ticket):
        response = _hit(client, method, url)
        assert response.status_code in (302, 403), url  # 403: CSRF refuses a cookieless POST first
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("accounts:login"))


def test_a_requester_never_reaches_another_ticket(make_account, ticket):
    other = make_account("Olivier", "Autre")
    client = Client()
    client.force_login(other)
    att = Attachment.objects.get(entry__ticket=ticket)
    assert client.get(reverse("assistance:mine_detail", args=[ticket.pk])).status_code == 404
    assert client.post(reverse("assistance:mine_detail", args=[ticket.pk]), {"message": "x"}).status_code == 404
    assert client.get(reverse("assistance:mine_attachment", args=[ticket.pk, att.pk])).status_code == 404
    assert ticket.entries.count() == 1
    assert client.get(reverse("assistance:follow", args=["devine"])).status_code == 410
    assert Client().get(reverse("assistance:mine_detail", args=[ticket.pk])).status_code == 302


def test_a_requester_never_reaches_an_internal_note_attachment(claire, agent, ticket):
    tickets.do_note(ticket, agent, "interne", [Upload("note.txt", "text/plain", b"interne")])
    note_att = Attachment.objects.get(entry__kind="note")
    client = Client()
    client.force_login(claire)
    assert client.get(reverse("assistance:mine_attachment", args=[ticket.pk, note_att.pk])).status_code == 404


def test_a_follow_link_reaches_only_its_own_ticket_attachments(client, claire, ticket):
    from django.core import mail

    from tests.assistance.conftest import links_in, ticket_form

    client.post(reverse("assistance:new"), ticket_form(numen="11E1234567ABC"))
    link = links_in(mail.outbox[-1])[0]
    att = Attachment.objects.get(entry__ticket=ticket)
    assert client.get(f"{link}pj/{att.pk}/").status_code == 404


def secretariat_urls(account: Account) -> list[tuple[str, str]]:
    pk = account.pk
    return [
        ("get", reverse("assistance:secretariat_account", args=[pk])),
        ("post", reverse("assistance:secretariat_letter", args=[pk])),
        ("post", reverse("assistance:secretariat_numen", args=[pk])),
        ("post", reverse("assistance:secretariat_departure", args=[pk])),
        ("post", reverse("assistance:secretariat_rename", args=[pk])),
        ("post", reverse("assistance:secretariat_reenable", args=[pk])),
    ]


def _hit_secretariat(client, method, url):
    data = {"reason": "Perte du NUMEN", "confirm": "on", "first_name": "Pirate", "last_name": "Pirate",
            "include_numen": "on"}
    return client.post(url, data) if method == "post" else client.get(url)


def test_another_establishment_is_a_404(secretary_client, make_account):
    elsewhere = make_account("Eve", "Ailleurs", establishment="Collège Voltaire")
    for method, url in secretariat_urls(elsewhere):
        assert _hit_secretariat(secretary_client, method, url).status_code == 404, url
    elsewhere.refresh_from_db()
    assert elsewhere.status == Status.ACTIVE and elsewhere.last_name == "Ailleurs"
    assert not JournalEntry.objects.filter(account=elsewhere).exists()
    listing = secretary_client.get(reverse("assistance:secretariat")).content.decode()
    assert "Ailleurs" not in listing


@pytest.mark.parametrize("role", ["staff", "support"])
def test_the_secretariat_is_a_404_for_other_roles(make_account, claire, role):
    intruder = make_account("Ivan", "Intrus", role=role, establishment="École Jean Jaurès")
    client = Client()
    client.force_login(intruder)
    assert client.get(reverse("assistance:secretariat")).status_code == 404
    assert client.get(reverse("assistance:secretariat_import")).status_code == 404
    for method, url in secretariat_urls(claire):
        assert _hit_secretariat(client, method, url).status_code == 404, url
    assert not JournalEntry.objects.filter(account=claire, kind=EventKind.NUMEN_SHOWN).exists()


def test_a_stranger_typing_an_identifier_never_reaches_the_owner_list(client, claire):
    from django.core import mail as outbox

    from tests.assistance.conftest import links_in, ticket_form

    client.post(reverse("assistance:new"), ticket_form(name="Inconnu", contact_email="inconnu@exemple.fr",
                                                       message="Message d'un inconnu"))
    client.post(links_in(outbox.outbox[-1])[0])  # the stranger confirms their own address
    ticket = Ticket.objects.get()
    assert ticket.account == claire and not ticket.identity_verified  # the agent sees whom it names
    owner = Client()
    owner.force_login(claire)
    assert "inconnu" not in owner.get(reverse("assistance:mine")).content.decode()
    assert owner.get(reverse("assistance:mine_detail", args=[ticket.pk])).status_code == 404
