"""The webmail pages: folder list, reading, actions, writing, search and
folder management. Views parse the request, call one service (``store.webmail``,
``store.mailboxes``, ``delivery.submit.do_send``) and render ``pages/`` or
``partials/``. Every message and folder is reached through the store's
``access_*`` lookups, so an id of another account is a 404.

Pages are sent with a strict CSP (no inline script, ``frame-ancestors
'none'``); the HTML body of a message is served on its own URL, with its own
CSP, and shown in a sandboxed iframe without scripts or same-origin rights.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from academail.config import views as config_views
from academail.delivery.submit import SenderRefused, SendRefused, account_identity, do_send
from academail.mime.parse import decode_part_body, parse_message
from academail.store import mailboxes as store_mailboxes
from academail.store import webmail as store
from academail.store.errors import (
    MailboxNotFound,
    MessageNotFound,
    ProtectedMailbox,
    QuotaExceeded,
    StoreError,
)
from academail.store.messages import do_empty_mailbox
from academail.store.models import Flag
from academail.webmail import compose, preferences, searching
from academail.webmail import render as rendering
from academail.webmail.drafts import apply_rich_text, do_discard_draft, do_save_draft, parse_uid

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# The message frame: nothing but inline styles and inlined (cid:) images;
# remote images only once the person asked for them.
_FRAME_CSP = "default-src 'none'; img-src data:{remote}; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
_SAFE_DOWNLOAD_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain", "text/csv"}


def webmail_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Sign-in required; unknown ids of any kind become a 404; strict headers."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except (MailboxNotFound, MessageNotFound):
            raise Http404(_("Ce message ou ce dossier n'existe pas.")) from None
        response.setdefault("Content-Security-Policy", _CSP)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapper


def _account_id(request: HttpRequest) -> int:
    return int(request.user.pk)


def _int(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


def _page(request: HttpRequest, template: str, context: dict[str, Any], *, current: int | None = None) -> HttpResponse:
    pane = store.folder_pane(_account_id(request))
    return render(request, f"webmail/pages/{template}", {"pane": pane, "current": current, **context})


def home(request: HttpRequest) -> HttpResponse:
    """"/": the webmail for a signed-in person, the landing page otherwise."""
    if request.user.is_authenticated:
        return redirect("webmail:index")
    return config_views.home(request)


@webmail_view
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return redirect("webmail:folder", mailbox_id=store.inbox(_account_id(request)).pk)


@webmail_view
@require_POST
def empty_folder(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    """"Vider la corbeille" / "Vider les indésirables" (another account's folder: 404)."""
    if request.POST.get("confirm") != "on":
        messages.error(request, _("Cochez la case de confirmation pour vider ce dossier."))
        return redirect("webmail:folder", mailbox_id)
    try:
        count = do_empty_mailbox(_account_id(request), mailbox_id)
    except ProtectedMailbox as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Dossier vidé : %(n)d message(s) supprimé(s) définitivement.") % {"n": count})
    return redirect("webmail:folder", mailbox_id)


@webmail_view
@require_GET
def folder(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    """A folder's list, sorted (``tri``, ``sens``), by message or by
    conversation (``vue``); keyset pages (``apres`` + ``cle``, or ``avant``)."""
    account_id = _account_id(request)
    settings_ = preferences.access_preferences(account_id)
    view = request.GET.get("vue", "")
    if view in ("conversations", "messages"):
        if (view == "conversations") != settings_.conversations:
            preferences.do_set_conversations(account_id, view == "conversations")
        conversations = view == "conversations"
    else:
        conversations = settings_.conversations
    page_size = settings_.page_size if settings_.page_size in store.PAGE_SIZES else store.PAGE_SIZE
    sort = request.GET.get("tri", "date")
    if sort not in store.SORTS:
        sort = "date"
    direction = request.GET.get("sens", store.DEFAULT_DIRECTION[sort])
    descending = direction != "asc"
    if conversations:
        threads = store.conversation_page(account_id, mailbox_id, before_uid=_int(request.GET.get("avant")), page_size=page_size)
        return _page(
            request,
            "folder.html",
            {"threads": threads, "page": threads, "title": store.display_name(threads.mailbox), "rows": threads.conversations, "conversations": True},
            current=mailbox_id,
        )
    after_uid = _int(request.GET.get("apres"))
    key = request.GET.get("cle", "")[:100]
    if sort == "taille" and not key.isdigit():
        after_uid = None
    page = store.folder_page(
        account_id,
        mailbox_id,
        before_uid=_int(request.GET.get("avant")),
        sort=sort,
        descending=descending,
        after=(key, after_uid) if after_uid is not None else None,
        page_size=page_size,
    )
    return _page(
        request,
        "folder.html",
        {"page": page, "title": store.display_name(page.mailbox), "rows": page.messages, "sort_links": _sort_links(page)},
        current=mailbox_id,
    )


_SORT_LABELS = {"date": "Date", "expediteur": "De", "objet": "Objet", "taille": "Taille"}


def _sort_links(page: store.Page) -> dict[str, dict[str, str]]:
    """For each sortable column: the link that sorts by it (the other direction
    when it is the current sort) and its aria-sort value."""
    links: dict[str, dict[str, str]] = {}
    for sort in store.SORTS:
        current = sort == page.sort
        if current:
            direction = "asc" if page.descending else "desc"
            aria = "descending" if page.descending else "ascending"
        else:
            direction, aria = store.DEFAULT_DIRECTION[sort], "none"
        links[sort] = {"href": f"?tri={sort}&sens={direction}", "aria": aria, "current": "1" if current else ""}
    return links


@webmail_view
@require_GET
def conversation(request: HttpRequest, mailbox_id: int, thread_key: str) -> HttpResponse:
    """One conversation of a folder, its messages oldest first."""
    account_id = _account_id(request)
    thread = store.open_conversation(account_id, mailbox_id, thread_key[:64], mark_seen=True)
    items: list[dict[str, Any]] = []
    for opened in thread.messages:
        parsed = parse_message(opened.raw)
        allow = _images_allowed(request, account_id, opened)
        items.append(
            {
                "opened": opened,
                "m": opened.message,
                "parsed": parsed,
                "body": rendering.message_body(opened.raw, opened.root, allow_remote=allow),
                "allow_images": allow,
                "attachments": rendering.attachments(opened.root),
            }
        )
    title = items[-1]["parsed"].subject or _("(sans objet)")
    return _page(request, "conversation.html", {"items": items, "thread": thread, "title": title}, current=mailbox_id)


@webmail_view
@require_POST
def actions(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    action = request.POST.get("action", "")
    uids = [u for u in (_int(v) for v in request.POST.getlist("uid")) if u is not None]
    next_url = reverse("webmail:folder", args=[mailbox_id])
    if action not in store.ACTIONS:
        messages.error(request, _("Action inconnue."))
        return redirect(next_url)
    if not uids:
        messages.error(request, _("Sélectionnez au moins un message."))
        return redirect(next_url)
    target = _int(request.POST.get("target"))
    if action == "move" and target is None:
        messages.error(request, _("Choisissez le dossier de destination."))
        return redirect(next_url)
    try:
        # Another account's folder, as source or target, is a 404 (webmail_view).
        count = store.do_message_action(_account_id(request), mailbox_id, uids, action, target_id=target)
    except QuotaExceeded as error:
        messages.error(request, error.message)
        return redirect(next_url)
    done = {
        "seen": _("Marqué comme lu."),
        "unseen": _("Marqué comme non lu."),
        "flag": _("Suivi activé."),
        "unflag": _("Suivi retiré."),
        "move": _("Déplacé."),
        "delete": _("Supprimé."),
        "junk": _("Signalé comme indésirable et déplacé dans Indésirables."),
    }[action]
    messages.success(request, done if count else _("Aucun message n'a changé."))
    # Stay on a message whose flags changed; leave one that is gone.
    if len(uids) == 1 and action in ("seen", "flag", "unflag") and request.POST.get("from") == "message":
        return redirect("webmail:message", mailbox_id=mailbox_id, uid=uids[0])
    return redirect(next_url)


def _images_allowed(request: HttpRequest, account_id: int, opened: store.Opened) -> bool:
    """Remote images: when asked for (``images=1``), or automatically for a
    trusted sender (exact From address) whose message did not fail SPF/DMARC."""
    if request.GET.get("images") == "1":
        return True
    return _sender_trusted(account_id, opened)


def _sender_trusted(account_id: int, opened: store.Opened) -> bool:
    address = opened.message.content.from_addr
    return (
        preferences.is_trusted_sender(account_id, address)
        and not rendering.authentication_failed(bytes(opened.message.prefix), settings.MAIL_HOSTNAME)
    )


def _reading_context(raw: bytes, root: Any, allow_images: bool) -> dict[str, Any]:
    parsed = parse_message(raw)
    return {
        "parsed": parsed,
        "body": rendering.message_body(raw, root, allow_remote=allow_images),
        "allow_images": allow_images,
        "attachments": rendering.attachments(root),
    }


@webmail_view
@require_GET
def message(request: HttpRequest, mailbox_id: int, uid: int) -> HttpResponse:
    account_id = _account_id(request)
    opened = store.open_message(account_id, mailbox_id, uid, mark_seen=True)
    trusted = _sender_trusted(account_id, opened)
    allow_images = trusted or request.GET.get("images") == "1"
    context = _reading_context(opened.raw, opened.root, allow_images)
    return _page(
        request,
        "message.html",
        {
            **context,
            "opened": opened,
            "m": opened.message,
            "trusted": trusted,
            "can_trust": bool(opened.message.content.from_addr)
            and not rendering.authentication_failed(bytes(opened.message.prefix), settings.MAIL_HOSTNAME),
            "flagged": bool(opened.message.flags & Flag.FLAGGED),
            "title": context["parsed"].subject or _("(sans objet)"),
            "targets": [f for f in store.folder_pane(account_id).folders if f.mailbox.pk != mailbox_id],
        },
        current=mailbox_id,
    )


def _embedded(opened: store.Opened, path: str) -> tuple[bytes, Any]:
    found = rendering.open_embedded(opened.raw, opened.root, path)
    if found is None:
        raise Http404(_("Ce message joint n'existe pas."))
    return found


@webmail_view
@require_GET
def embedded(request: HttpRequest, mailbox_id: int, uid: int, path: str) -> HttpResponse:
    """A message attached to a message (message/rfc822), shown as a message:
    same sanitising, same sandboxed frame; its remote images only when asked."""
    opened = store.open_message(_account_id(request), mailbox_id, uid)
    raw, root = _embedded(opened, path)
    context = _reading_context(raw, root, request.GET.get("images") == "1")
    return _page(
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
    account_id = _account_id(request)
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
    account_id = _account_id(request)
    opened = store.open_message(account_id, mailbox_id, uid)
    if path:
        raw, root = _embedded(opened, path)
        allow = request.GET.get("images") == "1"
    else:
        raw, root = opened.raw, opened.root
        allow = _images_allowed(request, account_id, opened)
    document = rendering.html_document(raw, root, allow_remote=allow)
    response = HttpResponse(document, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = _FRAME_CSP.format(remote=" https: http:" if allow else "")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@webmail_view
@require_GET
def source(request: HttpRequest, mailbox_id: int, uid: int) -> HttpResponse:
    opened = store.open_message(_account_id(request), mailbox_id, uid)
    response = HttpResponse(opened.full, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _part(request: HttpRequest, mailbox_id: int, uid: int, section: str, path: str) -> tuple[Any, bytes]:
    opened = store.open_message(_account_id(request), mailbox_id, uid)
    raw, root = _embedded(opened, path) if path else (opened.raw, opened.root)
    part = rendering.find_leaf(root, section)
    if part is None:
        raise Http404(_("Cette pièce jointe n'existe pas."))
    return part, decode_part_body(raw, part)


@webmail_view
@require_GET
def attachment(request: HttpRequest, mailbox_id: int, uid: int, section: str, path: str = "") -> HttpResponse:
    part, data = _part(request, mailbox_id, uid, section, path)
    content_type = part.content_type if part.content_type in _SAFE_DOWNLOAD_TYPES else "application/octet-stream"
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


# --- writing --------------------------------------------------------------------------


def _source_message(request: HttpRequest, reference: str | None) -> tuple[int, int] | None:
    if not reference or "-" not in reference:
        return None
    box, _, uid = reference.partition("-")
    box_id, uid_number = _int(box), _int(uid)
    if box_id is None or uid_number is None:
        raise Http404
    return box_id, uid_number


def _attached_name(original: Any) -> str:
    return rendering.safe_filename(compose.attached_message_name(original.subject), "message/rfc822")


@webmail_view
@require_http_methods(["GET", "POST"])
def write(request: HttpRequest) -> HttpResponse:
    account = request.user
    account_id = _account_id(request)
    data = request.POST if request.method == "POST" else request.GET
    mode = data.get("mode", "")
    if mode not in ("reply", "all", "forward", "forward_attached"):
        mode = ""
    reference = _source_message(request, data.get("source"))
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
            (_attached_name(original), opened.message.size)
            if opened is not None and mode == "forward_attached" else None
        ),
    }
    if request.method == "GET":
        # The signature: below a new message's body, above the quoted original.
        signature = preferences.signature_block(preferences.access_preferences(account_id).signature)
        if signature:
            draft.body = "\n\n" + signature + draft.body
        return _page(request, "write.html", {**context, "draft": draft, "to": ", ".join(draft.to), "cc": ", ".join(draft.cc), "bcc": ""})
    # The identification fields come from the original, read again: never from the form.
    draft.to = compose.parse_addresses(request.POST.get("to", ""))
    draft.cc = compose.parse_addresses(request.POST.get("cc", ""))
    draft.bcc = compose.parse_addresses(request.POST.get("bcc", ""))
    draft.subject = request.POST.get("subject", "")[:998]
    draft.body = request.POST.get("body", "")
    apply_rich_text(draft, request.POST)
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
            compose.Upload(_attached_name(original), "message/rfc822", opened.raw)
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
        return _page(request, "write.html", form)
    raw = compose.build_message(draft, sender_name=account.full_name, sender_address=account.address)
    if request.POST.get("intent") == "draft":
        drafts = store_mailboxes.special_mailbox(account_id, "drafts")
        try:
            # Replaces the draft this page saved automatically, if any.
            do_save_draft(account_id, raw, replaces=parse_uid(request.POST.get("draft")))
        except QuotaExceeded as error:
            form["error"] = error.message
            return _page(request, "write.html", form)
        messages.success(request, _("Brouillon enregistré dans Brouillons."))
        return redirect("webmail:folder", mailbox_id=drafts.pk)
    if (
        not draft.attachments
        and compose.mentions_attachment(f"{draft.subject}\n{draft.body}")
        and request.POST.get("confirm") != "1"
    ):
        form["attachment_warning"] = True
        return _page(request, "write.html", form)
    try:
        sent = do_send(account, raw, [*draft.to, *draft.cc, *draft.bcc], bcc=draft.bcc)
    except SenderRefused:
        form["error"] = _("Vous ne pouvez envoyer qu'avec votre propre adresse.")
        return _page(request, "write.html", form)
    except SendRefused as refused:
        form["error"] = refused.message
        return _page(request, "write.html", form)
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
        )
    elif sent.sent_copy_uid is None:
        messages.warning(request, _("Message envoyé, mais Envoyés est plein : aucune copie n'y a été gardée."))
    else:
        messages.success(request, _("Message envoyé."))
    return redirect("webmail:index")


# --- search -----------------------------------------------------------------------------


@webmail_view
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    account_id = _account_id(request)
    form = searching.SearchForm(request.GET, store.folder_pane(account_id).folders)
    criteria = form.criteria()
    found = store.search_page(account_id, criteria, before_id=_int(request.GET.get("avant"))) if criteria else None
    context = {
        "query": request.GET.get("q", "").strip()[:200],
        "form": form,
        "found": found,
        "terms": form.highlight_terms(),
        "next_query": form.query_string(),
        "title": _("Recherche"),
    }
    return _page(request, "search.html", context)


# --- folders --------------------------------------------------------------------------


@webmail_view
@require_http_methods(["GET", "POST"])
def folders(request: HttpRequest) -> HttpResponse:
    account_id = _account_id(request)
    error = ""
    if request.method == "POST":
        try:
            box = store_mailboxes.do_create_mailbox(account_id, request.POST.get("name", ""))
        except StoreError as failure:
            error = failure.message
        else:
            messages.success(request, _("Dossier « %(name)s » créé.") % {"name": box.name})
            return redirect("webmail:folders")
    return _page(request, "folders.html", {"error": error, "title": _("Gérer les dossiers")})


@webmail_view
@require_POST
def folder_rename(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    try:
        box = store_mailboxes.do_rename_mailbox(_account_id(request), mailbox_id, request.POST.get("name", ""))
    except (MailboxNotFound, MessageNotFound):
        raise
    except StoreError as failure:
        messages.error(request, failure.message)
    else:
        messages.success(request, _("Dossier renommé en « %(name)s ».") % {"name": box.name})
    return redirect("webmail:folders")


@webmail_view
@require_http_methods(["GET", "POST"])
def folder_delete(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    account_id = _account_id(request)
    box = store_mailboxes.access_mailbox(account_id, mailbox_id)
    if request.method == "POST":
        try:
            store_mailboxes.do_delete_mailbox(account_id, mailbox_id)
        except StoreError as failure:
            messages.error(request, failure.message)
        else:
            messages.success(request, _("Dossier « %(name)s » supprimé.") % {"name": box.name})
        return redirect("webmail:folders")
    return _page(request, "folder_delete.html", {"box": box, "title": _("Supprimer un dossier")})
