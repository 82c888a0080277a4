"""Appointment booking pages: the teacher's (``/agenda/rendez-vous/``,
signed in, their own pages only) and the parents' (``/rendez-vous/…``, no
account: the public page, the confirmation link, the management link).
Thin: each view parses, calls one function of ``calendar.appointments``,
renders."""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from academail.accounts.models import Account
from academail.accounts.views import client_addr, secured
from academail.calendar import appointments, events
from academail.calendar.appointments import (
    AppointmentError,
    LinkInvalid,
    PageDraft,
    PageNotFound,
    RateLimited,
    Slot,
)
from academail.calendar.forms import AppointmentPageForm, AppointmentRangeForm, BookingForm
from academail.calendar.models import AppointmentPage
from academail.calendar.views import paris_today, requester


def _by_day(slots: list[Slot]) -> list[tuple[dt.date, list[Slot]]]:
    return [(day, list(group)) for day, group in groupby(slots, key=lambda s: s.start.date())]


# --- the teacher's side --------------------------------------------------------------------------


@login_required
@secured
@require_http_methods(["GET", "POST"])
def pages(request: HttpRequest) -> HttpResponse:
    """The teacher's appointment pages, and the form for a new one."""
    owner = requester(request)
    calendars = [(c.name, c.title) for c in events.access_calendars(owner)]
    form = AppointmentPageForm(request.POST or None, calendars=calendars,
                               initial={"host": owner.full_name, "active": True})
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            page = appointments.check_save_page(owner, PageDraft(**form.cleaned_data))
        except AppointmentError as problem:
            error = str(problem)
        else:
            messages.success(request, _("Page créée : ajoutez maintenant vos plages horaires."))
            return redirect("calendar:appointment", page.pk)
    return render(request, "calendar/pages/appointments.html", {
        "pages": appointments.access_own_pages(owner), "form": form, "error": error})


def _page_context(owner: Account, page: AppointmentPage) -> dict[str, object]:
    return {
        "page": page, "public_url": appointments.public_url(page),
        "ranges": page.ranges.order_by("first_day", "start_time"),
        "bookings": appointments.access_page_bookings(owner, page.pk),
        "waiters": appointments.access_page_waiters(owner, page.pk),
        "slot_count": len(appointments.slots_of(page)),
        "range_form": AppointmentRangeForm(initial={"first_day": paris_today() + dt.timedelta(days=7),
                                                    "start_time": dt.time(16, 30), "end_time": dt.time(19)}),
    }


@login_required
@secured
@require_http_methods(["GET", "POST"])
def page_detail(request: HttpRequest, page_id: int) -> HttpResponse:
    """One page: its settings (POST saves them), opening hours, bookings."""
    owner = requester(request)
    try:
        page = appointments.access_own_page(owner, page_id)
    except PageNotFound as problem:
        raise Http404(str(problem)) from None
    calendars = [(c.name, c.title) for c in events.access_calendars(owner)]
    fields = {name: getattr(page, name) for name in AppointmentPageForm.base_fields}
    form = AppointmentPageForm(request.POST or None, calendars=calendars, initial=fields)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            appointments.check_save_page(owner, PageDraft(**form.cleaned_data), page.pk)
        except AppointmentError as problem:
            error = str(problem)
        else:
            messages.success(request, _("Page enregistrée."))
            return redirect("calendar:appointment", page.pk)
    return render(request, "calendar/pages/appointment.html", {**_page_context(owner, page), "form": form,
                                                                "error": error})


@login_required
@secured
@require_POST
def range_add(request: HttpRequest, page_id: int) -> HttpResponse:
    owner = requester(request)
    form = AppointmentRangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Indiquez le premier jour et les heures de début et de fin de la plage."))
        return redirect("calendar:appointment", page_id)
    data = form.cleaned_data
    try:
        appointments.check_add_range(owner, page_id, data["first_day"], data["last_day"] or data["first_day"],
                                     data["start_time"], data["end_time"], today=paris_today())
    except PageNotFound as problem:
        raise Http404(str(problem)) from None
    except AppointmentError as problem:
        messages.error(request, str(problem))
    else:
        messages.success(request, _("Plage horaire ajoutée."))
    return redirect("calendar:appointment", page_id)


@login_required
@secured
@require_POST
def range_delete(request: HttpRequest, page_id: int, range_id: int) -> HttpResponse:
    try:
        appointments.do_delete_range(requester(request), page_id, range_id)
    except PageNotFound as problem:
        raise Http404(str(problem)) from None
    messages.success(request, _("Plage horaire retirée ; les rendez-vous déjà pris sont gardés."))
    return redirect("calendar:appointment", page_id)


@login_required
@secured
@require_POST
def booking_cancel_owner(request: HttpRequest, page_id: int, booking_id: int) -> HttpResponse:
    try:
        appointments.check_cancel_by_owner(requester(request), page_id, booking_id)
    except PageNotFound as problem:
        raise Http404(str(problem)) from None
    except AppointmentError as problem:
        messages.error(request, str(problem))
    else:
        messages.success(request, _("Rendez-vous annulé : le parent en est prévenu par courriel."))
    return redirect("calendar:appointment", page_id)


# --- the parents' side (no account) --------------------------------------------------------------


