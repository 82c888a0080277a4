"""The To/Cc/Bcc suggestions endpoint (JSON for the compose page's script)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from academail.webmail import directory


@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    """GET ``?q=``: JSON ``{"results": [{"name", "address", "recent"}]}``."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Votre session a expiré : reconnectez-vous.")}, status=401)
    account_id = int(request.user.pk)
    if directory.over_rate(account_id):
        response = JsonResponse(
            {"error": _("Trop de recherches dans l'annuaire : patientez une minute, ou saisissez l'adresse complète.")},
            status=429,
        )
        response["Retry-After"] = "60"
        return response
    query = request.GET.get("q", "")[: directory.MAX_QUERY]
    response = JsonResponse({"results": [p.as_json() for p in directory.access_suggestions(account_id, query)]})
    response["Cache-Control"] = "no-store"
    return response
