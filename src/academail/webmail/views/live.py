"""The live-update endpoints: ``state`` (JSON counters, the polling fallback)
and ``events`` (the server-sent event stream; see ``webmail.live``)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from academail.web.frame import parse_int
from academail.webmail import live


def _unauthorised() -> JsonResponse:
    response = JsonResponse(
        {"error": _("Votre session a expiré : reconnectez-vous pour voir vos nouveaux messages.")}, status=401
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def state(request: HttpRequest) -> HttpResponse:
    """GET JSON: the folders' counters (the polling fallback, and what the page
    asks after each event)."""
    if not request.user.is_authenticated:
        return _unauthorised()
    state = live.access_live_state(int(request.user.pk), _owner(request))
    if state is None:
        raise Http404()
    response = JsonResponse(state)
    response["Cache-Control"] = "no-store"
    return response


def _owner(request: HttpRequest) -> int | None:
    """``?proprietaire=``: the owner of a shared mailbox the page shows."""
    return parse_int(request.GET.get("proprietaire"))


def _signed_in_account_id(request: HttpRequest) -> tuple[int | None, frozenset[int]]:
    """Read the session (one or two queries) and the shared folders the page
    may follow, then give the connection back: the stream may stay open for
    minutes and must not pin a database connection meanwhile (60,000 people,
    a few hundred connections)."""
    try:
        user = request.user
        if not user.is_authenticated:
            return None, frozenset()
        owner = _owner(request)
        return int(user.pk), live.visible_folders(int(user.pk), owner) if owner is not None else frozenset()
    finally:
        if not connection.in_atomic_block:
            connection.close()


@require_GET
async def events(request: HttpRequest) -> HttpResponse:
    """GET text/event-stream of the signed-in account's changes (per-account
    subscription: nobody hears of another account's mail)."""
    if not isinstance(request, ASGIRequest):
        # Under WSGI (runserver, a test live server) Django would buffer the whole
        # stream; 204 tells EventSource not to reconnect, and the page polls.
        return HttpResponse(status=204)
    account_id, folders = await sync_to_async(_signed_in_account_id)(request)
    if account_id is None:
        return _unauthorised()
    owner = _owner(request) if folders else None
    response = StreamingHttpResponse(
        live.stream(account_id, owner, folders), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event at once
    return response
