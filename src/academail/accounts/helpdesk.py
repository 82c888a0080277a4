"""What the helpdesk and the secretariat may see of, and do to, an account:
the services their consoles call (``assistance`` never touches the tables of
``accounts``). Each action writes the person's own journal naming who acted
(``EventKind.STAFF_ACTION``), so the owner reads in "Sécurité du compte" what
the helpdesk did; the consoles add their own audit trail and ticket entry.

Callers have checked the actor's role and scope (``assistance.access``):
nothing here decides who may act.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from academail.accounts import journal, lifecycle, throttle
from academail.accounts.apppasswords import do_revoke_all
from academail.accounts.devices import do_end_all
from academail.accounts.models import (
    Account,
    Alias,
    AppPassword,
    Device,
    EventKind,
    JournalEntry,
    Status,
    Throttle,
)
from academail.accounts.notices import send_activation_reminder
from academail.accounts.secrets import decrypt_numen
from academail.accounts.services import (
    AccountError,
    check_update_account,
    clean_secondary_address,
    new_address,
    new_identifier,
)
from academail.store import acl

RECENT_SIGNINS = 8


class HelpdeskError(ValueError):
    """An action that cannot be done; ``str()`` is for the agent, in French."""


@dataclass(frozen=True)
class ThrottleState:
    key: str
    failures: int
    blocked_until: datetime | None


@dataclass(frozen=True)
class Overview:
    account: Account
    signins: list[JournalEntry]
    failures: list[JournalEntry]
    throttles: list[ThrottleState]
    devices: list[Device]
    app_passwords: list[AppPassword]
    has_second_factor: bool

    @property
    def blocked(self) -> bool:
        now = timezone.now()
        return any(t.blocked_until and t.blocked_until > now for t in self.throttles)


def _throttle_filter(account: Account) -> Q:
    return Q(key=throttle.identifier_key(account.identifier)) | Q(key__startswith=f"dev:{account.pk}:")


def overview(account: Account) -> Overview:
    """Everything the agent sees beside a ticket, in a handful of indexed
    queries (the journal by its (account, -id) index)."""
    from academail.accounts.totp import has_device

    recent = JournalEntry.objects.filter(account=account).order_by("-id")
    return Overview(
        account=account,
        signins=list(recent.filter(kind=EventKind.SIGNIN)[:RECENT_SIGNINS]),
        failures=list(recent.filter(kind=EventKind.SIGNIN_FAILED)[:RECENT_SIGNINS]),
        throttles=[ThrottleState(t.key, t.failures, t.blocked_until)
                   for t in Throttle.objects.filter(_throttle_filter(account))],
        devices=list(Device.objects.filter(account=account).order_by("-last_seen")[:20]),
        app_passwords=list(AppPassword.objects.filter(account=account).order_by("-id")[:20]),
        has_second_factor=has_device(account),
    )


def record(account: Account, by: Account, what: str, *, role_label: str = "l'assistance") -> None:
    """Write one line in the person's journal: what was done and by whom."""
    journal.do_record(account, EventKind.STAFF_ACTION, protocol="web",
                      detail=f"{what} — par {role_label} ({by.full_name})")


def do_resend_activation(account: Account, *, by: Account, base_url: str) -> str:
    """Send the first-connection instructions again (to the secondary address
    on file). Returns the address written to."""
    if account.status != Status.PENDING:
        raise HelpdeskError("Ce compte est déjà activé : la première connexion n'est plus possible.")
    if not account.secondary_address:
        raise HelpdeskError("Aucune adresse de secours n'est connue : enregistrez-en une d'abord.")
    url = base_url.rstrip("/") + reverse("accounts:activation_start")
    if not send_activation_reminder(account, url):
        raise HelpdeskError("Le courriel n'a pas pu partir. Réessayez dans quelques minutes.")
    record(account, by, f"instructions de première connexion renvoyées à {account.secondary_address}")
    return account.secondary_address


def do_set_secondary_and_reset(account: Account, address: str, *, by: Account, base_url: str) -> str:
    """After the agent checked the person's identity: record ``address`` as
    the verified secondary address and send it a password-reset link (the
    same single-use link as "Mot de passe oublié"). A pending account gets the
    first-connection instructions instead. Returns the cleaned address."""
    try:
        cleaned = clean_secondary_address(address)
    except AccountError as exc:
        raise HelpdeskError(str(exc)) from None
    if not cleaned:
        raise HelpdeskError("Saisissez la nouvelle adresse de secours.")
    if account.status in (Status.DISABLED, Status.SUSPENDED):
        raise HelpdeskError("Ce compte est désactivé : réactivez-le d'abord.")
    old = account.secondary_address
    account.secondary_address = cleaned
    account.secondary_verified = True
    account.save(update_fields=["secondary_address", "secondary_verified", "updated_at"])
    record(account, by, f"identité vérifiée, nouvelle adresse de secours {cleaned}")
    from academail.accounts.notices import send_secondary_changed

    send_secondary_changed(account, old)
    if account.status == Status.PENDING:
        do_resend_activation(account, by=by, base_url=base_url)
    else:
        lifecycle.do_request_reset(account, base_url=base_url, remote_addr="")
        record(account, by, f"lien de réinitialisation du mot de passe envoyé à {cleaned}")
    return cleaned


