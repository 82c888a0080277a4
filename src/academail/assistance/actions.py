"""The actions an agent takes on an account from a ticket. Each one calls
the owning service (``accounts.helpdesk``, which writes the person's journal
with the agent's name), then writes the ticket's thread and the audit log, in
that order, so what the person reads, what the ticket shows and what the
audit keeps say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from academail.accounts import helpdesk
from academail.accounts.models import Account
from academail.assistance import tickets
from academail.assistance.models import AuditEntry, Ticket

HelpdeskError = helpdesk.HelpdeskError
MEBIBYTE = 1024 * 1024


def audit(actor: Account, action: str, *, ticket: Ticket | None = None, account: Account | None = None,
          detail: str = "") -> None:
    AuditEntry.objects.create(actor=actor, actor_name=f"{actor.full_name} ({actor.identifier})",
                              action=action, ticket=ticket, account=account, detail=detail[:300])


def _done(ticket: Ticket, agent: Account, action: str, text: str) -> str:
    tickets.do_action_entry(ticket, agent, text)
    audit(agent, action, ticket=ticket, account=ticket.account, detail=text)
    return text


def _account(ticket: Ticket) -> Account:
    if ticket.account is None:
        raise HelpdeskError("Rattachez d'abord la demande au compte de la personne.")
    return ticket.account


@dataclass(frozen=True)
class IdentityCheck:
    """What the agent checked before changing the secondary address."""

    numen_ok: bool
    establishment_ok: bool
    callback_ok: bool

    @property
    def passed(self) -> bool:
        # The NUMEN, or the établissement confirmed by a call-back to a
        # number the académie already knows (the guide's two ways).
        return self.numen_ok or (self.establishment_ok and self.callback_ok)

    def describe(self) -> str:
        parts = []
        if self.numen_ok:
            parts.append("NUMEN")
        if self.establishment_ok:
            parts.append("établissement")
        if self.callback_ok:
            parts.append("rappel à un numéro connu")
        return ", ".join(parts) or "aucune vérification"


def check_identity(ticket: Ticket, agent: Account, *, numen: str, establishment_ok: bool,
                   callback_ok: bool) -> IdentityCheck:
    """Step 1 of the guided check: the NUMEN the person reads out is checked
    against the account (the agent never sees the stored one); the other two
    are the agent's word. Recorded on the ticket whatever the outcome."""
    from academail.accounts.numen import NumenError
    from academail.accounts.secrets import numen_hash

    account = _account(ticket)
    numen_ok = False
    if numen.strip():
        try:
            from academail.accounts.numen import validate_numen

            numen_ok = bool(account.numen_hash) and numen_hash(validate_numen(numen)) == account.numen_hash
        except NumenError as exc:
            raise HelpdeskError(str(exc)) from None
    result = IdentityCheck(numen_ok, establishment_ok, callback_ok)
    if numen.strip() and not numen_ok:
        _done(ticket, agent, "identity_failed", "Vérification d'identité : NUMEN incorrect")
    elif result.passed:
        tickets.do_mark_verified(ticket, agent, result.describe())
        audit(agent, "identity_checked", ticket=ticket, account=account, detail=result.describe())
    else:
        _done(ticket, agent, "identity_incomplete",
              f"Vérification d'identité incomplète ({result.describe()})")
    return result


def do_new_secondary_and_reset(ticket: Ticket, agent: Account, address: str) -> str:
    if not ticket.identity_verified:
        raise HelpdeskError("Vérifiez d'abord l'identité de la personne (étape 1).")
    account = _account(ticket)
    cleaned = helpdesk.do_set_secondary_and_reset(account, address, by=agent, base_url=settings.PUBLIC_URL)
    what = ("instructions de première connexion" if account.status == "pending"
            else "lien de réinitialisation du mot de passe")
    return _done(ticket, agent, "secondary_reset",
                 f"Nouvelle adresse de secours {cleaned} enregistrée ; {what} envoyé(es) à cette adresse")


def do_resend_activation(ticket: Ticket, agent: Account) -> str:
    address = helpdesk.do_resend_activation(_account(ticket), by=agent, base_url=settings.PUBLIC_URL)
    return _done(ticket, agent, "resend_activation", f"Instructions de première connexion renvoyées à {address}")


def do_clear_throttling(ticket: Ticket, agent: Account) -> str:
    helpdesk.do_clear_throttling(_account(ticket), by=agent)
    return _done(ticket, agent, "clear_throttling", "Limitation des tentatives de connexion levée")


def do_raise_quota(ticket: Ticket, agent: Account, megabytes: int) -> str:
    account = _account(ticket)
    if megabytes * MEBIBYTE <= account.quota_bytes:
        raise HelpdeskError("Le nouveau quota doit être supérieur à l'actuel.")
    if megabytes > int(settings.ASSISTANCE_MAX_QUOTA_MB):
        raise HelpdeskError(f"Au-delà de {settings.ASSISTANCE_MAX_QUOTA_MB} Mo, demandez à un administrateur.")
    helpdesk.do_set_quota(account, megabytes * MEBIBYTE, by=agent)
    return _done(ticket, agent, "raise_quota", f"Quota porté à {megabytes} Mo")


def do_reset_second_factor(ticket: Ticket, agent: Account) -> str:
    helpdesk.do_reset_second_factor(_account(ticket), by=agent)
    return _done(ticket, agent, "reset_totp", "Double authentification réinitialisée")


def do_revoke_access(ticket: Ticket, agent: Account) -> str:
    closed = helpdesk.do_revoke_access(_account(ticket), by=agent)
    return _done(ticket, agent, "revoke_access",
                 f"Sessions fermées ({closed}), appareils oubliés, mots de passe d'application révoqués")


def do_set_enabled(ticket: Ticket, agent: Account, enabled: bool) -> str:
    helpdesk.do_set_enabled(_account(ticket), enabled, by=agent)
    return _done(ticket, agent, "enable" if enabled else "disable",
                 "Compte réactivé" if enabled else "Compte désactivé")


ACTIONS = {
    "renvoyer-activation": do_resend_activation,
    "lever-limitation": do_clear_throttling,
    "reinitialiser-double-authentification": do_reset_second_factor,
    "fermer-sessions": do_revoke_access,
}
