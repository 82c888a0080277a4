"""Appointment booking ("prise de rendez-vous"), for parent–teacher meetings.

A teacher publishes a page (``AppointmentPage``): opening hours
(``AppointmentRange``), slot length and break, place or video link, bookings
per slot, a booking deadline and an optional question. Parents book from its
public link, without an account:

1. ``check_request_booking`` records a *pending* booking and mails a
   confirmation link. It holds nothing, so requests nobody confirms cannot
   block a slot; requests are limited per address and per network address,
   and the answer is the same whatever the address (no enumeration).
2. ``check_confirm_booking`` (the link, single-use, expiring) takes a free
   seat of the slot. The unique (page, slot, seat) constraint makes a double
   booking impossible however many confirmations race; on PostgreSQL the
   page row is also locked (``select_for_update``) so racers wait rather than
   fail, SQLite's IMMEDIATE transactions serialise them anyway.
   The booking is then written into the teacher's calendar in Radicale (so the
   webmail agenda and a phone synced over CalDAV show it) and the parent gets a
   confirmation with an ``.ics`` and a link to cancel or change (valid until
   the meeting ends).
3. The worker reminds both sides the day before (``do_send_reminders``) and
   writes any confirmed booking whose calendar write failed
   (``do_write_missing_events``): the seat in the database is the truth.
4. When no slot is free, parents join the page's waiting list
   (``check_join_waitlist``, confirmed by a mailed single-use link like a
   booking). A seat freed by a cancellation or a move is offered to the first
   confirmed waiter (``_offer_freed``): an OFFERED booking that holds the seat
   (so the public page does not give it away) for
   ``ACADEMAIL_BOOKING_OFFER_SECONDS``, with a mailed single-use link to take
   or decline it. A declined offer, or one the worker finds expired
   (``do_pass_expired_offers``), goes to the next waiter.

The public never sees directory data: the page shows what the teacher typed
(title, the name they chose, place, text), and mails come from the platform's
address, never the teacher's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import TypeVar

import icalendar
from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from academail.accounts.models import Account
from academail.calendar import events
from academail.calendar.events import PARIS, AgendaError
from academail.calendar.models import (
    AppointmentPage,
    AppointmentRange,
    Booking,
    BookingState,
    Waiter,
    WaiterState,
)
from academail.delivery.route import do_send_platform_mail

log = logging.getLogger(__name__)
_Row = TypeVar("_Row", bound=models.Model)

MAX_SLOTS = 400  # per page: a few evenings of 5-minute slots
MAX_RANGES = 20
MAX_DAYS_AHEAD = 366
SLOT_MINUTES = (5, 10, 15, 20, 30, 45, 60)
MAX_CAPACITY = 20
REMINDER_BEFORE = dt.timedelta(hours=24)


class AppointmentError(AgendaError):
    """A refused request; ``str()`` is for the person, in their language."""


class PageNotFound(AppointmentError):
    """No such page for this person (or no such public page): the view answers 404."""


class LinkInvalid(AppointmentError):
    """A confirmation or management link that is unknown, used or expired."""


class RateLimited(AppointmentError):
    pass


@dataclass(frozen=True)
class Slot:
    start: dt.datetime  # Europe/Paris
    end: dt.datetime
    free: int = 0

    @property
    def key(self) -> str:
        """The slot as a form sends it back."""
        return self.start.isoformat()


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# Refusals said from more than one place.
SLOT_GONE = gettext_lazy("Ce créneau n'est plus disponible : choisissez-en un autre.")
SLOT_TAKEN = gettext_lazy("Ce créneau vient d'être réservé par quelqu'un d'autre : choisissez-en un autre.")
LINK_EXPIRED = gettext_lazy("Ce lien de confirmation n'est plus valable : refaites votre demande depuis la "
                            "page de rendez-vous.")
OFFER_ANSWERED = gettext_lazy("Cette proposition a déjà reçu une réponse : si vous avez pris la place, le "
                              "courriel de confirmation donne le lien pour gérer votre rendez-vous.")


# --- the teacher's pages ------------------------------------------------------------------------


@dataclass
class PageDraft:
    title: str = ""
    host: str = ""
    description: str = ""
    place: str = ""
    video_url: str = ""
    slot_minutes: int = 15
    break_minutes: int = 5
    capacity: int = 1
    deadline_hours: int = 24
    question: str = ""
    calendar: str = "agenda"
    active: bool = True


def access_own_pages(owner: Account) -> list[AppointmentPage]:
    return list(AppointmentPage.objects.filter(owner=owner).order_by("-created_at")[:100])


def access_own_page(owner: Account, page_id: int) -> AppointmentPage:
    page = AppointmentPage.objects.filter(owner=owner, pk=page_id).first()
    if page is None:
        raise PageNotFound(_("Cette page de rendez-vous n'existe pas ou plus : revenez à la liste de vos pages."))
    return page


def check_save_page(owner: Account, draft: PageDraft, page_id: int | None = None) -> AppointmentPage:
    """Create (``page_id`` None) or update one of the owner's pages."""
    title = " ".join(draft.title.split())[:200]
    if not title:
        raise AppointmentError(_("Donnez un titre à la page, par exemple « Rencontres parents-professeurs »."))
    host = " ".join(draft.host.split())[:200] or owner.full_name
    if draft.slot_minutes not in SLOT_MINUTES:
        raise AppointmentError(_("Choisissez une durée de rendez-vous de la liste."))
    if not 0 <= draft.break_minutes <= 60:
        raise AppointmentError(_("Indiquez une pause entre deux rendez-vous de 0 à 60 minutes."))
    if not 1 <= draft.capacity <= MAX_CAPACITY:
        raise AppointmentError(_("Indiquez un nombre de réservations par créneau de 1 à %(most)s.")
                               % {"most": MAX_CAPACITY})
    if not 0 <= draft.deadline_hours <= 24 * 14:
        raise AppointmentError(_("Indiquez un délai de réservation de 0 à 336 heures (deux semaines)."))
    video = draft.video_url.strip()
    if video and not video.startswith("https://"):
        raise AppointmentError(_("Le lien de visioconférence doit commencer par https:// : "
                                 "copiez-le en entier depuis l'outil de visioconférence."))
    if draft.calendar not in {c.name for c in events.access_calendars(owner)}:
        raise AppointmentError(_("Choisissez un de vos agendas."))
    page = access_own_page(owner, page_id) if page_id is not None else AppointmentPage(
        owner=owner, slug=secrets.token_urlsafe(12), created_at=timezone.now())
    page.title, page.host = title, host
    page.description = draft.description.strip()[:2000]
    page.place = " ".join(draft.place.split())[:200]
    page.video_url = video[:500]
    page.slot_minutes, page.break_minutes = draft.slot_minutes, draft.break_minutes
    page.capacity, page.deadline_hours = draft.capacity, draft.deadline_hours
    page.question = " ".join(draft.question.split())[:200]
    page.calendar, page.active = draft.calendar, draft.active
    page.save()
    return page


