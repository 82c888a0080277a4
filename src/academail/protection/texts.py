"""What each phishing warning says to the person, in their language: a
title and a "Pourquoi ?" detail per warning code, French first (the msgids)
with English in the catalogue. Warnings are stored as a code, a level and
parameters (``phishing.Warning``) and put into words here when a message is
opened, so the same stored row reads in French for one person and in
English for another, and a reworded explanation reaches old messages too.

A code missing here (a row stored by a newer version) or a parameter
missing from a row shows a generic text rather than failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# code -> (title, detail); %(name)s are the warning's parameters.
TEXTS: dict[str, tuple[Any, Any]] = {
    "EXTERNAL": (
        _("Message venant de l'extérieur de l'académie"),
        _("L'expéditeur, %(address)s, n'a pas d'adresse de l'académie. Si vous ne le connaissez pas, ne cliquez "
          "pas sur ses liens et n'ouvrez pas ses pièces jointes sans raison."),
    ),
    "NEW_DOMAIN": (
        _("Premier message de ce domaine"),
        _("C'est la première fois que l'académie reçoit un message de %(domain)s. Un expéditeur inconnu qui "
          "vous presse ou vous demande des informations mérite de la méfiance."),
    ),
    "LOOKALIKE_DOMAIN": (
        _("Adresse d'expéditeur qui imite %(real)s"),
        _("L'adresse %(address)s utilise le domaine %(domain)s, qui ressemble à %(real)s sans l'être (lettres "
          "changées, ajoutées ou remplacées par des caractères d'autres alphabets). C'est une technique courante "
          "d'hameçonnage."),
    ),
    "DISPLAY_NAME_SERVICE": (
        _("Le nom « %(name)s » ne correspond pas à l'adresse"),
        _("Le message se présente comme venant de « %(name)s », mais son adresse réelle est %(address)s, hors de "
          "l'académie. Les services de l'académie vous écrivent depuis une adresse de l'académie."),
    ),
    "DISPLAY_NAME_STAFF": (
        _("Le nom d'un membre de l'académie, une adresse extérieure"),
        _("Le message porte le nom « %(name)s », celui d'une personne de l'académie, mais il vient de "
          "%(address)s, hors de l'académie. Avant de répondre, vérifiez auprès de cette personne par son adresse "
          "habituelle."),
    ),
    "DISPLAY_NAME_ADDRESS": (
        _("Une adresse de l'académie dans le nom, une autre en réalité"),
        _("Le nom affiché contient une adresse de l'académie, mais le message vient de %(address)s."),
    ),
    "REPLY_TO": (
        _("Votre réponse partirait vers une autre adresse"),
        _("Le message vient de %(address)s, mais si vous répondez, votre réponse ira à %(reply)s. Vérifiez cette "
          "adresse avant d'envoyer quoi que ce soit."),
    ),
    "AUTH_ACADEMIE": (
        _("Faux message de l'académie"),
        _("Le message affiche l'adresse %(address)s, de l'académie, mais il vient de l'extérieur et n'a pas pu "
          "prouver son origine (SPF, DKIM, DMARC). Il s'agit très probablement d'une usurpation."),
    ),
    "AUTH_FAILED": (
        _("L'expéditeur n'a pas pu être vérifié"),
        _("Le domaine %(domain)s publie des règles qui permettent de vérifier ses messages (DMARC), et ce message "
          "ne les respecte pas : il n'a probablement pas été envoyé par ce domaine."),
    ),
    "LINK_USERINFO": (
        _("Lien déguisé"),
        _("Un lien commence par « %(userinfo)s@ » : ce qui précède le @ est ignoré par le navigateur, qui ouvre "
          "en réalité %(host)s."),
    ),
    "LINK_IP": (
        _("Lien vers une adresse IP"),
        _("Un lien mène à %(host)s, une adresse numérique plutôt qu'un nom de site : les sites officiels n'en "
          "utilisent pas."),
    ),
    "LINK_LOOKALIKE": (
        _("Lien vers un site qui imite %(real)s"),
        _("Un lien mène à %(host)s, qui ressemble à %(real)s sans l'être."),
    ),
    "LINK_SHORTENER": (
        _("Lien raccourci"),
        _("Un lien passe par %(host)s, un service qui cache la vraie destination."),
    ),
    "LINK_TEXT_MISMATCH": (
        _("Lien trompeur"),
        _("Un lien affiche « %(shown)s » mais mène en réalité à %(host)s."),
    ),
    "FORM_OUTSIDE": (
        _("Formulaire qui envoie vos réponses à l'extérieur"),
        _("Le message contient un formulaire dont les réponses partent vers %(host)s. Ne saisissez jamais votre "
          "mot de passe ou votre NUMEN dans un message."),
    ),
    "CREDENTIAL_LURE": (
        _("Demande d'identifiants : hameçonnage probable"),
        _("Ce message vous parle de %(terms)s et contient un lien ou un formulaire vers l'extérieur. L'académie "
          "ne vous demande jamais votre mot de passe ni votre NUMEN par message. Ne cliquez pas ; signalez-le."),
    ),
    "CREDENTIAL_LURE_URGENT": (
        _("Demande d'identifiants : hameçonnage probable"),
        _("Ce message vous parle de %(terms)s avec urgence et contient un lien ou un formulaire vers l'extérieur. "
          "L'académie ne vous demande jamais votre mot de passe ni votre NUMEN par message. Ne cliquez pas ; "
          "signalez-le."),
    ),
    "CREDENTIAL_MENTION": (
        _("Message qui parle de vos identifiants"),
        _("Ce message venu de l'extérieur parle de %(terms)s. Ne communiquez jamais votre mot de passe ni votre "
          "NUMEN."),
    ),
    "ATTACHMENT_RTL": (
        _("Nom de pièce jointe truqué"),
        _("Le nom de la pièce jointe contient un caractère qui inverse le sens d'écriture, pour cacher sa vraie "
          "extension : « %(name)s »."),
    ),
    "ATTACHMENT_DOUBLE_EXTENSION": (
        _("Pièce jointe déguisée"),
        _("« %(name)s » se fait passer pour un document .%(shown)s mais c'est un programme (.%(ext)s)."),
    ),
    "ATTACHMENT_EXECUTABLE": (
        _("Pièce jointe exécutable"),
        _("« %(name)s » est un programme ou un script (.%(ext)s) : l'ouvrir peut installer un logiciel "
          "malveillant. Ne l'ouvrez pas."),
    ),
    "ATTACHMENT_MACRO": (
        _("Document Office avec macros"),
        _("« %(name)s » contient des macros, de petits programmes qui s'exécutent à l'ouverture. N'activez "
          "jamais les macros d'un document reçu par message."),
    ),
    "ATTACHMENT_HTML_FORM": (
        _("Page jointe avec un formulaire"),
        _("« %(name)s » est une page web qui contient un formulaire : une fausse page de connexion est une "
          "technique courante pour voler un mot de passe."),
    ),
    "ARCHIVE_ENCRYPTED": (
        _("Archive protégée par un mot de passe"),
        _("« %(name)s » est chiffrée : aucun antivirus ne peut en vérifier le contenu. C'est souvent utilisé pour "
          "faire passer des logiciels malveillants."),
    ),
    "ARCHIVE_EXECUTABLE": (
        _("Archive contenant un programme"),
        _("« %(name)s » contient %(inner)s, un programme ou un document à macros."),
    ),
}


def _terms(value: object) -> str:
    """The words of the message a lure matched, quoted as they were found."""
    items = value if isinstance(value, list) else [value]
    return ", ".join(f"« {item} »" for item in items if item)


def describe(code: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """(title, detail) of one stored warning in the active language."""
    values: dict[str, Any] = {k: (_terms(v) if k == "terms" else v) for k, v in params.items()}
    key = f"{code}_URGENT" if params.get("urgent") and f"{code}_URGENT" in TEXTS else code
    title, detail = TEXTS.get(key, (None, None))
    if title is None:
        return gettext("Avertissement"), gettext("Ce message présente un risque : restez prudent.")
    try:
        return str(title) % values, str(detail) % values
    except (KeyError, TypeError, ValueError):
        return str(title) % _Blank(), str(detail) % _Blank()


class _Blank(dict[str, str]):
    """Formats a text whose parameters are missing: each shows as "…"."""

    def __missing__(self, key: str) -> str:
        return "…"
