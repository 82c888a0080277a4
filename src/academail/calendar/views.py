"""The ``/dav/`` door (Radicale behind our authentication), the RFC 6764
well-known redirects, and the agenda pages of the webmail (``/agenda/``).

``dav`` is a Django view that calls Radicale's WSGI application in-process, so
DAV runs in the same web process (uvicorn under ``academail serve``, any WSGI or
ASGI server otherwise) with the same middleware, logs and settings.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from academail.accounts import slowdown
from academail.accounts.models import Account
from academail.accounts.views import client_addr, secured
from academail.calendar import dav as dav_service
from academail.calendar import delegated, events, imip, imports, pages, report
from academail.calendar.davauth import check_dav_caller
from academail.calendar.forms import EventForm

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
                _("Trop de tentatives de connexion : réessayez dans quelques minutes."),
                retry_after=found.retry_after,
            )
        else:
            refusal = _unauthorized(
                _("Identifiant ou mot de passe refusé. Utilisez un mot de passe d'application "
                  "créé dans « Mon compte »."),
            )
        return slowdown.mark(refusal, found.slow_down)
    user = request.user
    if isinstance(user, Account) and user.is_authenticated and request.method in SESSION_METHODS:
        return user
    return _unauthorized(_("Connectez-vous avec votre identifiant et un mot de passe d'application."))


def _environ(request: HttpRequest) -> dict[str, object]:
    """What Radicale may see of the request (PEP 3333 names): no credentials,
    no cookies, no proxy overrides of its script name or user."""
    environ: dict[str, object] = {
        key: value
        for key, value in request.META.items()
        if isinstance(value, str) and (key.startswith("HTTP_") or key in {
            "CONTENT_TYPE", "SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR", "QUERY_STRING"})
    }
    for key in ("HTTP_AUTHORIZATION", "HTTP_COOKIE", "HTTP_X_SCRIPT_NAME", "HTTP_X_REMOTE_USER"):
        environ.pop(key, None)
    environ["wsgi.url_scheme"] = request.scheme or "http"
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
        return HttpResponse(_("Requête trop volumineuse : envoyez moins d'événements à la fois."), status=413,
                            content_type="text/plain; charset=utf-8")
    path = request.path[len(DAV_PREFIX):] or "/"
    if request.method == "REPORT":
        # Time-range queries read the event index (calendar.report), not every file.
        answered = report.answer_calendar_query(found, path, body)
        if answered is not None:
            delegated.record_dav_use(found, path, "REPORT", 207)
            response = HttpResponse(answered, status=207, content_type="text/xml; charset=utf-8")
            response["Cache-Control"] = "no-store"
            return response
        multiget = report.rewrite_calendar_query(found, path, body)
        if multiget is not None:
            body = multiget
    status, headers, content = dav_service.call(
        found.identifier, request.method or "GET", path, body, environ=_environ(request))
    delegated.record_dav_use(found, path, request.method or "GET", status)
    response = HttpResponse(content, status=status)
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


# --- the agenda pages (/agenda/) -------------------------------------------------


def requester(request: HttpRequest) -> Account:
    user = request.user
    assert isinstance(user, Account)
    return user


def paris_today() -> dt.date:
    return timezone.localdate(timezone=events.PARIS)


def _agenda(request: HttpRequest, *, write: bool = False) -> delegated.Agenda:
    """Whose agenda the request is about: one's own, or (``de``, the owner's
    address) one delegated to the person; 404 otherwise (no enumeration)."""
    address = request.POST.get("de") if request.method == "POST" else request.GET.get("de")
    try:
        return delegated.access_agenda(requester(request), address, write=write)
    except delegated.NotDelegated as problem:
        raise Http404(str(problem)) from None


def _back(agenda: delegated.Agenda, day: dt.date | None = None) -> str:
    query = "&".join(q for q in (f"date={day.isoformat()}" if day else "", agenda.query) if q)
    return reverse("calendar:agenda") + ("?" + query if query else "")


@login_required
@secured
@require_GET
def agenda(request: HttpRequest) -> HttpResponse:
    """Month, week, day or list view (``?vue=``) around ``?date=``, of one's
    own agenda or (``?de=``) of one delegated to the person."""
    today = paris_today()
    shown = _agenda(request)
    page = pages.access_agenda_page(shown.owner, request.GET.get("vue", "semaine"),
                                    pages.parse_date(request.GET.get("date"), today), today)
    return render(request, "calendar/pages/agenda.html", {
        "page": page, "today": today, "shown": shown, "delegated": delegated.agendas_of(requester(request)),
    })


def _calendar_choices(account: Account) -> list[tuple[str, str]]:
    return [(c.name, c.title) for c in events.access_calendars(account)]


@login_required
@secured
@require_http_methods(["GET", "POST"])
def event_form(request: HttpRequest, calendar: str = "", href: str = "") -> HttpResponse:
    """Create (no ``href``) or edit an event; moving it is editing its dates.
    In a delegated agenda (``de``), only with the right to change it; the
    change goes to both journals and invitations leave on the owner's behalf."""
    try:
        shown = _agenda(request, write=request.method == "POST")
    except events.AgendaError as problem:
        messages.error(request, str(problem))
        return redirect(_back(delegated.own(requester(request))))
    account = shown.owner
    choices = _calendar_choices(account)
    error = ""
    if request.method == "POST":
        form = EventForm(request.POST, calendars=choices)
        if form.is_valid():
            draft = form.draft(href)
            if href and draft.calendar != calendar:
                form.add_error("calendar", _("Un événement existant reste dans son agenda."))
            else:
                try:
                    before = events.access_event(account, calendar, href) if href else None
                    saved = events.check_save_event(account, draft)
                    delegated.record_use(shown, requester(request),
                                         f"a {'modifié' if href else 'ajouté'} l'événement « {draft.summary[:80]} »")
                    guests = form.cleaned_data.get("guests") or ""
                    moved = before is not None and (before.start, before.end, before.all_day, before.recurrence,
                                                    before.until) != (draft.start, draft.end, draft.all_day,
                                                                      draft.recurrence, draft.until)
                    imip.do_send_invitations(account, draft.calendar, saved, guests.replace(";", ",").split(","),
                                             sent_by=None if shown.own else requester(request), moved=moved)
                except events.AgendaError as problem:
                    error = str(problem)
                else:
                    messages.success(request, _("Événement enregistré."))
                    assert draft.start is not None
                    return redirect(_back(shown, draft.start.date()))
    elif href:
        try:
            stored = events.access_event(account, calendar, href)
        except events.AgendaError as problem:
            raise Http404(str(problem)) from None
        form = EventForm(initial=EventForm.initial_from(stored), calendars=choices)
    else:
        day = pages.parse_date(request.GET.get("date"), paris_today())
        form = EventForm(initial={"start_date": day, "end_date": day, "start_time": dt.time(9),
                                  "end_time": dt.time(10), "calendar": choices[0][0] if choices else ""},
                         calendars=choices)
    return render(request, "calendar/pages/event.html", {
        "form": form, "error": error, "href": href, "calendar": calendar,
        "occurrence": request.GET.get("occurrence", ""), "shown": shown,
    })