def check_add_range(owner: Account, page_id: int, first_day: dt.date, last_day: dt.date,
                    start_time: dt.time, end_time: dt.time, *, today: dt.date) -> AppointmentRange:
    page = access_own_page(owner, page_id)
    if last_day < first_day:
        raise AppointmentError(_("Le dernier jour doit suivre le premier : corrigez les dates de la plage."))
    if first_day < today:
        raise AppointmentError(_("Choisissez des jours à venir."))
    if last_day > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise AppointmentError(_("Les rendez-vous s'ouvrent au plus un an à l'avance : choisissez un dernier "
                                 "jour plus proche."))
    if end_time <= start_time:
        raise AppointmentError(_("L'heure de fin doit suivre l'heure de début : corrigez les heures de la plage."))
    if page.ranges.count() >= MAX_RANGES:
        raise AppointmentError(_("Une page compte au plus %(most)s plages horaires : retirez-en une avant "
                                 "d'en ajouter une autre.") % {"most": MAX_RANGES})
    row = AppointmentRange.objects.create(page=page, first_day=first_day, last_day=last_day,
                                          start_time=start_time, end_time=end_time)
    if len(slots_of(page)) >= MAX_SLOTS:
        row.delete()
        raise AppointmentError(_("Une page compte au plus %(most)s créneaux : raccourcissez la plage "
                                 "ou allongez les rendez-vous.") % {"most": MAX_SLOTS})
    return row


def do_delete_range(owner: Account, page_id: int, range_id: int) -> None:
    """Remove opening hours; bookings already confirmed in them stay."""
    AppointmentRange.objects.filter(page=access_own_page(owner, page_id), pk=range_id).delete()


def _days(row: AppointmentRange) -> list[dt.date]:
    if row.first_day == row.last_day:
        return [row.first_day]
    count = (row.last_day - row.first_day).days + 1
    days = (row.first_day + dt.timedelta(days=n) for n in range(min(count, MAX_DAYS_AHEAD)))
    return [day for day in days if day.weekday() < 5]  # school days: Monday to Friday


def slots_of(page: AppointmentPage) -> list[Slot]:
    """Every slot of the page, in order (at most ``MAX_SLOTS``). Wall-clock
    times in Europe/Paris, so a slot at 17:00 stays at 17:00 across DST."""
    length = dt.timedelta(minutes=page.slot_minutes)
    step = length + dt.timedelta(minutes=page.break_minutes)
    found: set[tuple[dt.datetime, dt.datetime]] = set()
    for row in page.ranges.all().order_by("first_day", "start_time"):
        for day in _days(row):
            start = dt.datetime.combine(day, row.start_time, PARIS)
            close = dt.datetime.combine(day, row.end_time, PARIS)
            while start + length <= close and len(found) <= MAX_SLOTS:
                found.add((start, start + length))
                start += step
    return [Slot(start, end) for start, end in sorted(found)[:MAX_SLOTS]]


@dataclass(frozen=True)
class BookingRow:
    booking: Booking
    start: dt.datetime  # Europe/Paris


