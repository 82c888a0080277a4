"""How every page of the product points to help: the one place that builds
an article's address and a "Contacter l'assistance" link with the helpdesk
category pre-selected. It lives in ``web/`` (what every page shares), not in
``help/``: accounts, webmail and the other packages' pages link to articles,
and ``help/`` itself needs accounts and delivery (training invitations), so a
module of ``help/`` would tie them in a cycle.

Use ``article_url(slug)`` in Python and ``{% load help_links %}`` then
``{% help_hint "slug" %}`` (a short "Comment résoudre ce problème ?" line with
the article's title) or ``{% article_url "slug" %}`` in templates. The slugs
of the articles that refusals point to are the ``Articles`` constants below;
tests check that each exists in the shipped set.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse


class Articles:
    """Slugs of the articles a refusal or a page links to (stable addresses)."""

    SIGN_IN = "se-connecter"
    FIRST_CONNECTION = "premiere-connexion"
    NUMEN = "numen"
    THROTTLED = "connexion-bloquee"
    PASSWORD_RULES = "choisir-un-mot-de-passe"  # noqa: S105 - an article address
    FORGOTTEN_PASSWORD = "mot-de-passe-oublie"  # noqa: S105 - an article address
    SECONDARY_ADDRESS = "adresse-de-secours"
    PHONE = "telephone-et-logiciels"
    APP_PASSWORDS = "mots-de-passe-d-application"
    FILTERS = "filtres-et-absence"
    FORWARDING = "transfert"
    SPAM_PHISHING = "indesirables-et-hameconnage"
    FULL_MAILBOX = "boite-pleine"
    RETENTION = "conservation-et-archivage"
    SENDING_LIMITS = "limites-d-envoi"
    APPOINTMENTS = "rendez-vous"
    TRAINING = "formations"
    SHARING = "boites-partagees"
    LISTS = "listes-de-diffusion"


# The helpdesk categories (assistance's ticket form reads ``?categorie=<slug>``).
CATEGORIES = (
    "premiere-connexion", "mot-de-passe-oublie", "adresse-de-secours", "numen-perdu",
    "configuration", "boite-pleine", "indesirables-hameconnage", "transfert", "autre",
)

_MESSAGE_TAG = "aide:"


def message_tag(slug: str) -> str:
    """``extra_tags`` for a Django message whose box should link to an article:
    ``messages.warning(request, text, extra_tags=message_tag(Articles.SENDING_LIMITS))``."""
    return _MESSAGE_TAG + slug


def slug_of_message_tags(extra_tags: str) -> str:
    """The article slug carried by a message's ``extra_tags``, or ""."""
    for tag in (extra_tags or "").split():
        if tag.startswith(_MESSAGE_TAG):
            return tag[len(_MESSAGE_TAG):]
    return ""


def article_url(slug: str) -> str:
    """The address of an article (whether it exists is the article page's business)."""
    return reverse("help:article", args=[slug])


def assistance_url(category: str) -> str:
    """"Contacter l'assistance" with ``category`` pre-selected (``autre`` if unknown)."""
    if category not in CATEGORIES:
        category = "autre"
    return reverse("assistance:new") + "?" + urlencode({"categorie": category})