@secured
@require_http_methods(["GET", "POST"])
def booking_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The public page: free slots by day and the booking form, or, when
    every slot is taken, the waiting list's form."""
    try:
        page = appointments.access_public_page(slug)
    except PageNotFound as problem:
        raise Http404(str(problem)) from None
    form = BookingForm(request.POST or None, question=page.question)
    chosen = request.POST.get("slot", "")
    error, status = "", 200
    waitlist = request.POST.get("action") == "attente"
    if request.method == "POST":
        if not chosen and not waitlist:
            error = _("Choisissez un créneau.")
        elif form.is_valid():
            data = form.cleaned_data
            contact = {"email": data["email"], "name": data["name"], "answer": data.get("answer", ""),
                       "remote_addr": client_addr(request)}
            try:
                if waitlist:
                    appointments.check_join_waitlist(page, **contact)
                else:
                    appointments.check_request_booking(page, chosen, **contact)
            except RateLimited as problem:
                error, status = str(problem), 429
            except AppointmentError as problem:
                error = str(problem)
            else:
                return redirect("calendar:waitlist-sent" if waitlist else "calendar:booking-sent", page.slug)
    now = timezone.now()
    slots = appointments.access_free_slots(page, now)
    return render(request, "calendar/public/booking.html", {
        "page": page, "days": _by_day(slots), "form": form, "error": error, "chosen": chosen,
        "full": not slots and appointments.access_page_full(page, now),
    }, status=status)


def _sent(slug: str, request: HttpRequest, template: str) -> HttpResponse:
    """Said whatever the address: no hint whether it already booked or waits (no enumeration)."""
    try:
        page = appointments.access_public_page(slug)
    except PageNotFound as problem:
        raise Http404(str(problem)) from None
    return render(request, template, {"page": page})


@secured
def booking_sent(request: HttpRequest, slug: str) -> HttpResponse:
    return _sent(slug, request, "calendar/public/sent.html")


@secured
@require_http_methods(["GET", "POST"])
def booking_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; the POST confirms (mail scanners follow links)."""
    if request.method == "POST":
        try:
            booking, manage = appointments.check_confirm_booking(token)
        except LinkInvalid as problem:
            return render(request, "calendar/public/invalid.html", {"error": str(problem)}, status=410)
        except AppointmentError as problem:
            return render(request, "calendar/public/invalid.html", {"error": str(problem), "retry": True},
                          status=409)
        return render(request, "calendar/public/manage.html", _manage_context(booking, manage, confirmed=True))
    return render(request, "calendar/public/confirm.html")


def _manage_context(booking: object, token: str, **extra: object) -> dict[str, object]:
    assert isinstance(booking, appointments.Booking)
    return {
        "booking": booking, "page": booking.page, "token": token,
        "start": booking.starts_at.astimezone(events.PARIS), "end": booking.ends_at.astimezone(events.PARIS),
        "days": _by_day([s for s in appointments.access_free_slots(booking.page, timezone.now())
                         if s.start != booking.starts_at]),
        **extra,
    }


@secured
@require_http_methods(["GET", "POST"])
def booking_manage(request: HttpRequest, token: str) -> HttpResponse:
    """The parent's link: see the booking, change its slot or cancel it."""
    try:
        booking = appointments.access_by_manage_link(token)
    except LinkInvalid as problem:
        return render(request, "calendar/public/invalid.html", {"error": str(problem)}, status=410)
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "annuler":
                appointments.check_cancel_by_parent(token)
                return render(request, "calendar/public/cancelled.html", {"page": booking.page})
            booking = appointments.check_move_booking(token, request.POST.get("slot", ""))
        except LinkInvalid as problem:
            return render(request, "calendar/public/invalid.html", {"error": str(problem)}, status=410)
        except AppointmentError as problem:
            error = str(problem)
        else:
            return render(request, "calendar/public/manage.html", _manage_context(booking, token, moved=True))
    return render(request, "calendar/public/manage.html", _manage_context(booking, token, error=error))


# --- the waiting list (no account) ----------------------------------------------------------------


@secured
def waitlist_sent(request: HttpRequest, slug: str) -> HttpResponse:
    return _sent(slug, request, "calendar/public/waitlist_sent.html")


@secured
@require_http_methods(["GET", "POST"])
def waitlist_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; the POST puts the parent on the list (once)."""
    if request.method == "POST":
        try:
            waiter = appointments.check_confirm_waiter(token)
        except LinkInvalid as problem:
            return render(request, "calendar/public/invalid.html", {"error": str(problem)}, status=410)
        return render(request, "calendar/public/waitlist_confirm.html", {"page": waiter.page, "done": True})
    return render(request, "calendar/public/waitlist_confirm.html")


@secured
@require_http_methods(["GET", "POST"])
def booking_offer(request: HttpRequest, token: str) -> HttpResponse:
    """A seat held for a waiter: GET shows it, the POST takes it or leaves it to the next one."""
    try:
        offer = appointments.access_offer(token)
        if request.method == "POST":
            if request.POST.get("action") == "prendre":
                booking, manage = appointments.check_accept_offer(token)
                return render(request, "calendar/public/manage.html",
                              _manage_context(booking, manage, confirmed=True))
            if request.POST.get("action") == "laisser":
                appointments.check_decline_offer(token)
                return render(request, "calendar/public/offer.html", {"page": offer.page, "declined": True})
    except LinkInvalid as problem:
        return render(request, "calendar/public/invalid.html", {"error": str(problem)}, status=410)
    return render(request, "calendar/public/offer.html", {
        "page": offer.page, "offer": offer, "start": offer.starts_at.astimezone(events.PARIS),
        "end": offer.ends_at.astimezone(events.PARIS),
        "until": offer.offered_until.astimezone(events.PARIS) if offer.offered_until else None})