def access_page_bookings(owner: Account, page_id: int) -> list[BookingRow]:
    """The page's confirmed bookings, coming ones first."""
    page = access_own_page(owner, page_id)
    rows = Booking.objects.filter(page=page, state=BookingState.CONFIRMED).order_by("starts_at")[:MAX_SLOTS * MAX_CAPACITY]
    return [BookingRow(b, b.starts_at.astimezone(PARIS)) for b in rows]


def public_url(page: AppointmentPage) -> str:
    return settings.PUBLIC_URL + reverse("calendar:booking-page", args=[page.slug])


# --- the public side ------------------------------------------------------------------------------


def access_public_page(slug: str) -> AppointmentPage:
    """An active page by its public slug; the same refusal for unknown and closed ones."""
    page = AppointmentPage.objects.filter(slug=slug, active=True).select_related("owner").first() if slug else None
    if page is None or not page.owner.is_active:
        raise PageNotFound(_("Cette page de rendez-vous n'existe pas ou n'est plus ouverte : vérifiez le lien "
                             "reçu, ou demandez-en un nouveau à l'enseignant."))
    return page


def _taken(page: AppointmentPage, starts: list[dt.datetime]) -> dict[dt.datetime, int]:
    if not starts:
        return {}
    counts: dict[dt.datetime, int] = {}
    held = Booking.objects.filter(page=page, seat__isnull=False, starts_at__gte=starts[0], starts_at__lte=starts[-1])
    for start in held.values_list("starts_at", flat=True):
        counts[start] = counts.get(start, 0) + 1
    return counts


def _own_uid_prefix(page: AppointmentPage) -> str:
    return f"rdv-{page.pk}-"


def access_free_slots(page: AppointmentPage, now: dt.datetime) -> list[Slot]:
    """The slots a parent may still book: after the deadline, with a seat
    left, and not over another event of the teacher's agenda (bookings of
    this page excepted: they are counted as seats)."""
    opening = now + dt.timedelta(hours=page.deadline_hours)
    slots = [s for s in slots_of(page) if s.start > opening]
    if not slots:
        return []
    taken = _taken(page, [s.start for s in slots])
    busy = [(o.start, o.end) for o in events.access_occurrences(page.owner, slots[0].start, slots[-1].end)
            if not o.all_day and not o.uid.startswith(_own_uid_prefix(page))]
    free = []
    for slot in slots:
        if any(begin < slot.end and slot.start < end for begin, end in busy):
            continue
        left = page.capacity - taken.get(slot.start, 0)
        if left > 0:
            free.append(Slot(slot.start, slot.end, left))
    return free


def _find_slot(page: AppointmentPage, key: str, now: dt.datetime) -> Slot:
    try:
        wanted = dt.datetime.fromisoformat(key)
    except ValueError:
        wanted = None
    slot = next((s for s in access_free_slots(page, now) if s.start == wanted), None) if wanted else None
    if slot is None:
        raise AppointmentError(SLOT_GONE)
    return slot


def _rate_check(email: str, remote_addr: str, now: dt.datetime) -> None:
    hour_ago = now - dt.timedelta(hours=1)
    asked = Booking.objects.filter(email=email, created_at__gt=hour_ago, waiter__isnull=True).count() + \
        Waiter.objects.filter(email=email, created_at__gt=hour_ago).count()
    if asked >= settings.BOOKINGS_PER_ADDRESS_HOUR:
        raise RateLimited(_("Plusieurs demandes de rendez-vous ont déjà été faites pour cette adresse : "
                            "confirmez celle que vous avez reçue par courriel, ou réessayez dans une heure."))
    if remote_addr and Booking.objects.filter(remote_addr=remote_addr, created_at__gt=hour_ago).count() + \
            Waiter.objects.filter(remote_addr=remote_addr, created_at__gt=hour_ago).count() >= settings.BOOKINGS_PER_IP_HOUR:
        raise RateLimited(_("Trop de demandes de rendez-vous depuis cette connexion : réessayez dans une heure."))


def _clean_request(page: AppointmentPage, email: str, name: str, answer: str, remote_addr: str,
                   now: dt.datetime) -> tuple[str, str, str]:
    """A parent's name, address and answer, checked and within the limits (booking or waiting list alike)."""
    from academail.accounts.services import clean_secondary_address

    name = " ".join(name.split())[:200]
    if not name:
        raise AppointmentError(_("Indiquez votre nom."))
    try:
        # The rule of recovery addresses (valid, outside the académie's
        # domains); its refusal speaks of a recovery address, not to a parent.
        email = clean_secondary_address(email)
    except ValueError:
        email = ""
    if not email:
        raise AppointmentError(_("Indiquez une adresse électronique personnelle, par exemple "
                                 "prenom.nom@exemple.fr ; les adresses de la messagerie académique ne "
                                 "conviennent pas ici."))
    answer = " ".join(answer.split())[:500]
    if page.question and not answer:
        raise AppointmentError(_("Répondez à la question : « %(question)s ».") % {"question": page.question})
    _rate_check(email, remote_addr, now)
    return email, name, answer


