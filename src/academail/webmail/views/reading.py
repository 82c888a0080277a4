"""Reading: a message (marked read), a conversation, a message attached to a
message, the sandboxed frame that shows the HTML body, the source, attachments
and their previews, and "always show this sender's images".

The HTML body of a message is served on its own URL, with its own CSP
(``FRAME_CSP``), and shown in a sandboxed iframe without scripts or
same-origin rights.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from academail.calendar import delegated, imip
from academail.mime.parse import decode_part_body, parse_message
from academail.protection import warnings as protection
from academail.store import webmail as store
from academail.store.webmail import Flag
from academail.web.frame import render_page, signed_in_id, webmail_view
from academail.webmail import preferences
from academail.webmail import render as rendering

# The message frame: nothing but inline styles and inlined (cid:) images;
# remote images only once the person asked for them.
FRAME_CSP = "default-src 'none'; img-src data:{remote}; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
SAFE_DOWNLOAD_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain", "text/csv"}


@webmail_view
@require_GET
def conversation(request: HttpRequest, mailbox_id: int, thread_key: str) -> HttpResponse:
    """One conversation of a folder, its messages oldest first."""
    account_id = signed_in_id(request)
    thread = store.open_conversation(account_id, mailbox_id, thread_key[:64], mark_seen=True)
    items: list[dict[str, Any]] = []
    for opened in thread.messages:
        parsed = parse_message(opened.raw)
        allow = images_allowed(request, account_id, opened)
        # Each message's own warnings, as the single message view shows them,
        # and its flagged links through the interstitial page (issue 13).
        shown = warnings_of(opened)
        items.append(
            {
                "opened": opened,
                "m": opened.message,
                "parsed": parsed,
                "shown": shown,
                "body": rendering.message_body(opened.raw, opened.root, allow_remote=allow,
                                               rewrite=link_rewrite(shown)),
                "allow_images": allow,
                "attachments": rendering.attachments(opened.raw, opened.root),
            }
        )
        items[-1]["risky"] = risky_sections(shown, opened.root, items[-1]["attachments"])
    title = items[-1]["parsed"].subject or _("(sans objet)")
    return render_page(request, "conversation.html", {"items": items, "thread": thread, "title": title}, current=mailbox_id)


def images_allowed(request: HttpRequest, account_id: int, opened: store.Opened) -> bool:
    """Remote images: when asked for (``images=1``), or automatically for a
    trusted sender (exact From address) whose message did not fail SPF/DMARC."""
    if request.GET.get("images") == "1":
        return True
    return sender_trusted(account_id, opened)


def sender_trusted(account_id: int, opened: store.Opened) -> bool:
    address = opened.message.content.from_addr
    return (
        preferences.is_trusted_sender(account_id, address)
        and not rendering.authentication_failed(bytes(opened.message.prefix), settings.MAIL_HOSTNAME)
    )


def warnings_of(opened: store.Opened) -> protection.Shown:
    """The phishing warnings stored at delivery (one indexed lookup)."""
    return protection.for_message(opened.message.content.sha256, bytes(opened.message.prefix))


def link_rewrite(shown: protection.Shown) -> rendering.LinkRewrite | None:
    """Flagged links go through the interstitial page ("Vous allez quitter la messagerie")."""
    if not shown.links:
        return None
    flagged = set(shown.links)
    return lambda url: protection.leave_url(url) if url in flagged else url


def reading_context(
    raw: bytes, root: Any, allow_images: bool, rewrite: rendering.LinkRewrite | None = None
) -> dict[str, Any]:
    parsed = parse_message(raw)
    return {
        "parsed": parsed,
        "body": rendering.message_body(raw, root, allow_remote=allow_images, rewrite=rewrite),
        "allow_images": allow_images,
        "attachments": rendering.attachments(raw, root),
    }


@webmail_view
@require_GET
def message(request: HttpRequest, mailbox_id: int, uid: int) -> HttpResponse:
    account_id = signed_in_id(request)
    opened = store.open_message(account_id, mailbox_id, uid, mark_seen=True)
    trusted = sender_trusted(account_id, opened)
    allow_images = trusted or request.GET.get("images") == "1"
    shown = warnings_of(opened)
    context = reading_context(opened.raw, opened.root, allow_images, link_rewrite(shown))
    context["risky"] = risky_sections(shown, opened.root, context["attachments"])
    return render_page(
        request,
        "message.html",
        {
            **context,
            "shown": shown,
            "opened": opened,
            "m": opened.message,
            "trusted": trusted,
            "can_trust": bool(opened.message.content.from_addr)
            and not rendering.authentication_failed(bytes(opened.message.prefix), settings.MAIL_HOSTNAME),
            "flagged": bool(opened.message.flags & Flag.FLAGGED),
            "title": context["parsed"].subject or _("(sans objet)"),
            "targets": [f for f in store.folder_pane(account_id, mailbox_id).folders if f.mailbox.pk != mailbox_id],
            "invitation": delegated.access_invitation_in(request.user, opened.mailbox.account_id, opened.raw,
                                                         authenticated=authentic(opened))
            if b"text/calendar" in opened.raw[:MAX_INVITATION_SCAN].lower() else None,
        },
        current=mailbox_id,
    )


MAX_INVITATION_SCAN = 2 * 1024 * 1024  # an iMIP part sits in the first megabytes (RFC 6047 §2.4)


def authentic(opened: store.Opened) -> bool:
    return not rendering.authentication_failed(bytes(opened.message.prefix), settings.MAIL_HOSTNAME)


@webmail_view
@require_POST
def invitation(request: HttpRequest, mailbox_id: int, uid: int) -> HttpResponse:
    """The invitation card's buttons: answer a REQUEST (``reponse``), or apply
    a CANCEL or a REPLY (``appliquer``) to the person's agenda (RFC 6047)."""
    opened = store.open_message(signed_in_id(request), mailbox_id, uid)
    try:
        if opened.mailbox.account_id != request.user.pk:
            # In a delegated mailbox: for the owner's agenda (calendar.delegated).
            messages.success(request, delegated.do_answer_in(
                request.user, opened.mailbox.account_id, opened.raw, partstat=request.POST.get("reponse", ""),
                apply="appliquer" in request.POST, authenticated=authentic(opened)))
        elif "appliquer" in request.POST:
            done = imip.do_apply_invitation(request.user, opened.raw, authenticated=authentic(opened))
            messages.success(request, done)
        else:
            imip.do_answer_invitation(request.user, opened.raw, request.POST.get("reponse", ""),
                                      authenticated=authentic(opened))
            messages.success(request, _("Réponse envoyée à l'organisateur et agenda mis à jour."))
    except imip.AgendaError as problem:
        messages.error(request, str(problem))
    return redirect("webmail:message", mailbox_id=mailbox_id, uid=uid)


