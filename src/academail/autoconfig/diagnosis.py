"""The phone diagnosis of "Configurer mon téléphone": the person's latest
refused IMAP/SMTP sign-ins (read from their journal through ``accounts``),
each with why it failed in plain French, what to change, and the article that
explains it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from academail.accounts.journal import MailSignInFailure, access_mail_sign_in_failures
from academail.accounts.models import Account
from academail.web.helplinks import Articles, article_url

_ADVICE: dict[str, tuple[Any, Any, str]] = {
    "app_password_required": (
        _("Le mot de passe du compte a été utilisé, alors qu'un mot de passe d'application est exigé."),
        _("Créez un mot de passe d'application pour cet appareil (« Sécurité du compte » › « Mots de passe "
          "d'application ») et saisissez-le dans l'appareil à la place de votre mot de passe habituel."),
        Articles.APP_PASSWORDS,
    ),
    "wrong_password": (
        _("Mot de passe incorrect."),
        _("L'appareil garde sans doute un ancien mot de passe : remplacez-le dans les réglages du compte de "
          "l'appareil, ou mieux, par un mot de passe d'application."),
        Articles.PHONE,
    ),
    "throttled": (
        _("Refusée sans vérification : trop d'essais manqués, la connexion est suspendue un moment."),
        _("Corrigez d'abord le mot de passe enregistré dans l'appareil, puis attendez quelques minutes : "
          "chaque nouvel essai pendant l'attente est refusé."),
        Articles.THROTTLED,
    ),
    "plaintext": (
        _("Refusée : l'appareil a tenté de se connecter sans chiffrement."),
        _("Dans les réglages du compte de l'appareil, choisissez la sécurité SSL/TLS (port 993 pour la "
          "réception, 465 pour l'envoi)."),
        Articles.PHONE,
    ),
    "inactive": (
        _("Le compte n'est pas actif."),
        _("Contactez l'assistance."),
        Articles.SIGN_IN,
    ),
    "unknown": (
        _("Connexion refusée."),
        _("Vérifiez le mot de passe enregistré dans l'appareil."),
        Articles.PHONE,
    ),
}


@dataclass(frozen=True)
class Finding:
    at: datetime
    protocol: str
    device: str
    remote_addr: str
    reason: str
    why: str
    what_to_do: str
    article_url: str
    fixed_at: datetime | None


def _finding(failure: MailSignInFailure) -> Finding:
    why, what, slug = _ADVICE.get(failure.reason, _ADVICE["unknown"])
    return Finding(failure.at, failure.protocol.upper(), failure.device, failure.remote_addr, failure.reason,
                   str(why), str(what), article_url(slug), failure.fixed_at)


def phone_diagnosis(requester: Account) -> list[Finding]:
    """The requester's latest refused mail-client sign-ins, newest first, with advice."""
    return [_finding(failure) for failure in access_mail_sign_in_failures(requester)]