def check_request_booking(page: AppointmentPage, slot_key: str, *, email: str, name: str, answer: str,
                          remote_addr: str, now: dt.datetime | None = None) -> str:
    """A parent asks for a slot: a pending booking and a mail with the
    confirmation link. Nothing is held until the link is used. Returns the
    link's secret (the page shows nothing of it; the demo confirms with it).
    Raises AppointmentError (in the person's language) for bad input, RateLimited past the limits."""
    now = now or timezone.now()
    email, name, answer = _clean_request(page, email, name, answer, remote_addr, now)
    slot = _find_slot(page, slot_key, now)
    raw = secrets.token_urlsafe(24)
    booking = Booking.objects.create(
        page=page, starts_at=slot.start, ends_at=slot.end, email=email, name=name, answer=answer,
        confirm_hash=_hash(raw), remote_addr=remote_addr or None, created_at=now)
    _mail(booking, "confirm", [email], url=settings.PUBLIC_URL + reverse("calendar:booking-confirm", args=[raw]))
    return raw


def check_confirm_booking(raw: str, *, now: dt.datetime | None = None) -> tuple[Booking, str]:
    """The parent used the confirmation link: take a seat of the slot (see the
    module's docstring for why two racers cannot both win), write the event
    into the teacher's calendar, mail the confirmation with its ``.ics``.
    Returns the booking and its management secret. The link works once."""
    now = now or timezone.now()
    manage = secrets.token_urlsafe(24)
    expired = now - dt.timedelta(seconds=settings.BOOKING_CONFIRM_SECONDS)
    booking = Booking.objects.filter(confirm_hash=_hash(raw), state=BookingState.PENDING).first() if raw else None
    if booking is None or booking.created_at < expired:
        raise LinkInvalid(LINK_EXPIRED)
    try:
        with transaction.atomic():
            page = _locked(AppointmentPage.objects.filter(pk=booking.page_id)).select_related("owner").get()
            booking.page = page
            # Under the page's lock: a second click of the same link finds it used.
            if not Booking.objects.filter(pk=booking.pk, confirm_hash=booking.confirm_hash).update(confirm_hash=""):
                raise LinkInvalid(_("Ce lien de confirmation a déjà servi : si votre rendez-vous est confirmé, "
                                    "le courriel de confirmation donne le lien pour le changer ou l'annuler ; "
                                    "sinon, refaites votre demande depuis la page de rendez-vous."))
            if Booking.objects.filter(page=page, email=booking.email, state=BookingState.CONFIRMED,
                                      ends_at__gt=now).exists():
                raise AppointmentError(_("Vous avez déjà un rendez-vous sur cette page : utilisez le lien reçu "
                                         "par courriel pour le changer ou l'annuler."))
            _take_seat(booking, page, now)
            booking.state, booking.confirmed_at = BookingState.CONFIRMED, now
            booking.confirm_hash, booking.manage_hash = "", _hash(manage)
            booking.save(update_fields=["seat", "state", "confirmed_at", "confirm_hash", "manage_hash"])
    except LinkInvalid:
        raise
    except AppointmentError:
        # The link is spent all the same (single use); the parent chooses again.
        Booking.objects.filter(pk=booking.pk).update(confirm_hash="", state=BookingState.CANCELLED, cancelled_at=now)
        raise
    _write_event(booking)
    _mail(booking, "confirmed", [booking.email], url=manage_url(manage), ics="REQUEST")
    return booking, manage


def _locked(rows: QuerySet[_Row]) -> QuerySet[_Row]:
    """``rows`` locked until the transaction ends (PostgreSQL; SQLite's IMMEDIATE
    transaction already holds the database's write lock)."""
    return rows.select_for_update() if connection.features.has_select_for_update else rows


def _take_seat(booking: Booking, page: AppointmentPage, now: dt.datetime) -> None:
    """Give ``booking`` a free seat of its slot. Precondition: inside a
    transaction holding the page row's lock (PostgreSQL) or the write lock
    (SQLite). Raises AppointmentError when the slot is full or closed."""
    if not page.active or booking.starts_at <= now + dt.timedelta(hours=page.deadline_hours):
        raise AppointmentError(_("Les réservations de ce créneau sont closes : choisissez-en un autre."))
    taken = set(Booking.objects.filter(page=page, starts_at=booking.starts_at, seat__isnull=False)
                .exclude(pk=booking.pk).values_list("seat", flat=True))
    seat = next((n for n in range(page.capacity) if n not in taken), None)
    if seat is None:
        raise AppointmentError(SLOT_TAKEN)
    booking.seat = seat
    try:
        with transaction.atomic():  # a savepoint: the constraint is the last word
            Booking.objects.filter(pk=booking.pk).update(seat=seat)
    except IntegrityError:
        raise AppointmentError(SLOT_TAKEN) from None


def manage_url(raw: str) -> str:
    return settings.PUBLIC_URL + reverse("calendar:booking-manage", args=[raw])


