"""Who may do what with whose mail: the one access rule (RFC 4314 rights)
that the store's ``access_*`` functions, IMAP and the webmail all go through.

The owner of a mailbox holds every right. Anyone else holds the union of
their active grants (``Grant``) on that folder and on the whole mailbox of
its owner. A grant is active while its period runs and while both its
grantee and the owner are active accounts: a departure (the secretariat
disables the account) ends access at the next command, with no cache to
empty. Someone holding no right on a folder is told it does not exist
(RFC 4314 §6: no information leak); someone who sees it but lacks the right
for an action gets ``NoPermission`` (IMAP ``NO [NOPERM]``, RFC 5530).

Others' folders are named in the shared namespace (RFC 2342 §5):
``Partagés/<owner's address>/<folder>``. Functional mailboxes, shared
folders and delegations all appear there.

Rights are RFC 4314 §2.1 letters, plus implementation-defined digits
(§2.1 reserves "0"-"9" for that): "0" send as the owner's address, "1" send
on the owner's behalf, "2" see the owner's agenda, "3" change it and answer
its invitations on the owner's behalf (RFC 5545 §3.2.18 SENT-BY). The agenda
digits only mean something on a whole-mailbox grant (a delegation).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from academail.store.errors import MailboxNotFound, NoPermission, StoreError
from academail.store.models import Grant, Mailbox, PersonalSeen

# RFC 4314 §2.1, in the order LISTRIGHTS and MYRIGHTS show them.
IMAP_RIGHTS = "lrswipkxtea"
SEND_AS = "0"
SEND_ON_BEHALF = "1"
AGENDA_READ = "2"
AGENDA_WRITE = "3"
ALL_RIGHTS = IMAP_RIGHTS + SEND_AS + SEND_ON_BEHALF + AGENDA_READ + AGENDA_WRITE
OWNER_RIGHTS = IMAP_RIGHTS
# RFC 4314 §2.1.1: the obsolete RFC 2086 letters stand for these.
OBSOLETE = {"c": "k", "d": "xte"}

# What a member may be given in the webmail, in the words (RFC 4314
# letters each stands for). Filing moves messages, and a move is an expunge
# at the source (RFC 6851 §3.3), so "classer" needs "t" and "e" as well.
READ = "lr"
MARK = "sw"
FILE = "ikte"
DELETE = "tex"
MANAGE = "a"
PRESETS: dict[str, str] = {
    "read": READ, "mark": MARK, "file": FILE, "delete": DELETE, "send_as": SEND_AS, "manage": MANAGE,
}

SHARED_PREFIX = "Partagés"
SEPARATOR = "/"
_ACTIVE_STATUS = "active"  # accounts.models.Status.ACTIVE (the store cannot import accounts)


class InvalidRights(StoreError):
    pass


def normalize(rights: str) -> str:
    """``rights`` in canonical order, each once; InvalidRights for an unknown
    letter (RFC 4314 §3.1: SETACL with an unknown right is BAD)."""
    letters: set[str] = set()
    for ch in rights:
        if ch in ALL_RIGHTS:
            letters.add(ch)
        elif ch in OBSOLETE:
            letters.update(OBSOLETE[ch])
        else:
            raise InvalidRights(f"Droit inconnu : « {ch} ».")
    return "".join(ch for ch in ALL_RIGHTS if ch in letters)


def preset_rights(names: Iterable[str]) -> str:
    """The rights of the webmail's check boxes ("read", "mark"...); reading
    comes with any of them (nobody files what they cannot see)."""
    chosen = set(names)
    letters = READ if chosen else ""
    for name in chosen:
        letters += PRESETS[name]
    return normalize(letters)


def presets_of(rights: str) -> list[str]:
    """The check boxes a rights string fills (each box whose letters are all held)."""
    return [name for name, letters in PRESETS.items() if all(ch in rights for ch in letters)]


def _active(now: datetime | None = None) -> Q:
    now = now or timezone.now()
    return (
        Q(starts_at__lte=now)
        & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        & Q(grantee__status=_ACTIVE_STATUS, owner__status=_ACTIVE_STATUS)
    )


def rights_of(actor_id: int, box: Mailbox) -> str:
    """Every right ``actor_id`` holds on ``box`` now (one indexed query for
    someone else's folder, none for one's own)."""
    if box.account_id == actor_id:
        return OWNER_RIGHTS
    letters = (
        Grant.objects.filter(_active(), grantee_id=actor_id, owner_id=box.account_id)
        .filter(Q(mailbox__isnull=True) | Q(mailbox_id=box.pk))
        .values_list("rights", flat=True)
    )
    return normalize("".join(letters))


def check_rights(actor_id: int, box: Mailbox, need: str) -> str:
    """``actor_id``'s rights on ``box`` if they include every letter of
    ``need``; MailboxNotFound when the actor may not even see the folder
    (neither "l" nor "r", RFC 4314 §6), NoPermission otherwise."""
    held = rights_of(actor_id, box)
    if not ("l" in held or "r" in held):
        raise MailboxNotFound("Ce dossier n'existe pas ou plus.")
    missing = [ch for ch in need if ch not in held]
    if missing:
        raise NoPermission(
            "Vous n'avez pas le droit de faire cela dans ce dossier partagé : "
            "demandez-le à la personne qui gère ses membres."
        )
    return held


def access_mailbox(actor_id: int, mailbox_id: int, need: str) -> Mailbox:
    """The mailbox ``mailbox_id`` if ``actor_id`` holds ``need`` on it (see
    ``check_rights``); MailboxNotFound for an unknown id as for an unseen one."""
    box = Mailbox.objects.filter(pk=mailbox_id).first()
    if box is None:
        raise MailboxNotFound("Ce dossier n'existe pas ou plus.")
    check_rights(actor_id, box, need)
    return box


# --- the shared namespace (RFC 2342 §5) ---------------------------------------------


def shared_name(owner_address: str, name: str) -> str:
    return SEPARATOR.join((SHARED_PREFIX, owner_address, name))


def split_shared_name(name: str) -> tuple[str, str] | None:
    """(owner's address, folder name) of a shared-namespace name, else None."""
    name = unicodedata.normalize("NFC", name)
    prefix = SHARED_PREFIX + SEPARATOR
    if not name.casefold().startswith(prefix.casefold()):
        return None
    owner, _, rest = name[len(prefix):].partition(SEPARATOR)
    if not owner or not rest:
        return None
    if rest.upper() == "INBOX":
        rest = "INBOX"
    return owner.lower(), rest


def access_shared_by_name(actor_id: int, name: str, need: str) -> tuple[Mailbox, str]:
    """(mailbox, rights) for a shared-namespace name; MailboxNotFound when the
    name is not one or names nothing the actor may see."""
    parts = split_shared_name(name)
    if parts is None:
        raise MailboxNotFound(f"Le dossier « {name} » n'existe pas.")
    owner_address, folder = parts
    owner_id = (
        Grant.objects.filter(_active(), grantee_id=actor_id, owner__address=owner_address)
        .values_list("owner_id", flat=True).first()
    )
    box = Mailbox.objects.filter(account_id=owner_id, name=folder).first() if owner_id else None
    if box is None or owner_id == actor_id:
        raise MailboxNotFound(f"Le dossier « {name} » n'existe pas.")
    return box, check_rights(actor_id, box, need)


def shared_owner(actor_id: int, owner_address: str) -> int | None:
    """The owner named ``owner_address`` in the shared namespace when
    ``actor_id`` may see some of their mail now ("l" or "r" somewhere), else
    None (an unknown address and an unseen one look the same, RFC 4314 §6)."""
    rows = Grant.objects.filter(_active(), grantee_id=actor_id, owner__address=owner_address.lower()).values_list(
        "owner_id", "rights"
    )
    return next((owner for owner, rights in rows if "l" in rights or "r" in rights), None)


def _parent_rights(actor_id: int, owner_id: int, folder: str) -> tuple[Mailbox | None, str]:
    """The nearest existing parent of ``folder`` in ``owner_id``'s mail and the
    actor's rights there; at the top, the rights on the whole mailbox (its
    whole-mailbox grants: a folder share gives nothing above its folder)."""
    parts = folder.split(SEPARATOR)
    names = [SEPARATOR.join(parts[:depth]) for depth in range(1, len(parts))]
    parents = sorted(Mailbox.objects.filter(account_id=owner_id, name__in=names), key=lambda b: len(b.name))
    if parents:
        return parents[-1], rights_of(actor_id, parents[-1])
    if actor_id == owner_id:
        return None, OWNER_RIGHTS
    letters = Grant.objects.filter(_active(), grantee_id=actor_id, owner_id=owner_id, mailbox__isnull=True)
    return None, normalize("".join(letters.values_list("rights", flat=True)))


_NO_CREATE = "Vous n'avez pas le droit de créer un dossier ici : demandez-le à la personne qui gère ses membres."


def check_create_in(actor_id: int, owner_id: int, folder: str) -> Mailbox | None:
    """RFC 4314 §4 CREATE (and RENAME's new name): "k" on the nearest existing
    parent of ``folder``. Returns that parent (None at the top), whose folder
    grants the new folders inherit (§4: "SHOULD inherit the ACL from the
    parent"); NoPermission otherwise."""
    parent, held = _parent_rights(actor_id, owner_id, folder)
    if "k" not in held:
        raise NoPermission(_NO_CREATE)
    return parent


def check_remove(actor_id: int, box: Mailbox) -> list[int]:
    """RFC 4314 §4 DELETE (and RENAME's old name): "x" on the folder, and on
    each folder under it that goes with it, so nobody removes what they
    cannot see. Returns the ids of the folder and its sub-folders;
    MailboxNotFound when the folder is not visible, NoPermission otherwise."""
    check_rights(actor_id, box, "x")
    under = list(Mailbox.objects.filter(account_id=box.account_id, name__startswith=box.name + SEPARATOR))
    if box.account_id != actor_id and any("x" not in rights_of(actor_id, child) for child in under):
        raise NoPermission(
            "Ce dossier contient des sous-dossiers que vous ne pouvez pas supprimer : "
            "demandez-le à la personne qui gère ses membres."
        )
    return [box.pk, *(child.pk for child in under)]


def do_inherit(parent: Mailbox | None, owner_id: int, names: Iterable[str]) -> None:
    """Folders just created under ``parent`` get its folder grants (RFC 4314
    §4 CREATE); whole-mailbox grants cover them already."""
    if parent is None:
        return
    grants = list(Grant.objects.filter(mailbox_id=parent.pk))
    boxes = list(Mailbox.objects.filter(account_id=owner_id, name__in=list(names)))
    Grant.objects.bulk_create(
        [
            Grant(
                owner_id=g.owner_id, grantee_id=g.grantee_id, mailbox_id=box.pk, rights=g.rights, kind=g.kind,
                granted_by_id=g.granted_by_id, starts_at=g.starts_at, ends_at=g.ends_at,
            )
            for g in grants for box in boxes
        ],
        ignore_conflicts=True,
    )


@dataclass(frozen=True)
class SharedBox:
    mailbox: Mailbox
    owner_address: str
    owner_name: str
    rights: str
    kind: str

    @property
    def name(self) -> str:
        """The folder's name in the shared namespace."""
        return shared_name(self.owner_address, self.mailbox.name)


def visible_shared(actor_id: int, *, owner_id: int | None = None, inboxes: bool = False) -> list[SharedBox]:
    """Every folder of someone else that ``actor_id`` may see ("l" or "r"),
    by owner then folder name: two queries, whatever the number of grants.
    ``owner_id``: that owner's only; ``inboxes``: of a whole mailbox only its
    INBOX (the webmail's switcher), folder shares as they are."""
    grants_of = Grant.objects.filter(_active(), grantee_id=actor_id)
    if owner_id is not None:
        grants_of = grants_of.filter(owner_id=owner_id)
    grants = list(
        grants_of.values_list(
            "owner_id", "owner__address", "owner__first_name", "owner__last_name", "mailbox_id", "rights", "kind",
        )
    )
    whole: dict[int, str] = {}
    folder: dict[int, str] = {}
    owners: dict[int, tuple[str, str, str]] = {}
    for owner_id, address, first, last, mailbox_id, rights, kind in grants:
        owners[owner_id] = (address, f"{first} {last}".strip(), kind)
        if mailbox_id is None:
            whole[owner_id] = whole.get(owner_id, "") + rights
        else:
            folder[mailbox_id] = folder.get(mailbox_id, "") + rights
    if not grants:
        return []
    whole_q = Q(account_id__in=list(whole), special_use="inbox") if inboxes else Q(account_id__in=list(whole))
    boxes = Mailbox.objects.filter(whole_q | Q(pk__in=list(folder)))
    out: list[SharedBox] = []
    for box in boxes:
        rights = normalize(whole.get(box.account_id, "") + folder.get(box.pk, ""))
        if "l" not in rights and "r" not in rights:
            continue
        address, full_name, kind = owners[box.account_id]
        out.append(SharedBox(box, address, full_name, rights, kind))
    out.sort(key=lambda s: (s.owner_address, s.mailbox.name != "INBOX", s.mailbox.name.casefold()))
    return out


# --- grants --------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantRow:
    grantee_id: int
    identifier: str
    address: str
    full_name: str
    rights: str
    kind: str
    mailbox_id: int | None
    ends_at: datetime | None


_ROW_COLUMNS = (
    "grantee_id", "grantee__identifier", "grantee__address", "grantee__first_name", "grantee__last_name",
    "rights", "kind", "mailbox_id", "ends_at",
)


def _rows(grants: Any) -> list[GrantRow]:
    return [
        GrantRow(gid, ident, addr, f"{first} {last}".strip(), rights, kind, mbox, ends)
        for gid, ident, addr, first, last, rights, kind, mbox, ends in grants.values_list(*_ROW_COLUMNS)
    ]


def _current() -> Q:
    return Q(ends_at__isnull=True) | Q(ends_at__gt=timezone.now())


def grants_on(owner_id: int, mailbox_id: int | None = None) -> list[GrantRow]:
    """The grants of ``owner_id``'s mail (GETACL, the members page): on the
    whole mailbox, and on ``mailbox_id`` when given; current or future, the
    ended ones left out. One query."""
    where = Q(mailbox__isnull=True) | Q(mailbox_id=mailbox_id) if mailbox_id is not None else Q(mailbox__isnull=True)
    grants = Grant.objects.filter(_current(), where, owner_id=owner_id)
    return _rows(grants.order_by("grantee__last_name", "grantee__first_name", "grantee_id"))


def shares_of(owner_id: int) -> list[GrantRow]:
    """Folder shares and delegations ``owner_id`` gave (the person's sharing page)."""
    grants = Grant.objects.filter(_current(), owner_id=owner_id).exclude(kind=Grant.Kind.MEMBER)
    return _rows(grants.order_by("mailbox_id", "grantee__last_name", "grantee_id"))


def do_grant(
    owner_id: int,
    grantee_id: int,
    rights: str,
    *,
    mailbox_id: int | None = None,
    kind: str = "member",
    by: int | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> str:
    """Set ``grantee_id``'s rights on ``owner_id``'s mail (the whole of it, or
    the folder ``mailbox_id``), replacing what they had there; empty rights
    remove the grant (RFC 4314 §3.1 SETACL). Returns the rights kept.

    Precondition: the caller checked that ``by`` may administer ("a").
    Publishes nothing: rights are read afresh at every command."""
    rights = normalize(rights)
    if grantee_id == owner_id:
        raise InvalidRights("Le propriétaire a déjà tous les droits sur sa boîte.")
    if mailbox_id is not None and not Mailbox.objects.filter(pk=mailbox_id, account_id=owner_id).exists():
        raise MailboxNotFound("Ce dossier n'existe pas ou plus.")
    with transaction.atomic():
        existing = Grant.objects.select_for_update().filter(
            owner_id=owner_id, grantee_id=grantee_id, mailbox_id=mailbox_id
        ).first()
        if not rights:
            if existing is not None:
                existing.delete()
            return ""
        if existing is None:
            Grant.objects.create(
                owner_id=owner_id, grantee_id=grantee_id, mailbox_id=mailbox_id, rights=rights, kind=kind,
                granted_by_id=by, starts_at=starts_at or timezone.now(), ends_at=ends_at,
            )
        else:
            existing.rights, existing.kind, existing.granted_by_id = rights, kind, by
            existing.starts_at, existing.ends_at = starts_at or existing.starts_at, ends_at
            existing.save(update_fields=["rights", "kind", "granted_by", "starts_at", "ends_at"])
    return rights


def do_revoke(owner_id: int, grantee_id: int, *, mailbox_id: int | None = None) -> bool:
    """Remove one grant (RFC 4314 §3.2 DELETEACL); True if there was one."""
    deleted, _ = Grant.objects.filter(owner_id=owner_id, grantee_id=grantee_id, mailbox_id=mailbox_id).delete()
    return bool(deleted)


def do_end_grants_of(grantee_id: int) -> int:
    """A departure: every grant the account holds on others' mail ends now
    (its own grants to others stay, for the successor to review), and its
    per-person \\Seen on others' mail goes too (``store.seen``: rows exist
    only for others' messages)."""
    deleted, _ = Grant.objects.filter(grantee_id=grantee_id).delete()
    PersonalSeen.objects.filter(account_id=grantee_id).delete()
    return deleted


def sending_rights(actor_id: int) -> dict[str, str]:
    """Owner's address -> "0" and/or "1": the addresses ``actor_id`` may
    send as or on behalf of now (whole-mailbox grants only). One query."""
    out: dict[str, str] = {}
    rows = Grant.objects.filter(_active(), grantee_id=actor_id, mailbox__isnull=True).values_list(
        "owner__address", "rights"
    )
    for address, rights in rows:
        letters = "".join(ch for ch in (SEND_AS, SEND_ON_BEHALF) if ch in rights)
        if letters:
            out[address] = normalize(out.get(address, "") + letters)
    return out


__all__ = [
    "AGENDA_READ", "AGENDA_WRITE", "ALL_RIGHTS", "DELETE", "FILE", "IMAP_RIGHTS", "MANAGE", "MARK", "OWNER_RIGHTS", "PRESETS", "READ",
    "SEND_AS", "SEND_ON_BEHALF", "SHARED_PREFIX", "GrantRow", "InvalidRights", "SharedBox", "access_mailbox",
    "access_shared_by_name", "agenda_owners", "agenda_rights", "check_create_in", "check_remove", "check_rights",
    "do_end_grants_of", "do_grant", "do_inherit", "do_revoke", "grants_on",
    "normalize", "preset_rights", "presets_of", "rights_of", "sending_rights", "shared_name", "shares_of",
    "shared_owner", "split_shared_name", "visible_shared",
]


def agenda_rights(actor_identifier: str, owner_identifier: str) -> tuple[int, str] | None:
    """(owner's id, agenda digits) the account ``actor_identifier`` holds now
    on the agenda of the account ``owner_identifier`` (whole-mailbox grants
    only; identifiers, as CalDAV paths and Radicale name accounts), or None
    when none. Read afresh at every call, so a delegation that ends or is
    withdrawn gives nothing from that instant. One indexed query."""
    rows = Grant.objects.filter(
        _active(), grantee__identifier=actor_identifier, mailbox__isnull=True, owner__identifier=owner_identifier,
    ).values_list("owner_id", "rights")
    found: tuple[int, str] | None = None
    for owner_id, rights in rows:
        letters = (found[1] if found else "") + "".join(ch for ch in (AGENDA_READ, AGENDA_WRITE) if ch in rights)
        found = (owner_id, letters)
    if found is None or not found[1]:
        return None
    return found[0], normalize(found[1])


def agenda_owners(actor_id: int) -> list[tuple[int, str]]:
    """(owner's id, agenda digits) of every agenda ``actor_id`` may see now,
    by owner. One query."""
    rows = Grant.objects.filter(_active(), grantee_id=actor_id, mailbox__isnull=True).values_list("owner_id", "rights")
    found: dict[int, str] = {}
    for owner_id, rights in rows:
        letters = "".join(ch for ch in (AGENDA_READ, AGENDA_WRITE) if ch in rights)
        if letters:
            found[owner_id] = normalize(found.get(owner_id, "") + letters)
    return sorted(found.items())


def owners_granting(actor_id: int, right: str) -> list[int]:
    """The owners on whose whole mailbox ``actor_id`` holds ``right`` now
    (the functional mailboxes a member manages, with "a"). One query."""
    rows = Grant.objects.filter(_active(), grantee_id=actor_id, mailbox__isnull=True).values_list("owner_id", "rights")
    return sorted({owner for owner, rights in rows if right in rights})


def folder_label(mailbox_id: int) -> str:
    """A folder's name for a journal line ("" if it went away)."""
    return Mailbox.objects.filter(pk=mailbox_id).values_list("name", flat=True).first() or ""


def expired_grants(now: datetime, *, limit: int = 500) -> list[tuple[int, int, int | None, str]]:
    """(owner, grantee, mailbox, kind) of grants whose period ended (they
    already give nothing; ``do_remove_expired`` deletes them). Uses the
    (ends_at) index."""
    return list(
        Grant.objects.filter(ends_at__lte=now).order_by("ends_at")
        .values_list("owner_id", "grantee_id", "mailbox_id", "kind")[:limit]
    )


def do_remove_expired(now: datetime, rows: list[tuple[int, int, int | None, str]]) -> None:
    for owner, grantee, mailbox, _kind in rows:
        Grant.objects.filter(owner_id=owner, grantee_id=grantee, mailbox_id=mailbox, ends_at__lte=now).delete()
