"""Move the requests of the first helpdesk form (``accounts.AssistanceRequest``)
into tickets, keeping their date, person, contact, message and whether the
identifier and NUMEN were verified; handled ones become resolved tickets.
Also the first canned answers of the agents."""

import secrets
from datetime import timedelta

from django.db import migrations

_CATEGORY = {
    "password": "mot-de-passe-oublie", "secondary": "adresse-de-secours", "activation": "premiere-connexion",
    "numen": "numen-perdu", "other": "autre",
}
_SUBJECT = {
    "password": "Mot de passe oublié", "secondary": "Adresse de secours inaccessible",
    "activation": "Première connexion impossible", "numen": "NUMEN perdu", "other": "Autre question",
}

CANNED = [
    ("", "Demande de précisions",
     "Bonjour {prenom},\n\nPour avancer sur votre demande n° {numero}, pourriez-vous nous préciser "
     "le message d'erreur affiché et l'appareil utilisé ?\n\nCordialement,"),
    ("mot-de-passe-oublie", "Lien de réinitialisation envoyé",
     "Bonjour {prenom},\n\nNous avons vérifié votre identité et envoyé un lien de réinitialisation du mot "
     "de passe à votre nouvelle adresse de secours. Il est valable une heure et ne sert qu'une fois. "
     "Votre identifiant : {identifiant}.\n\nCordialement,"),
    ("numen-perdu", "NUMEN : s'adresser au secrétariat",
     "Bonjour {prenom},\n\nVotre NUMEN figure sur vos bulletins de paie et vos arrêtés. Votre secrétariat "
     "peut aussi vous le redonner. L'assistance ne le communique jamais par courriel.\n\nCordialement,"),
    ("configuration", "Paramètres de configuration",
     "Bonjour {prenom},\n\nLa page « Configurer mon téléphone » de la messagerie donne les réglages et un "
     "profil à installer pour votre adresse {adresse}.\n\nCordialement,"),
    ("boite-pleine", "Boîte pleine : quota augmenté",
     "Bonjour {prenom},\n\nNous avons augmenté le quota de votre boîte. Pensez à vider la corbeille et les "
     "indésirables, et à archiver les messages anciens.\n\nCordialement,"),
]


def forwards(apps, schema_editor):
    Old = apps.get_model("accounts", "AssistanceRequest")
    Ticket = apps.get_model("assistance", "Ticket")
    Entry = apps.get_model("assistance", "Entry")
    CannedAnswer = apps.get_model("assistance", "CannedAnswer")
    for old in Old.objects.all().iterator():
        contact = old.contact.strip()
        is_mail = "@" in contact
        ticket = Ticket.objects.create(
            category=_CATEGORY.get(old.reason, "autre"), subject=_SUBJECT.get(old.reason, "Autre question"),
            status="closed" if old.handled_at else "new", channel="web", account_id=old.account_id,
            identifier_given=old.identifier, name=old.name or "?",
            contact_email=contact.lower() if is_mail else "", contact_phone="" if is_mail else contact,
            identity_verified=old.numen_verified, created_at=old.created_at, queued_at=old.created_at,
            # The first form promised an answer "in general within 48 hours".
            due_at=old.created_at + timedelta(hours=48), closed_at=old.handled_at, updated_at=old.created_at,
            mail_key=secrets.token_hex(3), remote_addr=old.remote_addr,
        )
        Entry.objects.create(ticket=ticket, kind="requester", author_name=ticket.name,
                             body=old.message or "(sans message)", created_at=old.created_at)
    for category, title, body in CANNED:
        CannedAnswer.objects.create(category=category, title=title, body=body)


def backwards(apps, schema_editor):
    apps.get_model("assistance", "CannedAnswer").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("assistance", "0001_initial"),
        ("accounts", "0004_alter_journalentry_kind"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
