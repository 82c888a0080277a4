"""The frame of every signed-in mail page: ``webmail_view`` (sign-in
required, an id of another account is a 404, no caching; the strict CSP
comes from ``config.security`` like on every page) and
``render_page`` (render a ``webmail/pages/`` template with the folder pane).
The webmail, filters and forwarding pages use them, so they look and behave
the same; new packages with pages do too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from academail.store import webmail as store
from academail.store.errors import MailboxNotFound, MessageNotFound


def webmail_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Sign-in required; unknown ids of any kind become a 404; strict headers."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except (MailboxNotFound, MessageNotFound):
            raise Http404(_("Ce message ou ce dossier n'existe pas.")) from None
        # The Content-Security-Policy is the default one of every page
        # (config.security); the message frame and downloads set their own.
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapper


def signed_in_id(request: HttpRequest) -> int:
    """The signed-in account's id (views under ``webmail_view`` only)."""
    return int(request.user.pk)


def parse_int(value: str | None) -> int | None:
    """A positive id or UID from a query string or form; None when absent or malformed."""
    if value is None or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


# Sent by the webmail's in-place navigation (webmail/static/webmail/inplace.js):
# the same view answers with the page's title, notices and content only
# (``fragment.html`` in place of ``base.html``), and says so in the same header.
FRAGMENT_HEADER = "X-Academail-Fragment"


def render_page(request: HttpRequest, template: str, context: dict[str, Any], *, current: int | None = None,
                pane: store.FolderPane | None = None) -> HttpResponse:
    """Render ``webmail/pages/<template>`` with the folder pane (``current``: the open folder;
    ``pane``: the one the view already read for ``current``, not read again).
    Another package's page names its own template in full (``lists/pages/index.html``).
    With the ``X-Academail-Fragment: 1`` request header, a page built on the
    webmail layout comes without the site's header, footer, styles and scripts."""
    pane = pane or store.folder_pane(signed_in_id(request), current)
    path = template if "/" in template else f"webmail/pages/{template}"
    fragment = request.headers.get(FRAGMENT_HEADER) == "1"
    response = render(
        request, path, {"pane": pane, "current": current, "page_base": "fragment.html" if fragment else "base.html", **context}
    )
    if fragment:
        response[FRAGMENT_HEADER] = "1"
    patch_vary_headers(response, (FRAGMENT_HEADER,))
    return response
