"""Per-person \\Seen (issue 19): an owner's setting (``SeenMode``) and each
person's "lu" on that owner's messages (``PersonalSeen``).

With the setting, every account but the owner reads and writes its own
\\Seen on the owner's folders, as with Dovecot's private indexes (INDEXPVT):
``viewer`` says whose \\Seen a reader sees (None: the message's flag), and the
store's readers (IMAP FETCH, SEARCH, STATUS, the webmail's list and counts)
put that person's \\Seen in place of the flag's bit with ``flags_sql`` or
``flags_expression``. Writes go through ``store.messages.do_set_flags``, which
calls ``do_mark`` here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Value, When
from django.db.models.expressions import Combinable
from django.utils import timezone

from academail.store.models import Flag, Mailbox, Message, PersonalSeen, SeenMode

_NOT_SEEN = ~Flag.SEEN


def is_per_person(owner_id: int) -> bool:
    return SeenMode.objects.filter(owner_id=owner_id).exists()


def per_person_owners(owner_ids: Iterable[int]) -> set[int]:
    """The owners among ``owner_ids`` with per-person \\Seen (one query)."""
    ids = list(set(owner_ids))
    return set(SeenMode.objects.filter(owner_id__in=ids).values_list("owner_id", flat=True)) if ids else set()


def viewer(actor_id: int, owner_id: int) -> int | None:
    """Whose \\Seen ``actor_id`` sees on ``owner_id``'s mail: ``actor_id``
    itself when the owner keeps \\Seen per person, else None (the message's
    own flag, shared by the team and the owner)."""
    if actor_id == owner_id:
        return None
    return actor_id if is_per_person(owner_id) else None


def do_set_mode(owner_id: int, per_person: bool) -> bool:
    """Choose the owner's mode; True if it changed. Switching keeps both
    kinds of \\Seen as they are: going back and forth loses nobody's "lu".

    Precondition: the caller checked that the person may manage the owner's
    members ("a"). Publishes "mailbox" for every folder of the owner, so
    open sessions refresh their counts."""
    from academail.store.events import MailEvent, publish_on_commit

    with transaction.atomic():
        if per_person:
            _, changed = SeenMode.objects.get_or_create(owner_id=owner_id, defaults={"changed_at": timezone.now()})
        else:
            changed = SeenMode.objects.filter(owner_id=owner_id).delete()[0] > 0
        if changed:
            boxes = Mailbox.objects.filter(account_id=owner_id).values_list("pk", flat=True)
            publish_on_commit([MailEvent(owner_id, pk, "mailbox") for pk in boxes])
    return bool(changed)


def seen_uids(mailbox_id: int, account_id: int, lo: int, hi: int) -> set[int]:
    """The UIDs in [lo, hi] that ``account_id`` has seen (one index range)."""
    return set(
        PersonalSeen.objects.filter(mailbox_id=mailbox_id, account_id=account_id, uid__gte=lo, uid__lte=hi)
        .values_list("uid", flat=True)
    )


def do_mark(mailbox_id: int, account_id: int, seen: Sequence[int], unseen: Sequence[int]) -> None:
    """Set (``seen``) and clear (``unseen``) ``account_id``'s \\Seen on these
    UIDs. Precondition: inside the flag change's transaction, UIDs existing."""
    if seen:
        PersonalSeen.objects.bulk_create(
            [PersonalSeen(mailbox_id=mailbox_id, account_id=account_id, uid=uid) for uid in seen],
            batch_size=500, ignore_conflicts=True,
        )
    for start in range(0, len(unseen), 500):
        PersonalSeen.objects.filter(
            mailbox_id=mailbox_id, account_id=account_id, uid__in=unseen[start : start + 500]
        ).delete()


