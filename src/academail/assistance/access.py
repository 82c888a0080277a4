"""Who may use the consoles, and on whom. Every console view starts here.

- The agents' console: role "agent d'assistance" (or administrator), active.
  The helpdesk is académie-wide: an agent may open any ticket and act on any
  account a ticket is about.
- The secretariat's console: role "secrétariat", limited to its
  établissement(s) — the secretary's own ``establishment``, several separated
  by ";". An account outside that scope is *not found* (a 404, never a 403:
  nobody learns it exists).
"""

from __future__ import annotations

from typing import Any

from academail.accounts.models import Account, Role, Status


class Denied(PermissionError):
    """Not an agent / not a secretary: the view answers 404."""


class OutOfScope(LookupError):
    """No such account in the requester's scope: the view answers 404."""


def _active(user: Any) -> Account:
    if not isinstance(user, Account) or user.status != Status.ACTIVE:
        raise Denied()
    return user


def access_agent(user: Any) -> Account:
    account = _active(user)
    if account.role not in (Role.SUPPORT, Role.ADMIN):
        raise Denied()
    return account


def establishments_of(secretary: Account) -> list[str]:
    return [" ".join(part.split()) for part in secretary.establishment.split(";") if part.strip()]


def access_secretary(user: Any) -> Account:
    account = _active(user)
    if account.role != Role.SECRETARIAT or not establishments_of(account):
        raise Denied()
    return account


def access_scoped_account(secretary: Account, account_id: int) -> Account:
    """An account of the secretary's établissement(s), else ``OutOfScope``."""
    found = Account.objects.filter(pk=account_id, establishment__in=establishments_of(secretary)).first()
    if found is None:
        raise OutOfScope(account_id)
    return found


def access_migration_operator(user: Any) -> tuple[Account, list[int] | None]:
    """Who may start migrations from the previous platform for others: an
    administrator (any account: ``None``) or a secretary (the ids of the
    accounts of their établissement(s)); anyone else is ``Denied``."""
    account = _active(user)
    if account.role == Role.ADMIN:
        return account, None
    if account.role == Role.SECRETARIAT and establishments_of(account):
        ids = Account.objects.filter(establishment__in=establishments_of(account)).values_list("pk", flat=True)
        return account, list(ids)
    raise Denied()
