"""Drafts saved while writing: every ~30 seconds and when the page is left, the
compose page posts its form here and the message goes into Brouillons (flagged
\\Draft and \\Seen), where IMAP clients see it too.

A compose session remembers the UID of its last saved draft (a hidden field);
each save stores the new draft and expunges that one in the same transaction,
so Brouillons holds one copy per compose session, never a pile, and a crash
between the two leaves the old draft rather than none. Sending expunges the
session's draft. The UID is only ever looked up in the signed-in account's own
Brouillons (``store`` functions take the account id), so a UID of somebody
else's message designates nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext as _

from academail.store import mailboxes as store_mailboxes
from academail.store.errors import MessageNotFound, QuotaExceeded
from academail.store.messages import (
    MAX_UID,
    Placement,
    access_message,
    do_expunge,
    do_set_flags,
    do_store,
    prepare_content,
)
from academail.store.webmail import Flag
from academail.webmail import compose, richtext


def _expunge_draft(account_id: int, drafts_id: int, uid: int) -> None:
    """Remove one message of Brouillons if it is a draft (a message the person
    filed there by hand and that has no \\Draft flag stays)."""
    if not 0 < uid <= MAX_UID:
        return
    try:
        draft = access_message(account_id, drafts_id, uid)
    except MessageNotFound:
        return  # already gone (sent from another tab, deleted by an IMAP client)
    if not draft.flags & Flag.DRAFT:
        return
    do_set_flags(account_id, drafts_id, [(uid, uid)], mode="add", flags=Flag.DELETED)
    do_expunge(account_id, drafts_id, [(uid, uid)])


def do_save_draft(account_id: int, raw: bytes, *, replaces: int | None = None) -> int:
    """Store ``raw`` in the account's Brouillons and expunge the draft it
    replaces (a UID in Brouillons) in the same transaction. Returns the new UID.
    Raises QuotaExceeded (nothing changes then).

    Precondition: none (writes the blob first, then one transaction).
    Publishes "exists" and, when a draft is replaced, "flags" and "expunge"."""
    drafts = store_mailboxes.special_mailbox(account_id, "drafts")
    prepared = prepare_content(raw)
    with transaction.atomic():
        store_mailboxes.access_mailbox(account_id, drafts.pk)
        (stored,) = do_store(prepared, [Placement(account_id, drafts.pk, Flag.DRAFT | Flag.SEEN)])
        if isinstance(stored, QuotaExceeded):
            raise QuotaExceeded(_("Votre boîte est pleine : le brouillon n'a pas été enregistré. "
                                  "Videz la Corbeille ou supprimez des messages volumineux."))
        if replaces is not None and replaces != stored.uid:
            _expunge_draft(account_id, drafts.pk, replaces)
    return int(stored.uid)


def do_discard_draft(account_id: int, uid: int | None) -> None:
    """Expunge the compose session's draft (after sending). Precondition: none.
    Publishes "flags" and "expunge" if there was one."""
    if uid is None:
        return
    drafts = store_mailboxes.special_mailbox(account_id, "drafts")
    with transaction.atomic():
        _expunge_draft(account_id, drafts.pk, uid)


def apply_rich_text(draft: compose.Draft, form: QueryDict) -> None:
    """With "Texte enrichi" on, the body is the editor's HTML, cleaned, and the
    text/plain alternative is derived from it (the textarea is ignored)."""
    if form.get("format") != "html":
        return
    cleaned = richtext.clean_html(form.get("body_html", ""))
    if cleaned:
        draft.html = cleaned
        draft.body = richtext.html_to_text(cleaned)