def embedded_message(opened: store.Opened, path: str) -> tuple[bytes, Any]:
    found = rendering.open_embedded(opened.raw, opened.root, path)
    if found is None:
        raise Http404(_("Ce message joint n'existe pas."))
    return found


@webmail_view
@require_GET
def embedded(request: HttpRequest, mailbox_id: int, uid: int, path: str) -> HttpResponse:
    """A message attached to a message (message/rfc822), shown as a message:
    same sanitising, same sandboxed frame; its remote images only when asked."""
    opened = store.open_message(signed_in_id(request), mailbox_id, uid)
    raw, root = embedded_message(opened, path)
    context = reading_context(raw, root, request.GET.get("images") == "1")
    context["risky"] = risky_sections(protection.Shown(), root, context["attachments"])  # judged by name
    return render_page(
        request,
        "embedded.html",
        {**context, "opened": opened, "m": opened.message, "path": path,
         "title": context["parsed"].subject or _("(sans objet)")},
        current=mailbox_id,
    )


@webmail_view
@require_POST
def trust_sender(request: HttpRequest, mailbox_id: int, uid: int) -> HttpResponse:
    """"Toujours afficher les images de cet expéditeur": the message's exact From
    address joins the account's trusted senders."""
    account_id = signed_in_id(request)
    opened = store.open_message(account_id, mailbox_id, uid)
    address = opened.message.content.from_addr
    if rendering.authentication_failed(bytes(opened.message.prefix), settings.MAIL_HOSTNAME):
        messages.error(request, _("L'authenticité de ce message n'a pas pu être vérifiée : ses images restent bloquées."))
    elif preferences.do_trust_sender(account_id, address):
        messages.success(
            request,
            _("Les images de %(address)s seront toujours affichées. Vous pouvez changer d'avis dans les préférences.")
            % {"address": address},
        )
    else:
        messages.info(request, _("Cet expéditeur est déjà dans votre liste, ou elle est pleine (voir les préférences)."))
    return redirect("webmail:message", mailbox_id=mailbox_id, uid=uid)


