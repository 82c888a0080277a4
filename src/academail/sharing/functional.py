"""Functional mailboxes: an établissement's address (``ce.<uai>@<domain>`` by
default, ``settings.FUNCTIONAL_ADDRESS_PATTERN``) read by its members with
their own passwords.

Who manages them (``access_functional``): an administrator, any of them; the
secretariat, those of its établissement(s); a member holding "a" (manage
members), that one. Anyone else is told it does not exist (a 404).

Creation goes through ``accounts.services.check_create_functional_account``
(an account of kind "functional", no password) and gives each member a
whole-mailbox grant (``store.acl``). Importing a CSV file does the same per
line: ``uai;nom;adresse;membres;gestionnaires`` (address optional, members and
managers as identifiers separated by spaces or commas).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from academail.accounts.importer import decode, sniff_delimiter
from academail.accounts.models import UAI_PATTERN, Account, Role, Status
from academail.accounts.services import (
    AccountError,
    active_account_id,
    check_create_functional_account,
)
from academail.sharing import journal
from academail.sharing.models import FunctionalMailbox
from academail.store import acl, seen

PAGE_SIZE = 50
MAX_IMPORT_LINES = 5000
UAI = re.compile(f"^{UAI_PATTERN}$", re.IGNORECASE)  # the one UAI rule, accounts.models
# A member's rights by default: everything but managing members (issue 19 §1).
MEMBER = ("read", "mark", "file", "delete", "send_as")
MANAGER = (*MEMBER, "manage")


class SharingError(Exception):
    """Something the person can fix; ``message`` is French and says what to do."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(LookupError):
    """No such functional mailbox in the requester's reach: a 404."""


def clean_uai(uai: str) -> str:
    cleaned = "".join(uai.split()).lower()
    if not UAI.match(cleaned):
        raise SharingError(
            f"Le code UAI « {uai.strip()[:20]} » n'est pas valide : 7 chiffres puis une lettre (ex. 0341234X).",
            "uai",
        )
    return cleaned


def functional_address(uai: str) -> str:
    """The default address of an établissement's functional mailbox."""
    return settings.FUNCTIONAL_ADDRESS_PATTERN.format(uai=clean_uai(uai), domain=settings.MAIL_DOMAINS[0])


def _establishments(actor: Account) -> list[str]:
    return [" ".join(part.split()) for part in actor.establishment.split(";") if part.strip()]


def may_create(actor: Any) -> bool:
    """Administrators and the secretariat (of some établissement) create them."""
    if not isinstance(actor, Account) or actor.status != Status.ACTIVE:
        return False
    return actor.role == Role.ADMIN or (actor.role == Role.SECRETARIAT and bool(_establishments(actor)))


def _managed(actor: Account) -> Any:
    """The functional mailboxes ``actor`` manages, as a queryset."""
    rows = FunctionalMailbox.objects.select_related("account")
    if actor.status != Status.ACTIVE:
        return rows.none()
    if actor.role == Role.ADMIN:
        return rows
    owners = acl.owners_granting(actor.pk, acl.MANAGE)
    if actor.role == Role.SECRETARIAT and _establishments(actor):
        from django.db.models import Q

        return rows.filter(Q(account__establishment__in=_establishments(actor)) | Q(account_id__in=owners))
    return rows.filter(account_id__in=owners)


@dataclass(frozen=True)
class ManagedPage:
    mailboxes: list[FunctionalMailbox]
    has_next: bool
    page: int


