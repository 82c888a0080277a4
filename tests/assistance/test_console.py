"""The agents' console: the queue (order, filters, pages), the account beside
the ticket, and each action on the account — written to the ticket, the audit
log and the person's own journal with the agent's name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from academail.accounts import apppasswords, throttle, totp
from academail.accounts.models import (
    AppPassword,
    EventKind,
    JournalEntry,
    Status,
    Throttle,
    TotpDevice,
)
from academail.assistance import tickets
from academail.assistance.models import AuditEntry, Entry, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def open_ticket(account=None, **fields):
    data = tickets.NewTicket(category=fields.pop("category", "autre"), subject=fields.pop("subject", "Aide"),
                             message="Bonjour", name="X Y", contact_email="x@exemple.fr", **fields)
    return tickets.check_open_web(data, requester=account, remote_addr="192.0.2.1").ticket


def test_queue_is_sorted_by_due_time_and_filtered(agent, agent_client, claire, make_account):
    late = open_ticket(claire, category="boite-pleine", subject="Ancienne")
    early = open_ticket(claire, category="configuration", subject="Urgente")
    past = timezone.now() - timedelta(hours=1)
    Ticket.objects.filter(pk=early.pk).update(due_at=past, open_due=past)
    page = agent_client.get(reverse("assistance:console")).content.decode()
    assert page.index("Urgente") < page.index("Ancienne")
    assert "en retard" in page
    only = agent_client.get(reverse("assistance:console") + "?categorie=boite-pleine").content.decode()
    assert "Ancienne" in only and "Urgente" not in only
    school = agent_client.get(reverse("assistance:console") + "?etablissement=Autre+école").content.decode()
    assert "Ancienne" not in school
    tickets.do_assign(late, agent, agent)
    mine = agent_client.get(reverse("assistance:console") + "?agent=moi").content.decode()
    assert "Ancienne" in mine and "Urgente" not in mine


def test_queue_pages(agent, agent_client, claire):
    for n in range(tickets.QUEUE_PAGE + 1):
        open_ticket(claire, subject=f"Sujet {n:03d}")
    first = agent_client.get(reverse("assistance:console")).content.decode()
    second = agent_client.get(reverse("assistance:console") + "?page=2").content.decode()
    assert "page=2" in first and "Sujet 050" in second and "Sujet 050" not in first


def test_the_account_beside_the_ticket(agent_client, claire, agent):
    throttle.record_failure([throttle.identifier_key(claire.identifier)])
    apppasswords.check_create(claire, "Téléphone")
    ticket = open_ticket(claire)
    page = agent_client.get(reverse("assistance:ticket", args=[ticket.pk])).content.decode()
    for text in ("cmoreau", "École Jean Jaurès", "Actif", "claire.ancienne@exemple.fr", "vérifiée", "Téléphone",
                 "1 échec(s)", "2,0\xa0Go"):
        assert text in page, text


def _staff_journal(account):
    return list(JournalEntry.objects.filter(account=account, kind=EventKind.STAFF_ACTION)
                .values_list("detail", flat=True))


def _action(agent_client, ticket, name, data=None):
    return agent_client.post(reverse("assistance:ticket_action", args=[ticket.pk, name]), data or {})


def test_each_action_is_written_three_times(agent_client, agent, claire, make_account):
    ticket = open_ticket(claire)
    throttle.record_failure([throttle.identifier_key(claire.identifier)])
    apppasswords.check_create(claire, "Téléphone")
    TotpDevice.objects.create(account=claire, secret_ciphertext=b"x")
    steps = [
        ("lever-limitation", {}, "limitation des tentatives de connexion levée"),
        ("quota", {"megabytes": 4096}, "quota porté à 4096 Mo"),
        ("reinitialiser-double-authentification", {}, "double authentification réinitialisée"),
        ("fermer-sessions", {}, "mots de passe d'application révoqués"),
        ("desactiver", {}, "compte désactivé"),
        ("reactiver", {}, "compte réactivé"),
    ]
    for name, data, text in steps:
        _action(agent_client, ticket, name, data)
        assert any(text in d and "Sophie Agent" in d for d in _staff_journal(claire)), name
    claire.refresh_from_db()
    assert claire.quota_bytes == 4096 * 1024 * 1024 and claire.status == Status.ACTIVE
    assert not Throttle.objects.exists() and not AppPassword.objects.exists() and not totp.has_device(claire)
    assert Entry.objects.filter(ticket=ticket, kind="action").count() == len(steps)
    assert set(AuditEntry.objects.filter(ticket=ticket, actor=agent).values_list("action", flat=True)) == {
        "clear_throttling", "raise_quota", "reset_totp", "revoke_access", "disable", "enable"}


def test_resend_activation_for_a_pending_account(agent_client, make_account):
    pending = make_account("Paul", "Durand", status="pending", secondary_address="paul@exemple.fr")
    ticket = open_ticket(pending, category="premiere-connexion")
    mail.outbox.clear()
    _action(agent_client, ticket, "renvoyer-activation")
    (sent,) = mail.outbox
    assert sent.to == ["paul@exemple.fr"] and "/premiere-connexion/" in sent.body
    assert "NUMEN" in sent.body and "11E" not in sent.body
    assert any("instructions de première connexion" in d for d in _staff_journal(pending))


def test_quota_cannot_be_lowered_or_exceed_the_ceiling(agent_client, claire, settings):
    settings.ASSISTANCE_MAX_QUOTA_MB = 5000
    ticket = open_ticket(claire)
    _action(agent_client, ticket, "quota", {"megabytes": 10})
    _action(agent_client, ticket, "quota", {"megabytes": 6000})
    claire.refresh_from_db()
    assert claire.quota_bytes == 2 * 1024 ** 3 and not _staff_journal(claire)


def test_identity_check_with_the_numen(agent_client, claire, agent):
    ticket = open_ticket(None, identifier="cmoreau")
    ticket = Ticket.objects.get(pk=ticket.pk)
    tickets.do_link_account(ticket, agent, claire)
    agent_client.post(reverse("assistance:ticket_identity", args=[ticket.pk]), {"numen": "11E9999999999"})
    ticket.refresh_from_db()
    assert not ticket.identity_verified
    refused = agent_client.post(reverse("assistance:ticket_secondary", args=[ticket.pk]),
                                {"address": "nouvelle@exemple.fr"}, follow=True).content.decode()
    assert "Vérifiez d&#x27;abord l&#x27;identité" in refused
    claire.refresh_from_db()
    assert claire.secondary_address == "claire.ancienne@exemple.fr"
    agent_client.post(reverse("assistance:ticket_identity", args=[ticket.pk]), {"numen": "11e 123 4567 abc"})
    ticket.refresh_from_db()
    assert ticket.identity_verified
    assert Entry.objects.filter(ticket=ticket, kind="action", body__contains="NUMEN").count() == 2


def test_a_callback_alone_is_not_enough(agent_client, claire):
    ticket = open_ticket(claire)
    agent_client.post(reverse("assistance:ticket_identity", args=[ticket.pk]), {"callback_ok": "on"})
    ticket.refresh_from_db()
    assert not ticket.identity_verified


def test_phone_ticket(agent_client, agent, claire):
    mail.outbox.clear()
    response = agent_client.post(reverse("assistance:phone"), {
        "identifier": "cmoreau", "category": "configuration", "message": "Son iPhone refuse le mot de passe.",
        "contact_phone": "06 00 00 00 00", "name": "", "establishment": "", "contact_email": "", "subject": ""})
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and ticket.channel == "phone" and ticket.account == claire
    assert ticket.assigned_to == agent and ticket.status == TicketStatus.OPEN and ticket.due_at
    assert mail.outbox[0].to == [claire.address]


def test_canned_answer_fills_placeholders(agent_client, claire):
    from academail.assistance.models import CannedAnswer

    canned = CannedAnswer.objects.create(title="Test", body="Bonjour {prenom}, demande {numero} ({inconnu}).")
    ticket = open_ticket(claire)
    page = agent_client.get(reverse("assistance:ticket", args=[ticket.pk]) + f"?modele={canned.pk}").content.decode()
    assert f"Bonjour Claire, demande {ticket.pk} ({{inconnu}})." in page


def test_dashboard_figures(agent_client, agent, claire):
    for _ in range(3):
        open_ticket(claire, category="boite-pleine")
    first = Ticket.objects.order_by("id").first()
    tickets.do_answer(first, agent, "Réglé", close=True)
    board = agent_client.get(reverse("assistance:dashboard")).content.decode()
    assert "<svg" in board and "<script" not in board.split("</head>")[1]
    assert "<td>Boîte pleine</td><td>2</td>" in board
    assert "1 sur 1" in board


def test_agents_manage_canned_answers(agent_client, agent, claire):
    from academail.assistance.models import AuditEntry, CannedAnswer

    agent_client.post(reverse("assistance:canned"), {"category": "boite-pleine", "title": "Quota augmenté",
                                                     "body": "Bonjour {prenom}, c'est fait."})
    answer = CannedAnswer.objects.get(title="Quota augmenté")
    agent_client.post(reverse("assistance:canned_edit", args=[answer.pk]),
                      {"category": "boite-pleine", "title": "Quota augmenté", "body": "Bonjour {prenom}, voilà."})
    ticket = open_ticket(claire, category="boite-pleine")
    page = agent_client.get(reverse("assistance:ticket", args=[ticket.pk])).content.decode()
    assert f"?modele={answer.pk}" in page
    assert "Bonjour Claire, voilà." in agent_client.get(
        reverse("assistance:ticket", args=[ticket.pk]) + f"?modele={answer.pk}").content.decode()
    agent_client.post(reverse("assistance:canned_edit", args=[answer.pk]),
                      {"supprimer": "1", "title": "x", "body": "x"})
    assert not CannedAnswer.objects.filter(pk=answer.pk).exists()
    assert AuditEntry.objects.filter(actor=agent, action__startswith="canned_").count() == 3


def test_recategorising_moves_the_day_counters(agent_client, agent, claire):
    from academail.assistance.models import DayStat

    ticket = open_ticket(claire)  # "autre"
    agent_client.post(reverse("assistance:ticket_category", args=[ticket.pk]), {"category": "transfert"})
    ticket.refresh_from_db()
    assert ticket.category == "transfert"
    counts = dict(DayStat.objects.values_list("category", "opened"))
    assert counts == {"autre": 0, "transfert": 1}
    assert Entry.objects.filter(ticket=ticket, kind="event", body__contains="Transfert").exists()
