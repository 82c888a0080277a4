"""Folder management: create, rename, delete a folder, and empty Corbeille or
Indésirables. Special folders are protected by the store (``ProtectedMailbox``).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from academail.store import mailboxes as store_mailboxes
from academail.store.errors import MailboxNotFound, MessageNotFound, ProtectedMailbox, StoreError
from academail.store.messages import do_empty_mailbox
from academail.web.frame import render_page, signed_in_id, webmail_view


@webmail_view
@require_POST
def empty_folder(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    """"Vider la corbeille" / "Vider les indésirables" (another account's folder: 404)."""
    if request.POST.get("confirm") != "on":
        messages.error(request, _("Cochez la case de confirmation pour vider ce dossier."))
        return redirect("webmail:folder", mailbox_id)
    try:
        count = do_empty_mailbox(signed_in_id(request), mailbox_id)
    except ProtectedMailbox as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Dossier vidé : %(n)d message(s) supprimé(s) définitivement.") % {"n": count})
    return redirect("webmail:folder", mailbox_id)


@webmail_view
@require_http_methods(["GET", "POST"])
def folders(request: HttpRequest) -> HttpResponse:
    account_id = signed_in_id(request)
    error = ""
    if request.method == "POST":
        try:
            box = store_mailboxes.do_create_mailbox(account_id, request.POST.get("name", ""))
        except StoreError as failure:
            error = failure.message
        else:
            messages.success(request, _("Dossier « %(name)s » créé.") % {"name": box.name})
            return redirect("webmail:folders")
    return render_page(request, "folders.html", {"error": error, "title": _("Gérer les dossiers")})


@webmail_view
@require_POST
def folder_rename(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    try:
        box = store_mailboxes.do_rename_mailbox(signed_in_id(request), mailbox_id, request.POST.get("name", ""))
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
    account_id = signed_in_id(request)
    box = store_mailboxes.access_mailbox(account_id, mailbox_id)
    if request.method == "POST":
        try:
            store_mailboxes.do_delete_mailbox(account_id, mailbox_id)
        except StoreError as failure:
            messages.error(request, failure.message)
        else:
            messages.success(request, _("Dossier « %(name)s » supprimé.") % {"name": box.name})
        return redirect("webmail:folders")
    return render_page(request, "folder_delete.html", {"box": box, "title": _("Supprimer un dossier")})
