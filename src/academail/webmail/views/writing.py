"""Writing: the compose page (new message, reply, reply to all, forward with
the original's files or as an attached message) with "Envoyer" and
"Enregistrer le brouillon", and the drafts' autosave endpoint.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from academail.delivery.submit import SenderRefused, SendRefused, account_identity, do_send
from academail.help.links import Articles, message_tag
from academail.mime.parse import decode_part_body, parse_message
from academail.store import mailboxes as store_mailboxes
from academail.store import webmail as store
from academail.store.errors import MailboxNotFound, MessageNotFound, QuotaExceeded, StoreError
from academail.webmail import compose, preferences
from academail.webmail import render as rendering
from academail.webmail.drafts import apply_rich_text, do_discard_draft, do_save_draft
from academail.webmail.views.base import render_page, signed_in_id, source_reference, webmail_view


def parse_uid(value: str | None) -> int | None:
    if not value or not value.isdigit() or len(value) > 12:
        return None
    return int(value)


def fill_from_form(draft: compose.Draft, request: HttpRequest) -> None:
    """The form's addresses, subject and body (plain or rich) into ``draft``."""
    draft.to = compose.parse_addresses(request.POST.get("to", ""))
    draft.cc = compose.parse_addresses(request.POST.get("cc", ""))
    draft.bcc = compose.parse_addresses(request.POST.get("bcc", ""))
    draft.subject = request.POST.get("subject", "")[:998]
    draft.body = request.POST.get("body", "")
    apply_rich_text(draft, request.POST)



def draft_from_form(request: HttpRequest) -> compose.Draft:
    """The compose form as a Draft, with the identification fields of the
    original (reply) read again from the store, never from the form."""
    draft = compose.Draft()
    mode = request.POST.get("mode", "")
    reference = source_reference(request.POST.get("source"))
    if reference is not None and mode in ("reply", "all"):
        opened = store.open_message(int(request.user.pk), *reference)
        draft = compose.start_reply(
            parse_message(opened.raw), "", mode=mode, own_addresses=account_identity(request.user).addresses
        )
    fill_from_form(draft, request)
    return draft


def attached_name(original: Any) -> str:
    return rendering.safe_filename(compose.attached_message_name(original.subject), "message/rfc822")


