"""Live updates of the webmail: new mail shows up in the open folder and in the
folder pane's counters without reloading, and the INBOX's unread count is in
the tab title.

Two endpoints. ``state`` is a cheap JSON snapshot of the account's folders
(counters, UIDNEXT, HIGHESTMODSEQ: one indexed query on ``store_mailbox`` by
account). ``events`` is a server-sent event stream fed by the store's event bus
(``store.events``; on PostgreSQL other processes' changes arrive through
LISTEN/NOTIFY): it only says "this folder changed at this MODSEQ", and the page
asks ``state`` (and the folder page) for what changed. The stream is an async
generator waiting on an asyncio queue: while idle it holds no thread and no
database connection (the one used to authenticate is closed before streaming).
It sends a heartbeat comment every ``WEBMAIL_LIVE_HEARTBEAT`` seconds (so
proxies keep it open and a dead client is noticed) and ends after
``WEBMAIL_LIVE_MAX_SECONDS``; the browser's EventSource reconnects by itself,
which also spreads reconnections and re-checks the session. Without
EventSource, or when the stream fails, the page polls ``state``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from academail.store.events import MailEvent, bus
from academail.store.models import Mailbox, SpecialUse

# How long the browser waits before reconnecting after the stream ends (ms).
RECONNECT_MS = 3000


def _heartbeat() -> float:
    return float(getattr(settings, "WEBMAIL_LIVE_HEARTBEAT", 25))


def _max_seconds() -> float:
    return float(getattr(settings, "WEBMAIL_LIVE_MAX_SECONDS", 600))


def access_live_state(account_id: int) -> dict[str, Any]:
    """The account's folders as the page needs them to refresh itself: one
    query on ``store_mailbox`` filtered by account (its foreign-key index).
    Only the signed-in account's own folders can be asked for."""
    rows = list(
        Mailbox.objects.filter(account_id=account_id)
        .order_by()
        .values_list("pk", "special_use", "messages", "unseen", "uidnext", "highestmodseq")
    )
    inbox = next((r for r in rows if r[1] == SpecialUse.INBOX), None)
    return {
        "inbox": inbox[0] if inbox else None,
        "inbox_unseen": inbox[3] if inbox else 0,
        "mailboxes": [
            {"id": pk, "messages": n, "unseen": unseen, "uidnext": uidnext, "modseq": modseq}
            for pk, _use, n, unseen, uidnext, modseq in rows
        ],
    }


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
    response = JsonResponse(access_live_state(int(request.user.pk)))
    response["Cache-Control"] = "no-store"
    return response


def _signed_in_account_id(request: HttpRequest) -> int | None:
    """Read the session (one or two queries), then give the connection back:
    the stream may stay open for minutes and must not pin a database
    connection meanwhile (60,000 people, a few hundred connections)."""
    try:
        user = request.user
        return int(user.pk) if user.is_authenticated else None
    finally:
        if not connection.in_atomic_block:
            connection.close()


def _frame(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _stream(account_id: int) -> AsyncIterator[bytes]:
    # Subscribe here, not in the view: the generator runs on the server's event
    # loop, the one the bus must wake up.
    subscription = bus.subscribe(account_id)
    try:
        yield f"retry: {RECONNECT_MS}\n".encode() + _frame("hello", {})
        deadline = time.monotonic() + _max_seconds()
        heartbeat = _heartbeat()
        while (left := deadline - time.monotonic()) > 0:
            try:
                event: MailEvent = await asyncio.wait_for(subscription.get(), timeout=min(heartbeat, left))
            except TimeoutError:
                yield b": ping\n\n"
                continue
            yield _frame("change", {"mailbox": event.mailbox_id, "kind": event.kind, "modseq": event.modseq})
        yield _frame("bye", {})
    finally:
        subscription.close()


@require_GET
async def events(request: HttpRequest) -> HttpResponse:
    """GET text/event-stream of the signed-in account's changes (per-account
    subscription: nobody hears of another account's mail)."""
    if not isinstance(request, ASGIRequest):
        # Under WSGI (runserver, a test live server) Django would buffer the whole
        # stream; 204 tells EventSource not to reconnect, and the page polls.
        return HttpResponse(status=204)
    account_id = await sync_to_async(_signed_in_account_id)(request)
    if account_id is None:
        return _unauthorised()
    response = StreamingHttpResponse(_stream(account_id), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event at once
    return response