def list_managed(actor: Account, *, page: int = 1) -> ManagedPage:
    """A page of the functional mailboxes ``actor`` manages, by name."""
    page = max(1, page)
    found = list(_managed(actor).order_by("name", "account_id")[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    return ManagedPage(found[:PAGE_SIZE], len(found) > PAGE_SIZE, page)


def access_functional(actor: Any, account_id: int) -> FunctionalMailbox:
    """The functional mailbox if ``actor`` manages it, else NotFound."""
    if not isinstance(actor, Account):
        raise NotFound(account_id)
    found = _managed(actor).filter(account_id=account_id).first()
    if found is None:
        raise NotFound(account_id)
    return found


def _scope_establishment(actor: Account, establishment: str) -> str:
    establishment = " ".join(establishment.split())
    if actor.role == Role.ADMIN:
        return establishment
    allowed = _establishments(actor)
    if not establishment:
        return allowed[0]
    if establishment not in allowed:
        raise SharingError(
            f"L'établissement « {establishment[:100]} » n'est pas le vôtre : "
            "demandez à un administrateur de créer cette boîte.", "establishment",
        )
    return establishment


def _member_ids(identifiers: Iterable[str]) -> list[int]:
    ids: list[int] = []
    for identifier in identifiers:
        found = active_account_id(identifier)
        if found is None:
            raise SharingError(
                f"« {identifier[:64]} » n'est l'identifiant d'aucun compte actif : vérifiez l'orthographe.", "members",
            )
        ids.append(found)
    return ids


def split_identifiers(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text.strip()) if part]


def check_create_functional(
    actor: Account,
    *,
    uai: str,
    name: str,
    address: str = "",
    establishment: str = "",
    members: Sequence[str] = (),
    managers: Sequence[str] = (),
) -> FunctionalMailbox:
    """Create a functional mailbox with its members (identifiers): all or
    nothing. Raises SharingError (French, with the field to fix)."""
    if not may_create(actor):
        raise SharingError("Seuls l'administrateur et le secrétariat créent les boîtes fonctionnelles.")
    uai = clean_uai(uai)
    # The secretariat's own établissement by default; an administrator's
    # mailbox belongs to the établissement it is named after.
    establishment = _scope_establishment(actor, establishment)
    if not establishment:
        establishment = " ".join(name.split())
    address = address.strip().lower() or functional_address(uai)
    member_ids = _member_ids(members)
    manager_ids = _member_ids(managers)
    try:
        with transaction.atomic():
            account = check_create_functional_account(name=name, address=address, establishment=establishment)
            box = FunctionalMailbox.objects.create(account=account, uai=uai, name=account.last_name, created_by=actor)
            for grantee, presets in [*((m, MEMBER) for m in member_ids), *((m, MANAGER) for m in manager_ids)]:
                acl.do_grant(account.pk, grantee, acl.preset_rights(presets), kind="member", by=actor.pk)
    except AccountError as exc:
        raise SharingError(exc.message, exc.field or "address") from None
    for grantee in dict.fromkeys([*member_ids, *manager_ids]):
        journal.record_change(account.pk, grantee, actor.pk, "membre ajouté")
    return box


def members_of(box: FunctionalMailbox) -> list[acl.GrantRow]:
    return [row for row in acl.grants_on(box.account_id) if row.mailbox_id is None]


def check_set_member(actor: Account, box: FunctionalMailbox, identifier: str, presets: Sequence[str]) -> str:
    """Add a member or change their rights (empty ``presets``: removal).
    Returns the rights kept. Raises SharingError."""
    unknown = [p for p in presets if p not in acl.PRESETS]
    if unknown:
        raise SharingError("Droit inconnu : rechargez la page et recommencez.")
    (grantee,) = _member_ids([identifier])
    if grantee == box.account_id:
        raise SharingError("Une boîte fonctionnelle ne peut pas être membre d'elle-même.", "members")
    was = {row.grantee_id: row.rights for row in members_of(box)}.get(grantee)
    rights = acl.do_grant(box.account_id, grantee, acl.preset_rights(presets), kind="member", by=actor.pk)
    if was is None and rights:
        journal.record_change(box.account_id, grantee, actor.pk, "membre ajouté")
    elif was is not None and not rights:
        journal.record_change(box.account_id, grantee, actor.pk, "membre retiré")
    elif was != rights:
        journal.record_change(box.account_id, grantee, actor.pk, f"droits modifiés ({rights})")
    return rights


def do_set_seen_mode(actor: Account, box: FunctionalMailbox, per_person: bool) -> None:
    """"Lu / non lu" shared by the team (the default) or each member's own
    (``store.seen``). Precondition: ``box`` came from ``access_functional``
    (the actor manages it)."""
    if seen.do_set_mode(box.account_id, per_person):
        journal.record_seen_mode(box.account_id, actor.pk, per_person)


def seen_per_person(box: FunctionalMailbox) -> bool:
    return seen.is_per_person(box.account_id)


def do_remove_member(actor: Account, box: FunctionalMailbox, grantee_id: int) -> None:
    """Remove a member: their access ends at their next command."""
    if acl.do_revoke(box.account_id, grantee_id):
        journal.record_change(box.account_id, grantee_id, actor.pk, "membre retiré")


# --- CSV import -----------------------------------------------------------------------

_COLUMNS = {
    "uai": "uai", "rne": "uai", "codeuai": "uai", "nom": "name", "name": "name", "adresse": "address",
    "address": "address", "membres": "members", "members": "members", "gestionnaires": "managers",
    "managers": "managers", "etablissement": "establishment", "établissement": "establishment",
}


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)
    file_error: str = ""


def import_functional(actor: Account, data: bytes, *, dry_run: bool = False) -> ImportReport:
    """Create one functional mailbox per line; a bad line is reported with
    its number and reason and the others go on. ``dry_run`` checks only."""
    report = ImportReport()
    if not may_create(actor):
        report.file_error = "Seuls l'administrateur et le secrétariat importent des boîtes fonctionnelles."
        return report
    text, _ = decode(data)
    rows = list(csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text)))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        report.file_error = "Le fichier est vide : ajoutez une ligne d'en-tête (uai;nom;adresse;membres) et des lignes."
        return report
    header = [_COLUMNS.get(cell.strip().lower().replace(" ", ""), "") for cell in rows[0]]
    if "uai" not in header or "name" not in header:
        report.file_error = "L'en-tête doit contenir au moins les colonnes « uai » et « nom »."
        return report
    if len(rows) - 1 > MAX_IMPORT_LINES:
        report.file_error = f"Le fichier dépasse {MAX_IMPORT_LINES} lignes : découpez-le."
        return report
    for number, row in enumerate(rows[1:], start=2):
        cells = {name: row[i].strip() for i, name in enumerate(header) if name and i < len(row)}
        try:
            with transaction.atomic():
                box = check_create_functional(
                    actor, uai=cells.get("uai", ""), name=cells.get("name", ""), address=cells.get("address", ""),
                    establishment=cells.get("establishment", ""),
                    members=split_identifiers(cells.get("members", "")),
                    managers=split_identifiers(cells.get("managers", "")),
                )
                report.created.append(box.account.address)
                if dry_run:
                    transaction.set_rollback(True)
        except SharingError as exc:
            report.rejected.append((number, exc.message))
    return report