@login_required
@secured
@require_POST
def event_delete(request: HttpRequest, calendar: str, href: str) -> HttpResponse:
    """Delete an event, or (``occurrence``) one occurrence of a recurring one
    (in a delegated agenda, with the right to change it)."""
    occurrence = request.POST.get("occurrence", "")
    shown = delegated.own(requester(request))
    try:
        shown = _agenda(request, write=True)
        sent_by = None if shown.own else requester(request)
        if not occurrence:
            imip.do_cancel_invitations(shown.owner, calendar, href, sent_by=sent_by)
        events.do_delete_event(shown.owner, calendar, href, occurrence=occurrence)
        delegated.record_use(shown, requester(request),
                             "a supprimé une occurrence d'un événement" if occurrence else "a supprimé un événement")
    except events.AgendaError as problem:
        messages.error(request, str(problem))
    else:
        messages.success(request, _("Événement supprimé."))
    return redirect(_back(shown))


@login_required
@secured
@require_POST
def import_ics(request: HttpRequest) -> HttpResponse:
    """Add the events of an uploaded ``.ics`` file to one of one's calendars."""
    upload = request.FILES.get("fichier")
    if upload is None:
        messages.error(request, _("Choisissez un fichier .ics à importer."))
        return redirect("calendar:agenda")
    try:
        report = imports.check_import_ics(requester(request), request.POST.get("calendar", dav_service.DEFAULT_CALENDAR),
                                          upload.read(imports.MAX_IMPORT_BYTES + 1))
    except events.AgendaError as problem:
        messages.error(request, str(problem))
    else:
        text = ngettext("%(added)s événement ajouté à votre agenda.", "%(added)s événements ajoutés à votre agenda.",
                        report.added) % {"added": report.added}
        if report.refused:
            text += " " + ngettext(
                "%(refused)s refusé : dates ou répétition illisibles, corrigez-les dans le fichier d'origine.",
                "%(refused)s refusés : dates ou répétition illisibles, corrigez-les dans le fichier d'origine.",
                report.refused) % {"refused": report.refused}
        messages.success(request, text)
    return redirect("calendar:agenda")


@login_required
@secured
@require_GET
def availability(request: HttpRequest) -> HttpResponse:
    """Colleagues' busy periods for a week (``?avec=`` addresses, ``?date=``)."""
    day = pages.parse_date(request.GET.get("date"), paris_today())
    monday = day - dt.timedelta(days=day.weekday())
    raw = request.GET.get("avec", "")
    addresses = [part for part in raw.replace(";", ",").replace(" ", ",").split(",") if part]
    found = events.access_availability(requester(request), addresses, monday) if addresses else None
    return render(request, "calendar/pages/availability.html", {
        "found": found, "avec": raw, "monday": monday, "previous": monday - dt.timedelta(days=7),
        "following": monday + dt.timedelta(days=7), "limit": events.MAX_COLLEAGUES,
    })
