"""Mailboxes: provisioning the special folders of a new account, create, rename,
delete, subscribe, list and the ``access_*`` lookups that check ownership.

Names are full paths with "/" as the hierarchy separator (the IMAP layer converts
to and from modified UTF-7). Special folders carry their RFC 6154 use and French
names; INBOX is named "INBOX" on the wire and shown as "Boîte de réception".
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from academail.store import acl
from academail.store.errors import (
    InvalidMailboxName,
    MailboxExists,
    MailboxNotFound,
    ProtectedMailbox,
    StoreError,
)
from academail.store.events import MailEvent, publish_on_commit
from academail.store.models import Content, Expunged, Mailbox, Message, Subscription, Usage

SEPARATOR = "/"
MAX_NAME_LENGTH = 512

# (special use, stored name). INBOX keeps its protocol name (RFC 3501 §5.1).
DEFAULT_MAILBOXES: list[tuple[str, str]] = [
    ("inbox", "INBOX"),
    ("sent", "Envoyés"),
    ("drafts", "Brouillons"),
    ("trash", "Corbeille"),
    ("junk", "Indésirables"),
    ("archive", "Archives"),
]

DISPLAY_NAMES = {"inbox": "Boîte de réception"}


def _next_uidvalidity(account_id: int, count: int = 1) -> int:
    """The first of ``count`` fresh UIDVALIDITY values for the account: seconds
    since the epoch, strictly above any value the account ever had, deleted
    mailboxes included (``Usage.uidvalidity_high``), so a mailbox deleted and
    re-created in the same second never gets its old UIDVALIDITY (RFC 3501 §2.3.1.1).

    Precondition: inside a transaction (the account's Usage row is locked)."""
    usage, _ = Usage.objects.select_for_update().get_or_create(account_id=account_id)
    latest = Mailbox.objects.filter(account_id=account_id).aggregate(m=Max("uidvalidity"))["m"] or 0
    first = _first_uidvalidity(latest, usage.uidvalidity_high)
    Usage.objects.filter(account_id=account_id).update(uidvalidity_high=first + count - 1)
    return first


def _first_uidvalidity(latest: int, high: int) -> int:
    # The rule of ``_next_uidvalidity``, given the account's highest values.
    return max(int(time.time()), latest + 1, high + 1)


def _default_mailboxes(account_id: int, first_uidvalidity: int, skip: set[str]) -> list[Mailbox]:
    return [
        Mailbox(account_id=account_id, name=name, special_use=use, uidvalidity=first_uidvalidity + i)
        for i, (use, name) in enumerate(DEFAULT_MAILBOXES)
        if use not in skip
    ]


def do_provision_account(account: Any) -> None:
    """Create the special folders and the quota row of a new account.

    Precondition: inside the transaction that creates the account. Idempotent."""
    Usage.objects.get_or_create(account=account)
    existing = set(
        Mailbox.objects.filter(account=account, special_use__isnull=False).values_list(
            "special_use", flat=True
        )
    )
    base = _next_uidvalidity(account.pk, len(DEFAULT_MAILBOXES))
    created = Mailbox.objects.bulk_create(_default_mailboxes(account.pk, base, existing))
    _add_subscriptions(account.pk, [box.name for box in created])


def do_provision_new_accounts(account_ids: Sequence[int]) -> None:
    """``do_provision_account`` for accounts created in this very transaction
    (so none has a folder, a subscription or a quota row yet), in three
    inserts whatever their number: the import creates accounts by the
    hundred (``accounts.services.do_create_accounts``). Each gets the same
    folders and fresh UIDVALIDITY values (``_next_uidvalidity``'s rule with
    nothing handed out before).

    Precondition: inside the transaction that inserted the accounts; not
    idempotent (a second call breaks the unique constraints: IntegrityError)."""
    if not account_ids:
        return
    first = _first_uidvalidity(0, 0)
    Usage.objects.bulk_create(
        [Usage(account_id=pk, uidvalidity_high=first + len(DEFAULT_MAILBOXES) - 1) for pk in account_ids]
    )
    boxes = [box for pk in account_ids for box in _default_mailboxes(pk, first, set())]
    Mailbox.objects.bulk_create(boxes)
    # CREATE subscribes (docs/design.md), as ``_add_subscriptions``.
    Subscription.objects.bulk_create([Subscription(account_id=box.account_id, name=box.name) for box in boxes])


def _add_subscriptions(account_id: int, names: list[str]) -> None:
    # CREATE subscribes (docs/design.md): desktop clients show subscribed folders only.
    Subscription.objects.bulk_create(
        [Subscription(account_id=account_id, name=name) for name in names], ignore_conflicts=True
    )


def check_mailbox_name(name: str) -> str:
    """Validate a full mailbox path; return it NFC-normalised."""
    name = unicodedata.normalize("NFC", name.strip())
    if not name:
        raise InvalidMailboxName("Le nom du dossier est vide : saisissez un nom.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidMailboxName("Le nom du dossier est trop long (512 caractères au plus).")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in name):
        raise InvalidMailboxName("Le nom du dossier contient un caractère invisible ou de contrôle.")
    if any(ch in name for ch in "%*"):
        raise InvalidMailboxName("Les caractères « % » et « * » ne sont pas permis dans un nom de dossier.")
    parts = name.split(SEPARATOR)
    if any(part.strip() == "" for part in parts):
        raise InvalidMailboxName("Le nom du dossier ne peut pas commencer, finir par « / » ni contenir « // ».")
    if any(part in {".", ".."} for part in parts):
        raise InvalidMailboxName("« . » et « .. » ne sont pas des noms de dossier permis.")
    if parts[0].upper() == "INBOX":
        parts[0] = "INBOX"
    if parts[0].casefold() == acl.SHARED_PREFIX.casefold():
        # RFC 2342 §5: that top level is the shared namespace, not a folder of one's own.
        raise InvalidMailboxName(f"« {acl.SHARED_PREFIX} » est réservé aux dossiers que l'on partage avec vous.")
    return SEPARATOR.join(parts)


def access_mailbox(account_id: int, mailbox_id: int, need: str = "") -> Mailbox:
    """The mailbox, if it belongs to ``account_id``; else MailboxNotFound.
    With ``need`` (RFC 4314 letters), someone else's mailbox too when
    ``account_id`` holds those rights on it (``store.acl``, the one rule)."""
    if need:
        return acl.access_mailbox(account_id, mailbox_id, need)
    try:
        return Mailbox.objects.get(pk=mailbox_id, account_id=account_id)
    except Mailbox.DoesNotExist:
        raise MailboxNotFound("Ce dossier n'existe pas ou plus.") from None


def canonical_name(name: str) -> str:
    """A mailbox name as stored: NFC (macOS clients send "Envoyés" decomposed),
    and INBOX in capitals whatever the case asked (RFC 3501 §5.1)."""
    name = unicodedata.normalize("NFC", name)
    return "INBOX" if name.upper() == "INBOX" else name


def access_mailbox_by_name(account_id: int, name: str, need: str = "") -> Mailbox:
    """The account's mailbox ``name``; with ``need``, also a name of the
    shared namespace whose folder ``account_id`` holds those rights on."""
    if need and acl.split_shared_name(name) is not None:
        return acl.access_shared_by_name(account_id, name, need)[0]
    name = canonical_name(name)
    try:
        return Mailbox.objects.get(account_id=account_id, name=name)
    except Mailbox.DoesNotExist:
        raise MailboxNotFound(f"Le dossier « {name} » n'existe pas.") from None


def special_mailbox(account_id: int, use: str) -> Mailbox:
    try:
        return Mailbox.objects.get(account_id=account_id, special_use=use)
    except Mailbox.DoesNotExist:
        raise MailboxNotFound(f"Le dossier spécial {use} manque à ce compte.") from None


def list_mailboxes(account_id: int) -> list[Mailbox]:
    """All mailboxes of an account, INBOX first then by name; one query."""
    boxes = list(Mailbox.objects.filter(account_id=account_id))
    boxes.sort(key=lambda m: (m.name != "INBOX", m.name.casefold()))
    return boxes


def do_create_mailbox(account_id: int, name: str, *, special_use: str | None = None) -> Mailbox:
    """Create ``name`` and any missing parents (RFC 3501 §6.3.3).

    Precondition: none (opens its own transaction). Publishes "mailbox"."""
    name = check_mailbox_name(name)
    with transaction.atomic():
        if Mailbox.objects.filter(account_id=account_id, name=name).exists():
            raise MailboxExists(f"Un dossier « {name} » existe déjà.")
        parent: Mailbox | None = None
        parts = name.split(SEPARATOR)
        for depth in range(1, len(parts) + 1):
            path = SEPARATOR.join(parts[:depth])
            box = Mailbox.objects.filter(account_id=account_id, name=path).first()
            if box is None:
                box = Mailbox.objects.create(
                    account_id=account_id,
                    name=path,
                    parent=parent,
                    uidvalidity=_next_uidvalidity(account_id),
                    special_use=special_use if depth == len(parts) else None,
                )
                _add_subscriptions(account_id, [path])
            parent = box
        assert parent is not None
        publish_on_commit([MailEvent(account_id, parent.pk, "mailbox")])
        return parent


def do_file_into(account_id: int, name: str, *, fallback_id: int) -> int:
    """The id of the account's folder ``name`` for a filter's ``fileinto``
    (RFC 5228 §4.1), created when missing; ``fallback_id`` (the INBOX) when
    it cannot be (an unusable name never loses the message).
    Precondition: inside the delivery (or filter job) transaction; a failed
    creation is rolled back in its own savepoint."""
    try:
        return access_mailbox_by_name(account_id, name).pk
    except StoreError:
        pass
    try:
        with transaction.atomic():
            return do_create_mailbox(account_id, name).pk
    except StoreError:
        return fallback_id


def do_rename_mailbox(account_id: int, mailbox_id: int, new_name: str) -> Mailbox:
    """Rename a mailbox and its children; UIDs and UIDVALIDITY stay (the rows
    are the same). Renaming INBOX or a special folder is refused. Their
    subscriptions follow them: a folder renamed in the webmail stays visible in
    a desktop client that shows subscribed folders only.

    Precondition: none (own transaction). Publishes "mailbox"."""
    new_name = check_mailbox_name(new_name)
    with transaction.atomic():
        box = access_mailbox(account_id, mailbox_id)
        if box.special_use:
            raise ProtectedMailbox("Les dossiers spéciaux ne peuvent pas être renommés.")
        if Mailbox.objects.filter(account_id=account_id, name=new_name).exists():
            raise MailboxExists(f"Un dossier « {new_name} » existe déjà.")
        if new_name.startswith(box.name + SEPARATOR):
            raise InvalidMailboxName("Un dossier ne peut pas être déplacé dans l'un de ses sous-dossiers.")
        old_prefix = box.name + SEPARATOR
        children = list(Mailbox.objects.filter(account_id=account_id, name__startswith=old_prefix))
        parent_name, _, _ = new_name.rpartition(SEPARATOR)
        parent = None
        if parent_name:
            parent = Mailbox.objects.filter(account_id=account_id, name=parent_name).first()
            if parent is None:
                parent = do_create_mailbox(account_id, parent_name)
        box.name = new_name
        box.parent = parent
        box.save(update_fields=["name", "parent"])
        for child in children:
            child.name = new_name + SEPARATOR + child.name[len(old_prefix):]
        Mailbox.objects.bulk_update(children, ["name"])
        old_name = old_prefix[: -len(SEPARATOR)]
        moved = Subscription.objects.filter(Q(name=old_name) | Q(name__startswith=old_prefix), account_id=account_id)
        names = [new_name + name[len(old_name):] for name in moved.values_list("name", flat=True)]
        moved.delete()
        _add_subscriptions(account_id, names)
        publish_on_commit([MailEvent(account_id, box.pk, "mailbox")])
        return box


def do_delete_mailbox(account_id: int, mailbox_id: int) -> None:
    """Delete a mailbox, its children and their messages (quota released). Their
    subscriptions stay (RFC 3501 §6.3.4, §6.3.6).

    Precondition: none (own transaction). Publishes "mailbox"."""
    with transaction.atomic():
        box = access_mailbox(account_id, mailbox_id)
        if box.special_use:
            raise ProtectedMailbox("Les dossiers spéciaux ne peuvent pas être supprimés.")
        boxes = Mailbox.objects.filter(
            Q(pk=box.pk) | Q(account_id=account_id, name__startswith=box.name + SEPARATOR)
        )
        ids = list(boxes.values_list("pk", flat=True))
        release_messages(account_id, Message.objects.filter(mailbox_id__in=ids))
        Expunged.objects.filter(mailbox_id__in=ids).delete()
        Mailbox.objects.filter(pk__in=ids).delete()
        publish_on_commit([MailEvent(account_id, box.pk, "mailbox")])


def subscribed_names(account_id: int) -> set[str]:
    """The account's subscription list, mailboxes deleted since included."""
    return set(Subscription.objects.filter(account_id=account_id).values_list("name", flat=True))


def do_subscribe(account_id: int, name: str) -> None:
    """SUBSCRIBE an existing mailbox (RFC 3501 §6.3.6 lets the server check that
    it exists: a typo then gets NO instead of a phantom entry); MailboxNotFound
    otherwise. Publishes "mailbox" (IMAP NOTIFY's SubscriptionChange)."""
    box = access_mailbox_by_name(account_id, name)
    _add_subscriptions(account_id, [box.name])
    publish_on_commit([MailEvent(account_id, box.pk, "mailbox")])


def do_unsubscribe(account_id: int, name: str) -> None:
    """UNSUBSCRIBE ``name``, whether or not the mailbox still exists: a name left
    by a deleted mailbox must be removable (RFC 3501 §6.3.7). Idempotent.
    Publishes "mailbox" with mailbox id 0 when something was removed."""
    if Subscription.objects.filter(account_id=account_id, name=canonical_name(name)).delete()[0]:
        publish_on_commit([MailEvent(account_id, 0, "mailbox")])


def release_messages(account_id: int, messages: QuerySet[Message]) -> None:
    """Delete ``messages`` rows: content refcounts and quota usage go down, in SQL
    (no per-message loop, whatever the number of rows).

    Precondition: inside a transaction; callers adjust mailbox counters."""
    totals = messages.aggregate(n=Count("id"), size=Sum("size"))
    if not totals["n"]:
        return
    per_content = (
        messages.filter(content_id=OuterRef("pk"))
        .order_by()
        .values("content_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    touched = Content.objects.filter(pk__in=messages.values("content_id"))
    touched.update(refcount=F("refcount") - Subquery(per_content))
    touched.filter(refcount__lte=0).update(released_at=timezone.now())
    messages.delete()
    Usage.objects.filter(account_id=account_id).update(
        bytes=F("bytes") - (totals["size"] or 0), messages=F("messages") - totals["n"]
    )
