"""Who a list reaches, resolved when a post goes out (never stored for
directory lists, so they follow the directory), and the rule that a list never
contains itself.

- A directory list is one indexed query on the active accounts
  (``accounts_directory_idx`` on (function, status, uai), or
  ``accounts_directory_all_idx`` on (status, uai) for every function):
  ``uai = X`` for an établissement, the range ``[034, 035)`` of UAI codes for
  département 034.
- A hand-managed list is its Member rows (disabled ones left out); a member
  that is another list of ours is expanded in turn, each list once
  (``expand``: a list never expands into itself, even through another).
- Saving a member that is a list which reaches, directly or not, the list
  being edited is refused (``check_no_loop``), so the cycle never exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from academail.accounts.models import Account, Status
from academail.lists.models import Kind, MailingList, Member


class LoopError(ValueError):
    """A list would contain itself (French message)."""


def _next_departement(code: str) -> str:
    # "034" -> "035": the upper bound of the département's UAI range.
    return f"{int(code) + 1:03d}" if code.isdigit() else code + "\uffff"


def directory_accounts(mailing_list: MailingList) -> QuerySet[Account]:
    """The active accounts a directory list selects (one indexed query)."""
    rows = Account.objects.filter(status=Status.ACTIVE)
    if mailing_list.dir_uai:
        rows = rows.filter(uai=mailing_list.dir_uai)
    elif mailing_list.dir_departement:
        code = mailing_list.dir_departement
        rows = rows.filter(uai__gte=code, uai__lt=_next_departement(code))
    else:
        return Account.objects.none()  # refused when saved; never "everyone"
    if mailing_list.dir_function:
        rows = rows.filter(function=mailing_list.dir_function)
    return rows


@dataclass
class Expansion:
    """Who a post reaches: académie addresses (with their account when the
    directory gave it) and outside addresses, each once."""

    local: dict[str, int | None] = field(default_factory=dict)  # address -> account id (None: resolve)
    remote: list[str] = field(default_factory=list)
    lists: list[int] = field(default_factory=list)  # the lists expanded, the first included


def expand(mailing_list: MailingList, *, is_local: Callable[[str], bool]) -> Expansion:
    """Resolve the members of ``mailing_list`` and of the lists it contains,
    each list once. ``is_local(address)``: whether an address is the
    académie's. Queries: one per list reached (two for a hand-managed one)."""
    result = Expansion()
    seen_remote: set[str] = set()
    pending = [mailing_list]
    visited: set[int] = set()
    while pending:
        current = pending.pop()
        if current.pk in visited:
            continue  # RFC 2919 §1: a list never expands into itself
        visited.add(current.pk)
        result.lists.append(current.pk)
        if current.kind == Kind.DIRECTORY:
            for account_id, address in directory_accounts(current).values_list("pk", "address"):
                result.local.setdefault(address, account_id)
            continue
        rows = list(Member.objects.filter(mailing_list=current, disabled_at__isnull=True).values_list("address", "account_id"))
        nested = MailingList.objects.filter(address__in=[a for a, _ in rows]).exclude(pk__in=visited)
        nested_addresses = set()
        for child in nested:
            nested_addresses.add(child.address)
            pending.append(child)
        for address, account_id in rows:
            if address in nested_addresses:
                continue
            if account_id is not None or is_local(address):
                result.local.setdefault(address, account_id)
            elif address not in seen_remote:
                seen_remote.add(address)
                result.remote.append(address)
    return result


def reaches(start: MailingList) -> set[int]:
    """The ids of the lists ``start`` contains, directly or not (itself included)."""
    seen = {start.pk}
    frontier = [start.address]
    while frontier:
        children = list(
            MailingList.objects.filter(
                address__in=Member.objects.filter(mailing_list__address__in=frontier).values("address")
            ).exclude(pk__in=seen).values_list("pk", "address")
        )
        seen.update(pk for pk, _ in children)
        frontier = [address for _, address in children]
    return seen


def check_no_loop(mailing_list: MailingList, address: str) -> None:
    """Raise LoopError when adding ``address`` to ``mailing_list`` would make
    it contain itself: ``address`` is the list itself, or a list that
    reaches it. Queries: one per level of nesting."""
    address = address.strip().lower()
    if address == mailing_list.address:
        raise LoopError(f"Une liste ne peut pas se contenir elle-même ({address}).")
    child = MailingList.objects.filter(address=address).first()
    if child is not None and mailing_list.pk in reaches(child):
        raise LoopError(
            f"La liste {address} contient déjà {mailing_list.address} (directement ou par une autre liste) : "
            "l'y ajouter ferait une boucle."
        )


def is_member(mailing_list: MailingList, addresses: Iterable[str]) -> bool:
    """Whether one of ``addresses`` (a sender's) is a member of the list or
    of a list it contains. One query per list reached."""
    wanted = {a.strip().lower() for a in addresses if a}
    if not wanted:
        return False
    for list_id in reaches(mailing_list):
        current = mailing_list if list_id == mailing_list.pk else MailingList.objects.get(pk=list_id)
        if current.kind == Kind.DIRECTORY:
            if directory_accounts(current).filter(
                Q(address__in=wanted) | Q(aliases__address__in=wanted)
            ).exists():
                return True
        elif Member.objects.filter(mailing_list=current, address__in=wanted, disabled_at__isnull=True).exists():
            return True
    return False
