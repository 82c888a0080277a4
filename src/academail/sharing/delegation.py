"""A person's own sharing (issue 19 §2): one of their folders shared with
named colleagues, read-only or read-write, and their whole mailbox delegated
to a colleague for a period, with or without "send on behalf" (From: the
person, Sender: the delegate), and with or without the agenda: seen, or
seen and changed with invitations answered on the person's behalf
(``calendar.delegated``). Grants are ``store.acl``'s; the grant, its end
(by hand or when the period is over) and its use go to both journals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from academail.accounts.models import Account
from academail.accounts.services import active_account_id
from academail.sharing import journal
from academail.sharing.functional import SharingError
from academail.store import acl
from academail.store.errors import MailboxNotFound

# Read-only: see and read. Read-write: also mark, flag, file into and out of
# it, delete (RFC 4314 letters; no folder creation or deletion).
LEVELS = {"read": "lr", "write": "lrswite"}
# A delegate reads, marks, files and deletes in every folder; "1" sends on
# the person's behalf.
DELEGATE = "lrswikte"
MAX_DELEGATION_DAYS = 366
# The agenda with a delegation: not at all, seen, or seen and changed
# (invitations answered on the person's behalf).
AGENDA = {"none": "", "read": acl.AGENDA_READ, "write": acl.AGENDA_READ + acl.AGENDA_WRITE}


@dataclass(frozen=True)
class Share:
    row: acl.GrantRow
    folder: str  # "" for a delegation (the whole mailbox)
    level: str  # "read" | "write" | "delegation"

    @property
    def last_day(self) -> date | None:
        """The last day of access (a delegation ends at midnight after it)."""
        if self.row.ends_at is None:
            return None
        return timezone.localdate(self.row.ends_at) - timedelta(days=1)


def _grantee(owner: Account, identifier: str) -> int:
    grantee = active_account_id(identifier)
    if grantee is None:
        raise SharingError(f"« {identifier[:64]} » n'est l'identifiant d'aucun compte actif : vérifiez l'orthographe.",
                           "identifier")
    if grantee == owner.pk:
        raise SharingError("Vous avez déjà accès à votre propre boîte.", "identifier")
    return grantee


def shares_of(owner: Account, folders: dict[int, str]) -> list[Share]:
    """What ``owner`` shares now (``folders``: their folder names by id)."""
    out: list[Share] = []
    for row in acl.shares_of(owner.pk):
        if row.mailbox_id is None:
            out.append(Share(row, "", "delegation"))
        else:
            level = "write" if "w" in row.rights else "read"
            out.append(Share(row, folders.get(row.mailbox_id, ""), level))
    return out


def check_share_folder(owner: Account, mailbox_id: int, identifier: str, level: str) -> str:
    """Share one of ``owner``'s folders with a colleague (replacing an earlier
    share of it with them). Raises SharingError."""
    if level not in LEVELS:
        raise SharingError("Choisissez lecture seule ou lecture et écriture.", "level")
    grantee = _grantee(owner, identifier)
    try:
        acl.do_grant(owner.pk, grantee, LEVELS[level], mailbox_id=mailbox_id, kind="share", by=owner.pk)
    except MailboxNotFound:
        raise SharingError("Ce dossier n'existe plus : rechargez la page.", "mailbox") from None
    text = "dossier « " + acl.folder_label(mailbox_id) + "» partagé " + (
        "en lecture et écriture" if level == "write" else "en lecture seule")
    journal.record_change(owner.pk, grantee, owner.pk, text)
    return LEVELS[level]


def do_unshare(owner: Account, grantee_id: int, mailbox_id: int | None) -> None:
    """End a share (or, with ``mailbox_id`` None, a delegation) now."""
    label = acl.folder_label(mailbox_id) if mailbox_id is not None else ""
    if acl.do_revoke(owner.pk, grantee_id, mailbox_id=mailbox_id):
        text = f"partage du dossier « {label} » retiré" if mailbox_id is not None else "délégation terminée"
        journal.record_change(owner.pk, grantee_id, owner.pk, text)


def check_delegate(owner: Account, identifier: str, until: date | None, *, on_behalf: bool,
                   agenda: str = "none", today: date | None = None) -> datetime:
    """Give a colleague access to the whole mailbox until the end of
    ``until`` (included), sending on the owner's behalf if asked, and the
    agenda as ``agenda`` says ("none", "read", "write"). Returns when it
    ends. Raises SharingError."""
    today = today or timezone.localdate()
    if agenda not in AGENDA:
        raise SharingError("Choisissez ce que votre collègue peut faire de votre agenda.", "agenda")
    if until is None:
        raise SharingError("Indiquez jusqu'à quand la délégation dure.", "until")
    if until < today:
        raise SharingError("La date de fin est passée : choisissez une date à venir.", "until")
    if until > today + timedelta(days=MAX_DELEGATION_DAYS):
        raise SharingError("Une délégation dure un an au plus : choisissez une date plus proche.", "until")
    grantee = _grantee(owner, identifier)
    ends = timezone.make_aware(datetime.combine(until + timedelta(days=1), time()))
    rights = DELEGATE + (acl.SEND_ON_BEHALF if on_behalf else "") + AGENDA[agenda]
    with transaction.atomic():
        acl.do_grant(owner.pk, grantee, rights, kind="delegation", by=owner.pk, ends_at=ends)
    how = " avec envoi de sa part" if on_behalf else ""
    how += {"none": "", "read": ", agenda en lecture", "write": ", agenda en lecture et écriture"}[agenda]
    journal.record_change(owner.pk, grantee, owner.pk, f"délégation de la boîte jusqu'au {until:%d/%m/%Y}{how}")
    return ends


def do_close_expired(now: datetime) -> int:
    """The hourly round: delegations and shares whose period is over are
    removed, and both journals say so (they already gave no access)."""
    rows = acl.expired_grants(now)
    acl.do_remove_expired(now, rows)
    for owner, grantee, _mailbox, kind in rows:
        text = "délégation arrivée à son terme" if kind == "delegation" else "partage arrivé à son terme"
        journal.record_change(owner, grantee, None, text)
    return len(rows)
