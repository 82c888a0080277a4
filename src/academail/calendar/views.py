"""The ``/dav/`` door (Radicale behind our authentication) and the RFC 6764
well-known redirects.

``dav`` is a Django view that calls Radicale's WSGI application in-process, so
DAV runs in the same web process (uvicorn under ``academail serve``, any WSGI or
ASGI server otherwise) with the same middleware, logs and settings.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.views.decorators.csrf import csrf_exempt

from academail.accounts import slowdown
from academail.accounts.models import Account
from academail.accounts.views import client_addr
from academail.calendar import dav as dav_service
from academail.calendar.davauth import check_dav_caller

DAV_PREFIX = "/dav"
# The web session may read (the webmail's own calls, with no password to send);
# writes need Basic credentials, which a forged cross-site request cannot carry:
# a session-authenticated write would need CSRF protection DAV clients lack.
SESSION_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT"})
_CHALLENGE = 'Basic realm="academail", charset="UTF-8"'
# Hop-by-hop or recomputed by the server in front (RFC 9110 §7.6.1).
_DROPPED_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


def _unauthorized(message: str, *, retry_after: int = 0) -> HttpResponse:
    status = 429 if retry_after else 401
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    if retry_after:
        response["Retry-After"] = str(retry_after)
    else:
        response["WWW-Authenticate"] = _CHALLENGE
    return response


def _caller(request: HttpRequest) -> Account | HttpResponse:
    header = str(request.META.get("HTTP_AUTHORIZATION", ""))
    if header:
        found = check_dav_caller(header, remote_addr=client_addr(request),
                                 client_name=str(request.META.get("HTTP_USER_AGENT", "")))
        if found.account is not None:
            return found.account
        if found.retry_after:
            refusal = _unauthorized(
                "Trop de tentatives de connexion : réessayez dans quelques minutes.",
                retry_after=found.retry_after,
            )
        else:
            refusal = _unauthorized(
                "Identifiant ou mot de passe refusé. Utilisez un mot de passe d'application "
                "créé dans « Mon compte »."
            )
        return slowdown.mark(refusal, found.slow_down)
    user = request.user
    if isinstance(user, Account) and user.is_authenticated and request.method in SESSION_METHODS:
        return user
    return _unauthorized("Connectez-vous avec votre identifiant et un mot de passe d'application.")


def _environ(request: HttpRequest, account: Account, body: bytes) -> dict[str, object]:
    """A WSGI environ (PEP 3333) for Radicale, built from the request: the
    caller as ``REMOTE_USER``, ``/dav`` as ``SCRIPT_NAME``, no credentials."""
    environ: dict[str, object] = {
        key: value
        for key, value in request.META.items()
        if isinstance(value, str) and (key.startswith("HTTP_") or key in {
            "CONTENT_TYPE", "SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR", "QUERY_STRING"})
    }
    environ.pop("HTTP_AUTHORIZATION", None)
    environ.pop("HTTP_COOKIE", None)
    environ.pop("HTTP_X_SCRIPT_NAME", None)
    environ.pop("HTTP_X_REMOTE_USER", None)
    environ.update({
        "REQUEST_METHOD": request.method or "GET",
        "SCRIPT_NAME": DAV_PREFIX,
        "PATH_INFO": request.path[len(DAV_PREFIX):] or "/",
        "REMOTE_USER": account.identifier,
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme or "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    })
    if request.is_secure():
        environ["HTTPS"] = "on"
    return environ


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if announced > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt  # Basic-authenticated clients; session callers may only read (SESSION_METHODS)
def dav(request: HttpRequest) -> HttpResponse:
    """Every method on ``/dav/...``: authenticate, provision the caller's home
    if it is new, then let Radicale answer (rights: ``dav.Rights``)."""
    from django.conf import settings

    found = _caller(request)
    if isinstance(found, HttpResponse):
        return found
    body = _read_body(request, settings.DAV_MAX_REQUEST_BYTES)
    if body is None:
        return HttpResponse("Requête trop volumineuse.", status=413, content_type="text/plain; charset=utf-8")
    dav_service.do_provision(found.identifier)
    captured: dict[str, object] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        captured["status"], captured["headers"] = status, headers

    chunks: Iterable[bytes] = dav_service.application()(_environ(request, found, body), start_response)
    try:
        content = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    status = str(captured["status"])
    response = HttpResponse(content, status=int(status.split(" ", 1)[0]))
    headers = captured["headers"]
    assert isinstance(headers, list)
    for name, value in headers:
        if name.lower() not in _DROPPED_HEADERS:
            response[name] = value
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # a redirect; PROPFIND clients carry no CSRF token
def well_known(request: HttpRequest, service: str) -> HttpResponse:
    """RFC 6764 §5: ``/.well-known/caldav`` and ``/.well-known/carddav`` lead
    to the context path; clients then find their principal there (RFC 5397)."""
    return HttpResponsePermanentRedirect(DAV_PREFIX + "/")
