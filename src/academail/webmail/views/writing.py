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

from academail.store.errors import MailboxNotFound, MessageNotFound, QuotaExceeded
from academail.web.frame import render_page, signed_in_id, webmail_view
from academail.web.helplinks import Articles, message_tag
from academail.webmail import compose, preferences, sending
from academail.webmail.drafts import apply_rich_text, do_save_draft
from academail.webmail.views.base import source_reference


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
    mode = request.POST.get("mode", "")
    reference = source_reference(request.POST.get("source"))
    draft = sending.access_compose(request.user, mode if mode in ("reply", "all") else "", reference).draft
    fill_from_form(draft, request)
    return draft


def _form_context(request: HttpRequest, start: sending.Compose, *, posted: bool) -> dict[str, Any]:
    return {
        "mode": start.mode,
        "source": (request.POST if posted else request.GET).get("source", "") if start.reference else "",
        "max_size": settings.MAX_MESSAGE_SIZE,
        "title": _("Écrire un message"),
        "original_files": start.original_files,
        "kept": set(request.POST.getlist("keep")) if posted else {a.section for a in start.original_files},
        "attached_original": start.attached_original,
        "senders": sending.sender_choices(request.user),
    }


@webmail_view
@require_http_methods(["GET", "POST"])
def write(request: HttpRequest) -> HttpResponse:
    """The compose page: GET shows it (new, reply, reply to all, forward,
    forward as attachment); POST saves a draft or sends
    (``webmail.sending.check_compose_and_send``)."""
    account = request.user
    posted = request.method == "POST"
    data = request.POST if posted else request.GET
    start = sending.access_compose(account, data.get("mode", ""), source_reference(data.get("source")))
    context = _form_context(request, start, posted=posted)
    draft = start.draft
    if not posted:
        # The signature: below a new message's body, above the quoted original.
        signature = preferences.signature_block(preferences.access_preferences(signed_in_id(request)).signature)
        if signature:
            draft.body = "\n\n" + signature + draft.body
        return render_page(request, "write.html", {
            **context, "draft": draft, "to": ", ".join(draft.to), "cc": ", ".join(draft.cc), "bcc": "",
            "from_address": sending.default_sender(account, start, context["senders"]),
        })
    fill_from_form(draft, request)  # the identification fields stay the original's
    outcome = sending.check_compose_and_send(
        account, start, draft, kept=context["kept"], uploads=request.FILES.getlist("attachments"),
        save_draft=request.POST.get("intent") == "draft", confirmed=request.POST.get("confirm") == "1",
        draft_uid=parse_uid(request.POST.get("draft")), from_address=request.POST.get("from", ""),
    )
    if outcome.result is sending.Result.FORM:
        return render_page(request, "write.html", {
            **context, "draft": outcome.draft, "to": request.POST.get("to", ""), "cc": request.POST.get("cc", ""),
            "bcc": request.POST.get("bcc", ""), "error": outcome.error, "attachment_warning": outcome.attachment_warning,
            "help_article": outcome.help_article, "from_address": request.POST.get("from", ""),
        })
    if outcome.result is sending.Result.DRAFT_SAVED:
        messages.success(request, _("Brouillon enregistré dans Brouillons."))
        return redirect("webmail:folder", mailbox_id=outcome.drafts_id)
    sent = outcome.sent
    assert sent is not None
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
