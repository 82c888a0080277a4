"""Store functions for exports (``archive.export``): the messages of a
folder in UID order, in keyset batches, with what an export keeps (bytes,
flags, keywords, INTERNALDATE). Reads only; one short query per batch on the
``(mailbox, uid)`` index, so an export of 100,000 messages never holds a
long transaction or a whole mailbox in memory.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from academail.store.blobs import blob_store
from academail.store.mailboxes import DISPLAY_NAMES, access_mailbox, do_file_into, special_mailbox
from academail.store.models import Flag, Mailbox, Message


@dataclass(frozen=True)
class ExportRow:
    uid: int
    size: int
    internaldate: datetime
    flags: int
    keywords: str
    prefix: bytes
    sha256: str
    from_addr: str

    def read(self) -> bytes:
        """The bytes a client sees: the delivery prefix, then the blob."""
        return self.prefix + blob_store().get(self.sha256)

    @property
    def flag_names(self) -> list[str]:
        """IMAP system flag names (RFC 3501 §2.3.2), then the keywords."""
        names = [name for bit, name in Flag.NAMES.items() if self.flags & bit]
        return names + self.keywords.split()


def folder_label(mailbox: Mailbox) -> str:
    """The folder's name as a person reads it ("Boîte de réception" for INBOX)."""
    return DISPLAY_NAMES.get(mailbox.special_use or "", mailbox.name)


def export_batch(
    account_id: int,
    mailbox_id: int,
    *,
    after_uid: int,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
    uids: Sequence[int] | None = None,
) -> list[ExportRow]:
    """The next ``limit`` messages of the account's folder above ``after_uid``
    (UID order), within [since, until) by INTERNALDATE, or among ``uids``.
    Raises MailboxNotFound for another account's folder."""
    access_mailbox(account_id, mailbox_id)
    rows = Message.objects.filter(mailbox_id=mailbox_id, uid__gt=after_uid)
    if since is not None:
        rows = rows.filter(internaldate__gte=since)
    if until is not None:
        rows = rows.filter(internaldate__lt=until)
    if uids is not None:
        rows = rows.filter(uid__in=sorted(u for u in set(uids) if u > after_uid)[:limit])
    found = rows.order_by("uid").values_list(
        "uid", "size", "internaldate", "flags", "keywords", "prefix", "content__sha256", "content__from_addr"
    )[:limit]
    return [
        ExportRow(uid, size, date, flags, keywords, bytes(prefix), sha, addr)
        for uid, size, date, flags, keywords, prefix, sha, addr in found
    ]


def count_messages(account_id: int, mailbox_id: int, *, since: datetime | None = None, until: datetime | None = None) -> int:
    """How many messages an export of this folder covers (the folder counter
    when no date bounds)."""
    box = access_mailbox(account_id, mailbox_id)
    if since is None and until is None:
        return int(box.messages)
    rows = Message.objects.filter(mailbox_id=mailbox_id)
    if since is not None:
        rows = rows.filter(internaldate__gte=since)
    if until is not None:
        rows = rows.filter(internaldate__lt=until)
    return rows.count()




def do_folder_for_label(account_id: int, label: str, *, fallback_id: int) -> int:
    """The account's folder an export called ``label`` (``folder_label``:
    "Boîte de réception" is the INBOX), found or created, or ``fallback_id``
    when the name cannot be used (import's "recréer les dossiers").
    Precondition: inside a transaction (a failed creation rolls back alone)."""
    if label == DISPLAY_NAMES["inbox"] or label.upper() == "INBOX":
        return special_mailbox(account_id, "inbox").pk
    return do_file_into(account_id, label, fallback_id=fallback_id)


def held_messages(account_id: int, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (Message-ID, SHA-256) pairs a folder of the account already
    holds, these exact bytes with this Message-ID (import's duplicate test,
    for a whole batch in one query: the unique ``Content.sha256`` index, then
    the messages of those contents)."""
    if not keys:
        return set()
    found = Message.objects.filter(
        mailbox__account_id=account_id, content__sha256__in=sorted({sha for _mid, sha in keys})
    ).values_list("content__message_id", "content__sha256")
    wanted = {(mid[:998], sha) for mid, sha in keys}
    held = {(mid, sha) for mid, sha in found if (mid, sha) in wanted}
    return {(mid, sha) for mid, sha in keys if (mid[:998], sha) in held}


def held_in_mailbox(mailbox_id: int, sha256s: Sequence[str]) -> set[str]:
    """Which of these contents (SHA-256 of the bytes) the folder already holds
    (migration's duplicate test after the source's UIDVALIDITY changed: the
    ``Content.sha256`` unique index, then that content's messages)."""
    if not sha256s:
        return set()
    return set(
        Message.objects.filter(mailbox_id=mailbox_id, content__sha256__in=list(sha256s))
        .values_list("content__sha256", flat=True)
    )


__all__ = ["ExportRow", "count_messages", "export_batch", "folder_label", "held_in_mailbox", "held_messages"]