def access_by_manage_link(raw: str, *, now: dt.datetime | None = None) -> Booking:
    """The confirmed booking of a management link, until the meeting ends."""
    now = now or timezone.now()
    booking = Booking.objects.filter(manage_hash=_hash(raw), state=BookingState.CONFIRMED).select_related(
        "page", "page__owner").first() if raw else None
    if booking is None or booking.ends_at <= now:
        raise LinkInvalid(_("Ce lien n'est plus valable : le rendez-vous est passé ou a été annulé. "
                            "Pour un nouveau rendez-vous, repartez du lien de la page de rendez-vous."))
    return booking


def check_cancel_by_parent(raw: str, *, now: dt.datetime | None = None) -> Booking:
    booking = access_by_manage_link(raw, now=now)
    _cancel(booking, now or timezone.now())
    _mail(booking, "cancelled", [booking.email], ics="CANCEL")
    _mail(booking, "cancelled_owner", [booking.page.owner.address])
    return booking


def check_cancel_by_owner(owner: Account, page_id: int, booking_id: int) -> Booking:
    page = access_own_page(owner, page_id)
    booking = Booking.objects.filter(page=page, pk=booking_id, state=BookingState.CONFIRMED).first()
    if booking is None:
        raise AppointmentError(_("Ce rendez-vous n'existe pas ou est déjà annulé : rechargez la page pour "
                                 "voir la liste à jour."))
    booking.page = page
    _cancel(booking, timezone.now())
    _mail(booking, "cancelled_by_owner", [booking.email], ics="CANCEL")
    return booking


def _cancel(booking: Booking, now: dt.datetime) -> None:
    """Free the seat; the management link dies with it; the event leaves the agenda."""
    booking.sequence += 1
    updated = Booking.objects.filter(pk=booking.pk, state=BookingState.CONFIRMED).update(
        state=BookingState.CANCELLED, seat=None, manage_hash="", cancelled_at=now, sequence=booking.sequence)
    if not updated:
        raise LinkInvalid(_("Ce rendez-vous est déjà annulé : vous n'avez rien à faire."))
    if booking.event_href:
        try:
            events.do_delete_event(booking.page.owner, booking.page.calendar, booking.event_href)
        except AgendaError:
            log.warning("booking %s: its event could not be removed from the agenda", booking.pk)
    _offer_freed(booking.page, booking.starts_at, booking.ends_at, now)


def check_move_booking(raw: str, slot_key: str, *, now: dt.datetime | None = None) -> Booking:
    """The parent changes slot from the management link: the new seat is
    taken and the old one freed in one transaction (no moment without one,
    no moment with two); the agenda event moves; a new confirmation goes out."""
    now = now or timezone.now()
    booking = access_by_manage_link(raw, now=now)
    page = booking.page
    slot = _find_slot(page, slot_key, now)
    old_start, old_end = booking.starts_at, booking.ends_at
    with transaction.atomic():
        _locked(AppointmentPage.objects.filter(pk=page.pk)).get()
        current = _locked(Booking.objects.filter(pk=booking.pk, state=BookingState.CONFIRMED)).first()
        if current is None:
            raise LinkInvalid(_("Ce rendez-vous a été annulé : pour en prendre un autre, repartez du lien de "
                                "la page de rendez-vous."))
        booking.starts_at, booking.ends_at = slot.start, slot.end
        booking.sequence = current.sequence + 1
        Booking.objects.filter(pk=booking.pk).update(seat=None, starts_at=slot.start, ends_at=slot.end,
                                                     reminded_at=None, sequence=booking.sequence)
        _take_seat(booking, page, now)
    _write_event(booking)
    _mail(booking, "confirmed", [booking.email], url=manage_url(raw), ics="REQUEST")
    _offer_freed(page, old_start, old_end, now)
    return booking


# --- the waiting list ------------------------------------------------------------------------------


def access_page_full(page: AppointmentPage, now: dt.datetime) -> bool:
    """Every slot still open to booking is taken: the public page offers the waiting list."""
    opening = now + dt.timedelta(hours=page.deadline_hours)
    return any(s.start > opening for s in slots_of(page)) and not access_free_slots(page, now)


def check_join_waitlist(page: AppointmentPage, *, email: str, name: str, answer: str, remote_addr: str,
                        now: dt.datetime | None = None) -> str:
    """A parent asks to join a full page's waiting list: a pending row and a
    mail with its confirmation link (single use, ``BOOKING_CONFIRM_SECONDS``).
    The same limits and the same answer whatever the address as a booking."""
    now = now or timezone.now()
    email, name, answer = _clean_request(page, email, name, answer, remote_addr, now)
    if not access_page_full(page, now):
        raise AppointmentError(_("Des créneaux sont libres : choisissez-en un plutôt que la liste d'attente."))
    raw = secrets.token_urlsafe(24)
    waiter = Waiter.objects.create(page=page, email=email, name=name, answer=answer, confirm_hash=_hash(raw),
                                   remote_addr=remote_addr or None, created_at=now)
    _mail(waiter, "waitlist_confirm", [email],
          url=settings.PUBLIC_URL + reverse("calendar:waitlist-confirm", args=[raw]))
    return raw