def do_copy_marks(source_id: int, target_id: int, uid_map: Sequence[tuple[int, int]]) -> None:
    """Everyone's \\Seen follows a copied or moved message (source UID ->
    target UID). Precondition: inside the copy's transaction."""
    if not uid_map:
        return
    new_uid = dict(uid_map)
    rows: list[PersonalSeen] = []
    olds = list(new_uid)
    for start in range(0, len(olds), 500):
        for account_id, uid in PersonalSeen.objects.filter(
            mailbox_id=source_id, uid__in=olds[start : start + 500]
        ).values_list("account_id", "uid"):
            rows.append(PersonalSeen(mailbox_id=target_id, account_id=account_id, uid=new_uid[uid]))
    PersonalSeen.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)


def do_forget(mailbox_id: int, uids: Sequence[int]) -> None:
    """Expunged UIDs: nobody's \\Seen on them stays (it would skew the
    counts). Precondition: inside the expunge's transaction."""
    for start in range(0, len(uids), 500):
        PersonalSeen.objects.filter(mailbox_id=mailbox_id, uid__in=uids[start : start + 500]).delete()


def unseen_counts(account_id: int, boxes: Sequence[Mailbox]) -> dict[int, int]:
    """Mailbox id -> ``account_id``'s unseen count, for those of ``boxes``
    whose owner keeps \\Seen per person (others: use ``Mailbox.unseen``).
    Two queries whatever the number of folders."""
    owners = per_person_owners(b.account_id for b in boxes if b.account_id != account_id)
    mine = [b for b in boxes if b.account_id in owners]
    if not mine:
        return {}
    seen = dict(
        PersonalSeen.objects.filter(account_id=account_id, mailbox_id__in=[b.pk for b in mine])
        .order_by().values("mailbox_id").annotate(n=Count("uid")).values_list("mailbox_id", "n")
    )
    return {b.pk: max(b.messages - seen.get(b.pk, 0), 0) for b in mine}


def flags_sql(seen_for: int | None, alias: str = "m") -> tuple[str, list[int]]:
    """The SQL of a message's flags as ``seen_for`` sees them, over the
    message table aliased ``alias`` (raw queries: FETCH, SEARCH)."""
    if seen_for is None:
        return f"{alias}.flags", []
    return (
        f"(({alias}.flags & {_NOT_SEEN}) | CASE WHEN EXISTS (SELECT 1 FROM store_personalseen ps"  # noqa: S608 (fixed names and an int)
        f" WHERE ps.mailbox_id = {alias}.mailbox_id AND ps.account_id = %s AND ps.uid = {alias}.uid)"
        " THEN 1 ELSE 0 END)",
        [seen_for],
    )


def flags_expression(seen_for: int | None) -> Combinable:
    """The ORM expression of ``flags_sql`` (annotate a Message queryset)."""
    if seen_for is None:
        return F("flags")
    mine = PersonalSeen.objects.filter(mailbox_id=OuterRef("mailbox_id"), account_id=seen_for, uid=OuterRef("uid"))
    return F("flags").bitand(_NOT_SEEN).bitor(Case(When(Exists(mine), then=Value(Flag.SEEN)), default=Value(0)))


def show_messages(account_id: int, mailbox: Mailbox, messages: Sequence[Message]) -> None:
    """Put ``account_id``'s own \\Seen in the \\Seen bit of ``messages`` (of
    ``mailbox``, loaded for a page: not to be saved) when the owner keeps
    \\Seen per person. One query for the page, none otherwise."""
    seen_for = viewer(account_id, mailbox.account_id) if messages else None
    if seen_for is None:
        return
    uids = [m.uid for m in messages]
    mine = seen_uids(mailbox.pk, seen_for, min(uids), max(uids))
    for message in messages:
        message.flags = (message.flags & _NOT_SEEN) | (Flag.SEEN if message.uid in mine else 0)


def show_counts(account_id: int, boxes: Sequence[Mailbox]) -> None:
    """Put ``account_id``'s own unseen count in ``boxes``' ``unseen`` (loaded
    for a page: not to be saved) where the owner keeps \\Seen per person."""
    counts = unseen_counts(account_id, boxes)
    for box in boxes:
        if box.pk in counts:
            box.unseen = counts[box.pk]