@webmail_view
@require_http_methods(["GET", "POST"])
def write(request: HttpRequest) -> HttpResponse:
    account = request.user
    account_id = signed_in_id(request)
    data = request.POST if request.method == "POST" else request.GET
    mode = data.get("mode", "")
    if mode not in ("reply", "all", "forward", "forward_attached"):
        mode = ""
    reference = source_reference(data.get("source"))
    draft = compose.Draft()
    original = None
    opened = None
    if reference is not None and mode:
        opened = store.open_message(account_id, *reference)
        original = parse_message(opened.raw)
        draft = compose.start_reply(
            original,
            rendering.plain_text(opened.raw, opened.root),
            mode="forward" if mode == "forward_attached" else mode,
            own_addresses=account_identity(account).addresses,
        )
        if mode == "forward_attached":
            draft.body = ""  # the original travels whole, as an attached message
    # A forward carries the original's files (each can be left out), or the whole original.
    original_files = rendering.attachments(opened.root) if opened is not None and mode == "forward" else []
    context: dict[str, Any] = {
        "mode": mode,
        "source": data.get("source", "") if reference else "",
        "max_size": settings.MAX_MESSAGE_SIZE,
        "title": _("Écrire un message"),
        "original_files": original_files,
        "kept": {a.section for a in original_files} if request.method == "GET" else set(request.POST.getlist("keep")),
        "attached_original": (
            (attached_name(original), opened.message.size)
            if opened is not None and mode == "forward_attached" else None
        ),
    }
    if request.method == "GET":
        # The signature: below a new message's body, above the quoted original.
        signature = preferences.signature_block(preferences.access_preferences(account_id).signature)
        if signature:
            draft.body = "\n\n" + signature + draft.body
        return render_page(request, "write.html", {**context, "draft": draft, "to": ", ".join(draft.to), "cc": ", ".join(draft.cc), "bcc": ""})
    # The identification fields come from the original, read again: never from the form.
    fill_from_form(draft, request)
    total = 0
    if opened is not None and mode == "forward":
        for kept in original_files:
            if kept.section not in context["kept"]:
                continue
            part = rendering.find_leaf(opened.root, kept.section)
            if part is None:
                continue
            data_bytes = decode_part_body(opened.raw, part)
            total += len(data_bytes)
            draft.attachments.append(compose.Upload(kept.filename, part.content_type, data_bytes))
    elif opened is not None and mode == "forward_attached":
        total += len(opened.raw)
        draft.attachments.append(
            compose.Upload(attached_name(original), "message/rfc822", opened.raw)
        )
    for upload in request.FILES.getlist("attachments"):
        total += upload.size or 0
        if total > settings.MAX_MESSAGE_SIZE:
            break
        draft.attachments.append(
            compose.Upload(
                rendering.safe_filename(upload.name or "", upload.content_type or ""),
                upload.content_type or "application/octet-stream",
                upload.read(),
            )
        )
    form = {**context, "draft": draft, "to": request.POST.get("to", ""), "cc": request.POST.get("cc", ""), "bcc": request.POST.get("bcc", "")}
    if total > settings.MAX_MESSAGE_SIZE:
        form["error"] = _("Les pièces jointes dépassent la taille permise (%(mb)s Mo au total).") % {
            "mb": settings.MAX_MESSAGE_SIZE // (1024 * 1024)
        }
        return render_page(request, "write.html", form)
    raw = compose.build_message(draft, sender_name=account.full_name, sender_address=account.address)
    if request.POST.get("intent") == "draft":
        drafts = store_mailboxes.special_mailbox(account_id, "drafts")
        try:
            # Replaces the draft this page saved automatically, if any.
            do_save_draft(account_id, raw, replaces=parse_uid(request.POST.get("draft")))
        except QuotaExceeded as error:
            form["error"] = error.message
            return render_page(request, "write.html", form)
        messages.success(request, _("Brouillon enregistré dans Brouillons."))
        return redirect("webmail:folder", mailbox_id=drafts.pk)
    if (
        not draft.attachments
        and compose.mentions_attachment(f"{draft.subject}\n{draft.body}")
        and request.POST.get("confirm") != "1"
    ):
        form["attachment_warning"] = True
        return render_page(request, "write.html", form)
    try:
        sent = do_send(account, raw, [*draft.to, *draft.cc, *draft.bcc], bcc=draft.bcc)
    except SenderRefused:
        form["error"] = _("Vous ne pouvez envoyer qu'avec votre propre adresse.")
        return render_page(request, "write.html", form)
    except SendRefused as refused:
        form["error"] = refused.message
        form["help_article"] = refused.help_article
        return render_page(request, "write.html", form)
    try:
        do_discard_draft(account_id, parse_uid(request.POST.get("draft")))
    except StoreError:
        pass  # the message is sent; a draft left behind is only clutter
    if reference is not None and mode in ("reply", "all"):
        try:
            store.do_message_action(account_id, reference[0], [reference[1]], "answered")
        except StoreError:
            pass  # the original went away meanwhile: the reply is sent all the same
    if sent.held:
        messages.warning(
            request,
            _("Message retenu : vous avez dépassé le volume d'envoi habituel. Un administrateur va le "
              "vérifier avant de le laisser partir ; inutile de le renvoyer."),
            extra_tags=message_tag(Articles.SENDING_LIMITS),
        )
    elif sent.sent_copy_uid is None:
        messages.warning(request, _("Message envoyé, mais Envoyés est plein : aucune copie n'y a été gardée."))
    else:
        messages.success(request, _("Message envoyé."))
    return redirect("webmail:index")


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
        fill_from_form(draft, request)
    raw = compose.build_message(draft, sender_name=account.full_name, sender_address=account.address)
    try:
        uid = do_save_draft(int(account.pk), raw, replaces=parse_uid(request.POST.get("draft")))
    except QuotaExceeded as error:
        return JsonResponse({"error": error.message}, status=507)
    response = JsonResponse({"draft": uid})
    response["Cache-Control"] = "no-store"
    return response
