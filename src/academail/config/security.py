"""The headers every page of ours carries, set in one place.

Pages may set a stricter or different Content-Security-Policy themselves (the
message frame, attachment previews); this middleware only fills in what a view
left unset, so a new page is covered without having to remember it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

# No inline script or style anywhere: scripts and stylesheets come from our
# origin; message bodies are shown in a sandboxed frame of our origin.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# Django's admin keeps a few inline styles of its own: it gets the same policy
# but for those.
_ADMIN_CSP = PAGE_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class StrictHeadersMiddleware(MiddlewareMixin):
    """Default Content-Security-Policy for HTML answers.

    Referrer-Policy is Django's ``SECURE_REFERRER_POLICY`` ("same-origin"):
    never "no-referrer" on our pages, or Chromium posts ``Origin: null`` and
    CSRF refuses the form.

    A ``MiddlewareMixin``, sync and async alike: under ASGI it is in
    ``EDGE_MIDDLEWARE``, its hook called in the event loop (``config.asgi``).
    """

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if response.get("Content-Type", "").startswith("text/html"):
            policy = _ADMIN_CSP if request.path.startswith("/admin/") else PAGE_CSP
            response.setdefault("Content-Security-Policy", policy)
        return response