def check_confirm_waiter(raw: str, *, now: dt.datetime | None = None) -> Waiter:
    """The waiting-list link: the parent joins the queue (once; the link dies)."""
    now = now or timezone.now()
    expired = now - dt.timedelta(seconds=settings.BOOKING_CONFIRM_SECONDS)
    waiter = Waiter.objects.filter(confirm_hash=_hash(raw), state=WaiterState.PENDING).select_related(
        "page").first() if raw else None
    if waiter is None or waiter.created_at < expired or not Waiter.objects.filter(
            pk=waiter.pk, confirm_hash=waiter.confirm_hash, state=WaiterState.PENDING).update(
            confirm_hash="", state=WaiterState.WAITING, confirmed_at=now):
        raise LinkInvalid(LINK_EXPIRED)
    if Waiter.objects.filter(page=waiter.page, email=waiter.email,
                             state__in=[WaiterState.WAITING, WaiterState.OFFERED]).exclude(pk=waiter.pk).exists():
        # Already queued: keep the earlier place rather than a second one.
        Waiter.objects.filter(pk=waiter.pk).update(state=WaiterState.LEFT)
    return waiter


def _offer_freed(page: AppointmentPage, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> None:
    """A seat of this slot was freed: hold it for the first confirmed waiter
    (an OFFERED booking with the seat) and mail them the link. Nothing when
    nobody waits or the slot's booking has closed; the hold never outlasts
    the slot's booking deadline."""
    closing = starts_at - dt.timedelta(hours=page.deadline_hours)
    until = min(now + dt.timedelta(seconds=settings.BOOKING_OFFER_SECONDS), closing)
    if not page.active or until <= now:
        return
    queue = Waiter.objects.filter(page=page, state=WaiterState.WAITING).order_by("confirmed_at", "pk")
    for waiter in queue[:20]:
        # Claimed first: two freed seats at once never go to the same waiter.
        if not Waiter.objects.filter(pk=waiter.pk, state=WaiterState.WAITING).update(state=WaiterState.OFFERED):
            continue
        raw = secrets.token_urlsafe(24)
        offer = Booking.objects.create(
            page=page, starts_at=starts_at, ends_at=ends_at, email=waiter.email, name=waiter.name,
            answer=waiter.answer, state=BookingState.OFFERED, confirm_hash=_hash(raw), offered_until=until,
            waiter=waiter, created_at=now)
        try:
            with transaction.atomic():
                _locked(AppointmentPage.objects.filter(pk=page.pk)).get()
                _take_seat(offer, page, now)
        except AppointmentError:  # someone confirmed a request for the seat meanwhile
            offer.delete()
            Waiter.objects.filter(pk=waiter.pk).update(state=WaiterState.WAITING)
            return
        _mail(offer, "offer", [offer.email], url=settings.PUBLIC_URL + reverse("calendar:booking-offer", args=[raw]))
        return


def access_offer(raw: str, *, now: dt.datetime | None = None) -> Booking:
    """The held seat of an offer link, while it is held."""
    now = now or timezone.now()
    offer = Booking.objects.filter(confirm_hash=_hash(raw), state=BookingState.OFFERED).select_related(
        "page", "page__owner").first() if raw else None
    if offer is None or offer.offered_until is None or offer.offered_until <= now:
        raise LinkInvalid(_("Cette proposition n'est plus valable : la place a été prise, laissée ou proposée "
                            "au parent suivant. Vous pouvez vous réinscrire sur la liste d'attente depuis la "
                            "page de rendez-vous."))
    return offer


def check_accept_offer(raw: str, *, now: dt.datetime | None = None) -> tuple[Booking, str]:
    """The waiter takes the held seat: the offer becomes a confirmed booking
    (agenda event, confirmation with ``.ics`` and management link). Once."""
    now = now or timezone.now()
    offer = access_offer(raw, now=now)
    manage = secrets.token_urlsafe(24)
    taken = Booking.objects.filter(pk=offer.pk, state=BookingState.OFFERED, confirm_hash=offer.confirm_hash,
                                   offered_until__gt=now).update(
        state=BookingState.CONFIRMED, confirm_hash="", manage_hash=_hash(manage), confirmed_at=now)
    if not taken:
        raise LinkInvalid(OFFER_ANSWERED)
    Waiter.objects.filter(pk=offer.waiter_id).update(state=WaiterState.BOOKED)
    offer.state, offer.confirmed_at = BookingState.CONFIRMED, now
    _write_event(offer)
    _mail(offer, "confirmed", [offer.email], url=manage_url(manage), ics="REQUEST")
    return offer, manage


def _release_offer(offer: Booking, now: dt.datetime) -> bool:
    """Free an offer's seat and take its waiter off the list; False when it was answered meanwhile."""
    if not Booking.objects.filter(pk=offer.pk, state=BookingState.OFFERED, confirm_hash=offer.confirm_hash).update(
            state=BookingState.CANCELLED, seat=None, confirm_hash="", cancelled_at=now):
        return False
    Waiter.objects.filter(pk=offer.waiter_id, state=WaiterState.OFFERED).update(state=WaiterState.LEFT)
    return True


def check_decline_offer(raw: str, *, now: dt.datetime | None = None) -> Booking:
    """The waiter leaves the seat: it goes to the next waiter at once."""
    now = now or timezone.now()
    offer = access_offer(raw, now=now)
    if not _release_offer(offer, now):
        raise LinkInvalid(OFFER_ANSWERED)
    _offer_freed(offer.page, offer.starts_at, offer.ends_at, now)
    return offer


def do_pass_expired_offers(now: dt.datetime | None = None) -> int:
    """Offers nobody answered in time: free the seat for the next waiter (the
    worker calls this hourly, with the reminders)."""
    now = now or timezone.now()
    expired = Booking.objects.filter(state=BookingState.OFFERED, offered_until__lte=now).select_related(
        "page", "page__owner").order_by("offered_until")[:500]
    passed = 0
    for offer in expired:
        if _release_offer(offer, now):
            passed += 1
            _offer_freed(offer.page, offer.starts_at, offer.ends_at, now)
    return passed


@dataclass(frozen=True)
class WaiterRow:
    waiter: Waiter
    offer_start: dt.datetime | None  # Europe/Paris, when a seat is held for them
    offered_until: dt.datetime | None


def access_page_waiters(owner: Account, page_id: int) -> list[WaiterRow]:
    """The page's waiting list for its teacher, in the order seats are offered."""
    page = access_own_page(owner, page_id)
    waiters = list(Waiter.objects.filter(page=page, state__in=[WaiterState.WAITING, WaiterState.OFFERED])
                   .order_by("confirmed_at", "pk")[:500])
    offers = {b.waiter_id: b for b in Booking.objects.filter(page=page, state=BookingState.OFFERED,
                                                             waiter__in=waiters)}
    rows = []
    for waiter in waiters:
        offer = offers.get(waiter.pk)
        rows.append(WaiterRow(waiter, offer.starts_at.astimezone(PARIS) if offer else None,
                              offer.offered_until.astimezone(PARIS) if offer and offer.offered_until else None))
    return rows


# --- the teacher's calendar ------------------------------------------------------------------------


def _uid(booking: Booking) -> str:
    return f"{_own_uid_prefix(booking.page)}{booking.pk}@{settings.MAIL_HOSTNAME}"


def _write_event(booking: Booking) -> None:
    """Write (or rewrite) the booking as an event of the owner's calendar, through
    Radicale like any write, so phones see it. A failure leaves ``event_href``
    empty and the worker's ``do_write_missing_events`` tries again."""
    page = booking.page
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//academail//rendez-vous//FR")
    calendar.add("VERSION", "2.0")
    calendar.add_component(icalendar.Timezone.from_ical(events.PARIS_VTIMEZONE))
    event = icalendar.Event()
    event.add("UID", _uid(booking))
    event.add("DTSTAMP", timezone.now())
    event.add("DTSTART", booking.starts_at.astimezone(PARIS))
    event.add("DTEND", booking.ends_at.astimezone(PARIS))
    event.add("SUMMARY", f"Rendez-vous : {booking.name}")
    lines = [page.title, f"Parent : {booking.name} <{booking.email}>"]
    if page.question and booking.answer:
        lines.append(f"{page.question} : {booking.answer}")
    event.add("DESCRIPTION", "\n".join(lines))
    if page.place or page.video_url:
        event.add("LOCATION", page.place or page.video_url)
    if page.video_url:
        event.add("URL", page.video_url)
    event.add("CATEGORIES", ["Rendez-vous"])
    calendar.add_component(event)
    href = booking.event_href or f"rdv-{booking.pk}.ics"
    try:
        events.do_put_event(page.owner, page.calendar, href, calendar)
    except AgendaError:
        log.warning("booking %s: the agenda write failed; the worker will try again", booking.pk)
        return
    if booking.event_href != href:
        booking.event_href = href
        Booking.objects.filter(pk=booking.pk).update(event_href=href)


def do_write_missing_events(limit: int = 200) -> int:
    """Confirmed, coming bookings whose agenda write failed: write them now."""
    rows = Booking.objects.filter(state=BookingState.CONFIRMED, event_href="", ends_at__gt=timezone.now()) \
        .select_related("page", "page__owner")[:limit]
    written = 0
    for booking in rows:
        _write_event(booking)
        written += bool(booking.event_href)
    return written


# --- mail ------------------------------------------------------------------------------------------

_SUBJECTS = {
    "confirm": "Confirmez votre rendez-vous : {title}",
    "confirmed": "Rendez-vous confirmé : {title}",
    "cancelled": "Rendez-vous annulé : {title}",
    "cancelled_by_owner": "Rendez-vous annulé : {title}",
    "cancelled_owner": "Un parent a annulé son rendez-vous : {title}",
    "reminder": "Rappel : rendez-vous demain, {title}",
    "reminder_owner": "Rappel : vos rendez-vous de demain, {title}",
    "waitlist_confirm": "Confirmez votre inscription sur la liste d'attente : {title}",
    "offer": "Une place s'est libérée : {title}",
}


def ics_bytes(booking: Booking, method: str) -> bytes:
    """The parent's copy (RFC 5546 REQUEST or CANCEL): organised by the
    platform (no teacher's address leaves); SEQUENCE grows with each move or
    cancellation (RFC 5546 §2.1.4), so the newest copy replaces the others."""
    page = booking.page
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//academail//rendez-vous//FR")
    calendar.add("VERSION", "2.0")
    calendar.add("METHOD", method)
    event = icalendar.Event()
    event.add("UID", _uid(booking))
    event.add("SEQUENCE", booking.sequence)
    event.add("DTSTAMP", timezone.now())
    event.add("DTSTART", booking.starts_at.astimezone(dt.UTC))
    event.add("DTEND", booking.ends_at.astimezone(dt.UTC))
    event.add("SUMMARY", f"{page.title} — {page.host}")
    if page.place or page.video_url:
        event.add("LOCATION", page.place or page.video_url)
    if page.video_url:
        event.add("URL", page.video_url)
    event.add("STATUS", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = icalendar.vCalAddress(f"mailto:{settings.DEFAULT_FROM_EMAIL}")
    organizer.params["CN"] = icalendar.vText(page.host)
    event.add("ORGANIZER", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{booking.email}")
    attendee.params["CN"] = icalendar.vText(booking.name)
    attendee.params["PARTSTAT"] = icalendar.vText("ACCEPTED")
    event.add("ATTENDEE", attendee)
    calendar.add_component(event)
    return calendar.to_ical()


def message_bytes(booking: Booking | Waiter, kind: str, recipients: list[str], *, url: str = "", ics: str = "",
                  day: list[Booking] | None = None) -> bytes:
    """The French mail of ``kind``; ``day``: the owner's reminder lists that day's bookings."""
    page = booking.page
    dated = isinstance(booking, Booking)
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string("calendar/email/booking.txt", {
            "kind": kind, "booking": booking, "page": page, "url": url,
            "start": booking.starts_at.astimezone(PARIS) if dated else None,
            "end": booking.ends_at.astimezone(PARIS) if dated else None,
            "until": booking.offered_until.astimezone(PARIS) if dated and booking.offered_until else None,
            "agenda_url": settings.PUBLIC_URL + reverse("calendar:appointments"),
            "day": [(b.starts_at.astimezone(PARIS), b) for b in day or []],
        })
    message = EmailMessage(policy=SMTP)
    message["From"] = settings.DEFAULT_FROM_EMAIL
    message["To"] = ", ".join(recipients)
    message["Subject"] = _SUBJECTS[kind].format(title=page.title)
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain=settings.MAIL_HOSTNAME)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5
    message.set_content(body)
    if ics and isinstance(booking, Booking):
        message.add_attachment(ics_bytes(booking, ics), maintype="text", subtype="calendar",
                               filename="rendez-vous.ics" if ics == "REQUEST" else "annulation.ics",
                               params={"method": ics, "charset": "utf-8"})
    return message.as_bytes()


def _mail(booking: Booking | Waiter, kind: str, recipients: list[str], *, url: str = "", ics: str = "",
          day: list[Booking] | None = None) -> None:
    """Send through the platform's one way out; a mail that cannot leave is
    logged (the booking itself is recorded either way)."""
    try:
        do_send_platform_mail(message_bytes(booking, kind, recipients, url=url, ics=ics, day=day),
                              mail_from=settings.DEFAULT_FROM_EMAIL, recipients=recipients)
    except Exception:  # noqa: BLE001 - the booking is recorded whatever the route raises
        log.exception("booking %s: the %s mail could not be sent", booking.pk, kind)


def do_send_reminders(now: dt.datetime | None = None) -> int:
    """The day before: each parent gets a reminder, and each teacher one
    mail listing the next day's bookings of a page. Once each (the
    conditional update claims a booking); the worker calls this hourly."""
    now = now or timezone.now()
    due = list(Booking.objects.filter(state=BookingState.CONFIRMED, reminded_at__isnull=True,
                                      starts_at__gt=now, starts_at__lte=now + REMINDER_BEFORE)
               .values_list("pk", flat=True)[:1000])
    claimed: list[Booking] = []
    for pk in due:
        if Booking.objects.filter(pk=pk, reminded_at__isnull=True, state=BookingState.CONFIRMED).update(reminded_at=now):
            claimed.append(Booking.objects.select_related("page", "page__owner").get(pk=pk))
    by_page: dict[int, list[Booking]] = {}
    for booking in claimed:
        _mail(booking, "reminder", [booking.email], ics="REQUEST")
        by_page.setdefault(booking.page_id, []).append(booking)
    for bookings in by_page.values():
        bookings.sort(key=lambda b: b.starts_at)
        _mail(bookings[0], "reminder_owner", [bookings[0].page.owner.address], day=bookings)
    return len(claimed)
