"""The helpdesk's categories (from the staff guide), each with the extra
questions its form asks, so the agent gets what they need the first time.
The answers are kept in ``Ticket.fields`` under the question's key."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

YES_NO = (("oui", _("Oui")), ("non", _("Non")))


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = False


# Keyed by ``models.Category`` slug.
QUESTIONS: dict[str, tuple[Question, ...]] = {
    "premiere-connexion": (
        Question("etape", _("À quelle étape êtes-vous bloqué ?"), (
            ("numen", _("Identifiant ou NUMEN refusé")),
            ("mot-de-passe", _("Choix du mot de passe")),
            ("code", _("Le code de vérification n'arrive pas")),
            ("autre", _("Autre")),
        )),
    ),
    "mot-de-passe-oublie": (
        Question("secours_accessible", _("Avez-vous encore accès à votre adresse de secours ?"), YES_NO),
    ),
    "adresse-de-secours": (
        Question("ancienne_adresse", _("Ancienne adresse de secours (si vous vous en souvenez)")),
    ),
    "numen-perdu": (
        Question("secretariat_contacte", _("Avez-vous déjà demandé votre NUMEN à votre secrétariat ?"), YES_NO),
    ),
    "configuration": (
        Question("appareil", _("Appareil ou logiciel"), (
            ("iphone", "iPhone / iPad"), ("android", "Android"), ("thunderbird", "Thunderbird"),
            ("outlook", "Outlook"), ("autre", _("Autre")),
        )),
        Question("message_erreur", _("Message d'erreur affiché (recopiez-le)")),
    ),
    "boite-pleine": (
        Question("corbeille_videe", _("Avez-vous déjà vidé la corbeille et les indésirables ?"), YES_NO),
    ),
    "indesirables-hameconnage": (
        Question("expediteur", _("Adresse de l'expéditeur du message suspect")),
        Question("lien_clique", _("Avez-vous cliqué sur un lien ou saisi votre mot de passe ?"), YES_NO),
    ),
    "transfert": (
        Question("adresse_cible", _("Adresse vers laquelle vous voulez transférer")),
    ),
    "autre": (),
}


def questions(category: str) -> tuple[Question, ...]:
    return QUESTIONS.get(category, ())


def clean_fields(category: str, data: dict[str, str]) -> dict[str, str]:
    """Keep only this category's questions, answers trimmed and bounded;
    a choice outside its list is dropped."""
    cleaned: dict[str, str] = {}
    for question in questions(category):
        value = " ".join(str(data.get(question.key, "")).split())[:300]
        if question.choices and value not in {c for c, _ in question.choices}:
            continue
        if value:
            cleaned[question.key] = value
    return cleaned


def describe(category: str, fields: dict[str, str]) -> list[tuple[str, str]]:
    """(question, answer) pairs for display, answers of choices as their label."""
    shown = []
    for question in questions(category):
        value = fields.get(question.key)
        if value:
            labels = dict(question.choices)
            shown.append((str(question.label), str(labels.get(value, value))))
    return shown