def do_clear_throttling(account: Account, *, by: Account) -> int:
    deleted, _ = Throttle.objects.filter(_throttle_filter(account)).delete()
    record(account, by, "limitation des tentatives de connexion levée")
    return deleted


def do_set_quota(account: Account, quota_bytes: int, *, by: Account) -> None:
    try:
        changed = check_update_account(account, quota_bytes=quota_bytes)
    except AccountError as exc:
        raise HelpdeskError(str(exc)) from None
    if changed:
        record(account, by, f"quota porté à {quota_bytes // (1024 * 1024)} Mo")


def do_reset_second_factor(account: Account, *, by: Account) -> None:
    from academail.accounts.totp import do_admin_reset, has_device

    if not has_device(account):
        raise HelpdeskError("Ce compte n'a pas de double authentification.")
    do_admin_reset(account, by=by)
    record(account, by, "double authentification réinitialisée")


def do_revoke_access(account: Account, *, by: Account) -> int:
    """Close every web session, forget devices, revoke app passwords."""
    with transaction.atomic():
        closed = do_end_all(account)
        do_revoke_all(account)
    record(account, by, f"sessions fermées ({closed}) et mots de passe d'application révoqués")
    return closed


def do_set_enabled(account: Account, enabled: bool, *, by: Account, role_label: str = "l'assistance") -> None:
    """Disable (sign-ins refused, sessions closed, mail refused) or re-enable.
    A re-enabled account that was never activated goes back to pending."""
    if enabled:
        if account.status not in (Status.DISABLED, Status.SUSPENDED):
            raise HelpdeskError("Ce compte n'est pas désactivé.")
        account.status = Status.ACTIVE if account.has_usable_password() else Status.PENDING
        account.delete_after = None
        account.save(update_fields=["status", "delete_after", "updated_at"])
        record(account, by, "compte réactivé", role_label=role_label)
        return
    if account.status == Status.DISABLED:
        raise HelpdeskError("Ce compte est déjà désactivé.")
    with transaction.atomic():
        account.status = Status.DISABLED
        account.save(update_fields=["status", "updated_at"])
        do_end_all(account)
    record(account, by, "compte désactivé", role_label=role_label)


# --- the secretariat ------------------------------------------------------------------


def reveal_numen(account: Account, *, by: Account, reason: str) -> str:
    """The NUMEN in clear, for a secretary who gave a reason; journaled."""
    reason = " ".join(reason.split())[:150]
    if len(reason) < 5:
        raise HelpdeskError("Indiquez pourquoi vous affichez ce NUMEN.")
    if not account.numen_ciphertext:
        raise HelpdeskError("Aucun NUMEN n'est enregistré pour ce compte.")
    numen = decrypt_numen(bytes(account.numen_ciphertext))
    journal.do_record(account, EventKind.NUMEN_SHOWN, protocol="web",
                      detail=f"par le secrétariat ({by.full_name}) — motif : {reason}")
    return numen


def do_depart(account: Account, *, by: Account, keep_days: int | None = None) -> datetime:
    """A departure: the account is disabled now, its mail kept
    ``DEPARTURE_KEEP_DAYS`` days, then deleted by ``do_purge_departed``.
    Returns the deletion date."""
    keep = int(settings.DEPARTURE_KEEP_DAYS if keep_days is None else keep_days)
    when = timezone.now() + timedelta(days=keep)
    if account.status != Status.DISABLED:
        do_set_enabled(account, False, by=by, role_label="le secrétariat")
    # Issue 19: the rights on functional mailboxes, shared folders and
    # delegations end now (a disabled account already reaches nothing).
    acl.do_end_grants_of(account.pk)
    account.delete_after = when
    account.save(update_fields=["delete_after", "updated_at"])
    record(account, by, f"départ enregistré : suppression le {timezone.localdate(when):%d/%m/%Y}",
           role_label="le secrétariat")
    return when


def do_purge_departed(now: datetime) -> int:
    """Delete the accounts whose departure delay is over (mailboxes and
    messages go with them through the cascade; blobs are collected by the
    store's garbage collection). Meant for the worker, once a day."""
    deleted = 0
    for account in Account.objects.filter(delete_after__lte=now, status=Status.DISABLED)[:500]:
        account.delete()
        deleted += 1
    return deleted


def check_rename(account: Account, *, first_name: str, last_name: str, by: Account) -> tuple[str, str]:
    """A name change: new names, a new identifier and address made from them;
    the old address stays as an alias (mail to it still arrives). Returns
    (identifier, address)."""
    old_address = account.address
    with transaction.atomic():
        try:
            check_update_account(account, first_name=first_name, last_name=last_name)
        except (AccountError, ValueError) as exc:
            raise HelpdeskError(str(exc)) from None
        account.identifier = new_identifier(account.first_name, account.last_name)
        account.address = new_address(account.first_name, account.last_name)
        account.save(update_fields=["identifier", "address", "updated_at"])
        Alias.objects.create(account=account, address=old_address)
    record(account, by, f"changement de nom : nouvel identifiant {account.identifier}, "
                        f"nouvelle adresse {account.address} (l'ancienne reste un alias)",
           role_label="le secrétariat")
    return account.identifier, account.address


def scoped_accounts(establishments: list[str]) -> Any:
    """The accounts of these établissements (the secretariat's scope)."""
    return Account.objects.filter(establishment__in=establishments)
