"""The agenda's own tables: appointment pages ("prise de rendez-vous") and
their bookings. Events themselves live in Radicale's collections
(``calendar.dav``); a confirmed booking is also an event of its owner's
calendar (``Booking.event_href``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AppointmentPage(models.Model):
    """A teacher's public booking page. ``slug`` is random (the public link
    names no person and cannot be guessed from another one)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    slug = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=200)
    host = models.CharField(max_length=200)  # how the page names the teacher, as they typed it
    description = models.TextField(blank=True)
    place = models.CharField(max_length=200, blank=True)
    video_url = models.URLField(max_length=500, blank=True)
    slot_minutes = models.PositiveSmallIntegerField(default=15)
    break_minutes = models.PositiveSmallIntegerField(default=5)
    capacity = models.PositiveSmallIntegerField(default=1)  # bookings per slot
    deadline_hours = models.PositiveSmallIntegerField(default=24)  # booking closes this long before a slot
    question = models.CharField(max_length=200, blank=True)
    calendar = models.CharField(max_length=64, default="agenda")  # the owner's collection for bookings
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["owner", "created_at"], name="agenda_page_owner")]


class AppointmentRange(models.Model):
    """Opening hours of a page: every school day (Monday to Friday) from
    ``first_day`` to ``last_day``, or that one day whatever it is, from
    ``start_time`` to ``end_time`` (Europe/Paris)."""

    page = models.ForeignKey(AppointmentPage, on_delete=models.CASCADE, related_name="ranges")
    first_day = models.DateField()
    last_day = models.DateField()
    start_time = models.TimeField()
    end_time = models.TimeField()


class BookingState(models.TextChoices):
    PENDING = "pending", "en attente de confirmation"
    CONFIRMED = "confirmed", "confirmé"
    CANCELLED = "cancelled", "annulé"
    OFFERED = "offered", "proposé à la liste d'attente"


class Booking(models.Model):
    """A parent's booking of one slot. A pending booking holds nothing: its
    ``seat`` is set when the mailed link is confirmed, and the unique
    (page, slot, seat) constraint is what forbids a double booking, whatever
    the database and however many requests race (NULL seats never collide)."""

    page = models.ForeignKey(AppointmentPage, on_delete=models.CASCADE, related_name="bookings")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    email = models.CharField(max_length=254)
    name = models.CharField(max_length=200)
    answer = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=16, choices=BookingState.choices, default=BookingState.PENDING)
    seat = models.PositiveSmallIntegerField(null=True, blank=True)
    # SHA-256 of the mailed secrets; the secrets themselves are never stored.
    confirm_hash = models.CharField(max_length=64, blank=True)
    manage_hash = models.CharField(max_length=64, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    event_href = models.CharField(max_length=64, blank=True)
    sequence = models.PositiveIntegerField(default=0)  # of the parent's .ics (RFC 5546 §2.1.4)
    # An OFFERED booking holds its seat for a waiter until then (``confirm_hash``: the offer's link).
    offered_until = models.DateTimeField(null=True, blank=True)
    waiter = models.ForeignKey("Waiter", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["page", "starts_at", "seat"], name="agenda_booking_one_per_seat"),
        ]
        indexes = [
            models.Index(fields=["page", "starts_at"], name="agenda_booking_slot"),
            models.Index(fields=["email", "created_at"], name="agenda_booking_email"),
            models.Index(fields=["remote_addr", "created_at"], name="agenda_booking_addr"),
            models.Index(fields=["confirm_hash"], name="agenda_booking_confirm", condition=~Q(confirm_hash="")),
            models.Index(fields=["manage_hash"], name="agenda_booking_manage", condition=~Q(manage_hash="")),
            models.Index(fields=["state", "starts_at"], name="agenda_booking_due"),
        ]


class WaiterState(models.TextChoices):
    PENDING = "pending", "en attente de confirmation"
    WAITING = "waiting", "sur la liste d'attente"
    OFFERED = "offered", "une place lui est proposée"
    BOOKED = "booked", "a pris la place proposée"
    LEFT = "left", "a quitté la liste"


class Waiter(models.Model):
    """A parent on a full page's waiting list. Joined like a booking: a
    pending row and a mailed single-use link (``confirm_hash``); confirmed
    waiters are offered freed seats in ``confirmed_at`` order, one offer each:
    a declined or expired offer takes them off the list."""

    page = models.ForeignKey(AppointmentPage, on_delete=models.CASCADE, related_name="waiters")
    email = models.CharField(max_length=254)
    name = models.CharField(max_length=200)
    answer = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=16, choices=WaiterState.choices, default=WaiterState.PENDING)
    confirm_hash = models.CharField(max_length=64, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["page", "state", "confirmed_at"], name="agenda_waiter_queue"),
            models.Index(fields=["email", "created_at"], name="agenda_waiter_email"),
            models.Index(fields=["remote_addr", "created_at"], name="agenda_waiter_addr"),
            models.Index(fields=["confirm_hash"], name="agenda_waiter_confirm", condition=~Q(confirm_hash="")),
        ]


class IndexedCalendar(models.Model):
    """One calendar collection of an account as the event index last saw it:
    the folder's signature (``events`` reads it with one ``stat``); a
    different one means files changed, and only those are read again."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    calendar = models.CharField(max_length=64)
    signature = models.CharField(max_length=64, blank=True)
    # The longest indexed occurrence (seconds), an upper bound: a time-range read
    # scans starts_at from (start - longest) only, an index range, not the past.
    longest = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "calendar"], name="agenda_indexed_calendar")]


class IndexedFile(models.Model):
    """One calendar object (Radicale's file) as indexed: its mtime and size say
    whether it must be read again."""

    collection = models.ForeignKey(IndexedCalendar, on_delete=models.CASCADE, related_name="files")
    href = models.CharField(max_length=200)
    mtime_ns = models.BigIntegerField()
    size = models.BigIntegerField()
    # What Radicale serves for this file (its ETag and calendar-data), filled by
    # the first time-range REPORT that returns it; a changed file gets a new row.
    etag = models.CharField(max_length=80, blank=True)
    served = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["collection", "href"], name="agenda_indexed_file")]


class IndexedOccurrence(models.Model):
    """The event index: one row per occurrence of a calendar object, expanded
    at write time (a finite recurrence fully; an endless one as a single
    ``open`` row covering its span, expanded when read). The week view and
    CalDAV time-range REPORTs read these rows instead of parsing files."""

    file = models.ForeignKey(IndexedFile, on_delete=models.CASCADE, related_name="occurrences")
    collection = models.ForeignKey(IndexedCalendar, on_delete=models.CASCADE, related_name="+")
    href = models.CharField(max_length=200)  # the file's, repeated: a read needs no join
    uid = models.CharField(max_length=255, blank=True)
    summary = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    all_day = models.BooleanField(default=False)
    recurring = models.BooleanField(default=False)
    recurrence_id = models.CharField(max_length=64, blank=True)
    open = models.BooleanField(default=False)  # an endless series: expand when read

    class Meta:
        indexes = [models.Index(fields=["collection", "open", "starts_at"], name="agenda_occurrence_start"),
                   models.Index(fields=["collection", "uid"], name="agenda_occurrence_uid")]
