"""Pages of protection: the interstitial page a flagged link opens ("Vous
allez quitter la messagerie vers …"). Thin: parse, one service call, render."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from academail.protection.lookalike import decode_idn
from academail.protection.warnings import check_leave_token
from academail.store import webmail as store
from academail.webmail.views import webmail_view
from academail.webmail.views.base import signed_in_id


@webmail_view
@require_GET
def leave(request: HttpRequest) -> HttpResponse:
    """Shows where a flagged link really goes, and lets the person go on or
    not. The destination comes from a signed token (no open redirect)."""
    pane = store.folder_pane(signed_in_id(request))
    destination = check_leave_token(request.GET.get("u", "")[:20_000])
    if destination is None:
        context = {"pane": pane, "broken": True, "title": _("Lien invalide")}
        return render(request, "protection/pages/leave.html", context, status=400)
    host = decode_idn(urlsplit(destination).hostname or "")
    return render(
        request,
        "protection/pages/leave.html",
        {"pane": pane, "destination": destination, "host": host, "title": _("Vous allez quitter la messagerie")},
    )
