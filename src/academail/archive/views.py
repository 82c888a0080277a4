"""Mailbox care pages: "Espace utilisé" (what takes the space, and bulk
actions to free it). Views parse, call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from academail.store.errors import MailboxNotFound, MessageNotFound, StoreError
from academail.store.quota import is_full
from academail.store.space import do_archive, do_destroy, space_report
from academail.store.webmail import folder_pane
from academail.webmail.views import webmail_view

MAX_SELECTION = 1000


def _account_id(request: HttpRequest) -> int:
    return int(request.user.pk)


def _selection(values: list[str]) -> list[tuple[int, int]]:
    """"mailbox:uid" pairs from the form; anything else is ignored."""
    pairs: list[tuple[int, int]] = []
    for value in values[:MAX_SELECTION]:
        box, _sep, uid = value.partition(":")
        if box.isdigit() and uid.isdigit() and len(box) < 19 and len(uid) < 19:
            pairs.append((int(box), int(uid)))
    return pairs


@webmail_view
@require_GET
def space(request: HttpRequest) -> HttpResponse:
    account_id = _account_id(request)
    report = space_report(account_id)
    return render(request, "archive/pages/space.html", {
        "pane": folder_pane(account_id), "report": report, "title": _("Espace utilisé"),
        "full": is_full(report.used, report.limit),
    })


@webmail_view
@require_POST
def space_actions(request: HttpRequest) -> HttpResponse:
    """"Supprimer définitivement" (confirmation box required) or "Déplacer dans
    Archives" for the ticked messages."""
    selection = _selection(request.POST.getlist("m"))
    action = request.POST.get("action", "")
    if not selection:
        messages.error(request, _("Cochez d'abord les messages à traiter."))
        return redirect("archive:space")
    try:
        if action == "delete":
            if request.POST.get("confirm") != "on":
                messages.error(request, _("Cochez la case de confirmation pour supprimer définitivement ces messages."))
                return redirect("archive:space")
            count = do_destroy(_account_id(request), selection)
            messages.success(request, _("%(n)d message(s) supprimé(s) définitivement : l'espace est libéré.") % {"n": count})
        elif action == "archive":
            count = do_archive(_account_id(request), selection)
            messages.success(request, _("%(n)d message(s) déplacé(s) dans Archives.") % {"n": count})
        else:
            messages.error(request, _("Action inconnue."))
    except (MailboxNotFound, MessageNotFound):
        raise  # another account's folder: 404 (webmail_view)
    except StoreError as failure:
        messages.error(request, failure.message)
    return redirect("archive:space")
