"""Demo tickets for the helpdesk, made through the real services so the
queue, the consoles and the dashboard have something to show: tickets from
the form (signed in, signed out awaiting confirmation), by phone and by mail,
answered, with a note, resolved and rated, one overdue."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from academail.accounts.models import Account
from academail.assistance import tickets
from academail.assistance.models import Ticket
from academail.assistance.tickets import NewTicket, Upload


def seed_tickets(accounts: list[Account]) -> int:
    """Some tickets about the demo's staff, handled by its first agent."""
    staff = [a for a in accounts if a.role == "staff"]
    agents = [a for a in accounts if a.role == "support"]
    if not staff or not agents:
        return 0
    agent = agents[0]
    made: list[Ticket] = []
    made.append(tickets.check_open_web(NewTicket(
        category="boite-pleine", subject="Ma boîte est pleine", message="Je ne reçois plus rien depuis ce matin.",
        fields={"corbeille_videe": "oui"}), requester=staff[0], remote_addr="192.0.2.10").ticket)
    made.append(tickets.check_open_web(NewTicket(
        category="configuration", subject="Thunderbird refuse mon mot de passe",
        message="Le message dit « échec de l'authentification ».", fields={"appareil": "thunderbird"},
        attachments=[Upload("erreur.txt", "text/plain", "Échec de l'authentification IMAP\n".encode())]),
        requester=staff[1 % len(staff)], remote_addr="192.0.2.11").ticket)
    made.append(tickets.check_open_web(NewTicket(
        category="numen-perdu", subject="", message="J'ai perdu mon NUMEN et je ne peux plus me connecter.",
        name="Claire Moreau", establishment="École Jean Jaurès, Montpellier",
        contact_email="claire.moreau.perso@exemple-perso.fr"), requester=None, remote_addr="192.0.2.12").ticket)
    made.append(tickets.do_open_phone(agent, NewTicket(
        category="mot-de-passe-oublie", subject="Mot de passe oublié, adresse de secours perdue",
        message="Appelle depuis le secrétariat de son collège.", contact_phone="04 67 00 00 00"),
        account=staff[2 % len(staff)]))
    made.append(tickets.do_open_mail(NewTicket(
        category="indesirables-hameconnage", subject="Message suspect « votre boîte va être fermée »",
        message="Bonjour, j'ai reçu ce message, est-ce une arnaque ?", name=staff[0].full_name,
        contact_email=staff[0].address)))
    tickets.do_answer(made[1], agent, "Bonjour, sur Thunderbird utilisez un mot de passe d'application "
                                      "(« Sécurité du compte »). Cordialement,")
    tickets.do_note(made[3], agent, "Rappel prévu au standard du collège pour vérifier son identité.")
    tickets.do_answer(made[0], agent, "Bonjour, nous avons augmenté votre quota. Cordialement,", close=True)
    tickets.check_rating(Ticket.objects.get(pk=made[0].pk), 5)
    # One overdue ticket, so the queue shows how late ones stand out.
    late = timezone.now() - timedelta(hours=3)
    Ticket.objects.filter(pk=made[4].pk).update(due_at=late, open_due=late)
    return len(made)
