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
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from academail.store import mailboxes as store_mailboxes
from academail.store.errors import MailboxNotFound, MessageNotFound, QuotaExceeded
from academail.store.messages import (
    MAX_UID,
    Placement,
    access_message,
    do_expunge,
    do_set_flags,
    do_store,
    prepare_content,
)
from academail.store.models import Flag
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


def _fill_from_form(draft: compose.Draft, request: HttpRequest) -> None:
    draft.to = compose.parse_addresses(request.POST.get("to", ""))
    draft.cc = compose.parse_addresses(request.POST.get("cc", ""))
    draft.bcc = compose.parse_addresses(request.POST.get("bcc", ""))
    draft.subject = request.POST.get("subject", "")[:998]
    draft.body = request.POST.get("body", "")
    apply_rich_text(draft, request.POST)


def apply_rich_text(draft: compose.Draft, form: QueryDict) -> None:
    """With "Texte enrichi" on, the body is the editor's HTML, cleaned, and the
    text/plain alternative is derived from it (the textarea is ignored)."""
    if form.get("format") != "html":
        return
    cleaned = richtext.clean_html(form.get("body_html", ""))
    if cleaned:
        draft.html = cleaned
        draft.body = richtext.html_to_text(cleaned)


def draft_from_form(request: HttpRequest) -> compose.Draft:
    """The compose form as a Draft, with the identification fields of the
    original (reply) read again from the store, never from the form."""
    from academail.delivery.submit import account_identity
    from academail.mime.parse import parse_message
    from academail.store import webmail as store
    from academail.webmail.views import _source_message

    draft = compose.Draft()
    mode = request.POST.get("mode", "")
    reference = _source_message(request, request.POST.get("source"))
    if reference is not None and mode in ("reply", "all"):
        opened = store.open_message(int(request.user.pk), *reference)
        draft = compose.start_reply(
            parse_message(opened.raw), "", mode=mode, own_addresses=account_identity(request.user).addresses
        )
    _fill_from_form(draft, request)
    return draft


def parse_uid(value: str | None) -> int | None:
    if not value or not value.isdigit() or len(value) > 12:
        return None
    return int(value)


@require_POST
def autosave(request: HttpRequest) -> HttpResponse:
    """POST the compose form (CSRF checked by the middleware); JSON answer
    ``{"draft": uid}``. The message is built exactly as "Enregistrer le
    brouillon" builds it, attachments aside (they are kept when the form is
    sent or saved by the button)."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Votre session a expiré : reconnectez-vous, puis copiez votre texte.")}, status=401)
    account = request.user
    try:
        draft = draft_from_form(request)
    except (MailboxNotFound, MessageNotFound):
        draft = compose.Draft()  # the original went away: the text is saved all the same
        _fill_from_form(draft, request)
    raw = compose.build_message(draft, sender_name=account.full_name, sender_address=account.address)
    try:
        uid = do_save_draft(int(account.pk), raw, replaces=parse_uid(request.POST.get("draft")))
    except QuotaExceeded as error:
        return JsonResponse({"error": error.message}, status=507)
    response = JsonResponse({"draft": uid})
    response["Cache-Control"] = "no-store"
    return response