@xframe_options_sameorigin
@webmail_view
@require_GET
def message_frame(request: HttpRequest, mailbox_id: int, uid: int, path: str = "") -> HttpResponse:
    account_id = signed_in_id(request)
    opened = store.open_message(account_id, mailbox_id, uid)
    rewrite = None
    if path:
        raw, root = embedded_message(opened, path)
        allow = request.GET.get("images") == "1"
    else:
        raw, root = opened.raw, opened.root
        allow = images_allowed(request, account_id, opened)
        rewrite = link_rewrite(warnings_of(opened))
    document = rendering.html_document(raw, root, allow_remote=allow, rewrite=rewrite)
    response = HttpResponse(document, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = FRAME_CSP.format(remote=" https: http:" if allow else "")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@webmail_view
@require_GET
def source(request: HttpRequest, mailbox_id: int, uid: int) -> HttpResponse:
    opened = store.open_message(signed_in_id(request), mailbox_id, uid)
    response = HttpResponse(opened.full, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _part(request: HttpRequest, mailbox_id: int, uid: int, section: str, path: str) -> tuple[Any, bytes]:
    opened = store.open_message(signed_in_id(request), mailbox_id, uid)
    part, data = _leaf(opened, section, path)
    return part, data


def _leaf(opened: store.Opened, section: str, path: str) -> tuple[Any, bytes]:
    raw, root = embedded_message(opened, path) if path else (opened.raw, opened.root)
    part = rendering.find_leaf(root, section)
    if part is None:
        raise Http404(_("Cette pièce jointe n'existe pas."))
    return part, decode_part_body(raw, part)


def risky_sections(shown: protection.Shown, root: Any, attachments: list[rendering.Attachment]) -> set[str]:
    """The attachments whose download asks for confirmation first (their
    links go to that page instead of downloading at once)."""
    risky = set()
    for item in attachments:
        part = rendering.find_leaf(root, item.section)
        if part is not None and protection.download_risks(shown, part):
            risky.add(item.section)
    return risky


@webmail_view
@require_http_methods(["GET", "POST"])
def attachment(request: HttpRequest, mailbox_id: int, uid: int, section: str, path: str = "") -> HttpResponse:
    """Download one attachment. A program, a script, an Office file with
    macros or an archive holding one first shows what it is and asks for
    confirmation; the confirmation is a POST (CSRF-checked) to this address,
    so a link in a message cannot skip it."""
    opened = store.open_message(signed_in_id(request), mailbox_id, uid)
    part, data = _leaf(opened, section, path)
    if request.method != "POST":
        risks = protection.download_risks(warnings_of(opened), part)
        if risks:
            name = rendering.safe_filename(part.filename or "", part.content_type)
            return render_page(request, "download_check.html",
                               {"risks": risks, "name": name, "m": opened.message,
                                "title": _("Ce fichier peut être dangereux")}, current=mailbox_id)
    content_type = part.content_type if part.content_type in SAFE_DOWNLOAD_TYPES else "application/octet-stream"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = rendering.content_disposition(part.filename or "")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@webmail_view
@require_GET
def preview(request: HttpRequest, mailbox_id: int, uid: int, section: str, path: str = "") -> HttpResponse:
    """"Aperçu": a PNG, JPEG, GIF or WebP image (thumbnail) or a PDF (new tab),
    served inline with its own type. Anything else, SVG included, or bytes that
    do not look like the type they claim: 404 (the download link stays)."""
    part, data = _part(request, mailbox_id, uid, section, path)
    if not rendering.previewable(part, data):
        raise Http404(_("Pas d'aperçu pour cette pièce jointe : téléchargez-la."))
    response = HttpResponse(data, content_type=part.content_type)
    disposition = rendering.content_disposition(part.filename or "")
    response["Content-Disposition"] = "inline" + disposition[len("attachment") :]
    response["X-Content-Type-Options"] = "nosniff"
    # A PDF's scripts and forms get no origin (sandbox); an image needs nothing.
    response["Content-Security-Policy"] = (
        "sandbox" if part.content_type == "application/pdf" else "default-src 'none'; sandbox"
    )
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
