"""Training sessions: publishing, sign-up with a capacity and a waiting list,
invitations with an iCalendar file, reminders the day before, attendee lists.

The rules, in one place:
- a person has at most one registration per session (a unique constraint; a
  cancelled one is reused when they sign up again);
- places are counted under a lock on the session row (``SELECT ... FOR
  UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transactions serialise writers),
  so two people asking for the last place cannot both get it: the second is
  told the session is full and may join the waiting list;
- when a confirmed person cancels, the first person waiting (by sign-up time)
  is promoted in the same transaction and gets the invitation;
- every mail goes through the platform's routing (``delivery.route.do_send_platform_mail``),
  inside the transaction that changes the registration, so both happen or
  neither does.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

import icalendar
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from academail.accounts.models import Account, Role
from academail.delivery.route import do_send_platform_mail
from academail.help.models import (
    Registration,
    RegistrationState,
    Resource,
    Trainer,
    TrainingSession,
)

MAX_CAPACITY = 1000
REMINDER_BEFORE = timedelta(hours=24)
MAX_DOCUMENT = 10 * 1024 * 1024
State = RegistrationState


class TrainingError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class SessionNotFound(Exception):
    pass


def can_train(account: object) -> bool:
    """Trainers publish sessions: helpdesk agents, administrators, and accounts appointed as trainers."""
    if not isinstance(account, Account) or not account.is_authenticated:
        return False
    return account.role in (Role.SUPPORT, Role.ADMIN) or Trainer.objects.filter(account=account).exists()


# --- reading ----------------------------------------------------------------------------------


def _with_counts(rows: QuerySet[TrainingSession]) -> QuerySet[TrainingSession]:
    return rows.annotate(
        confirmed=Count("registrations", filter=Q(registrations__state=State.CONFIRMED)),
        waiting=Count("registrations", filter=Q(registrations__state=State.WAITING)),
    )


def upcoming(*, now: datetime | None = None, limit: int = 100) -> list[TrainingSession]:
    """Sessions not yet over and not cancelled, soonest first, with ``confirmed`` and ``waiting`` counts."""
    now = now or timezone.now()
    return list(_with_counts(TrainingSession.objects.filter(ends_at__gte=now, cancelled=False))
                .order_by("starts_at")[:limit])


def free_places(session: TrainingSession) -> int:
    """Places left on a session read through ``upcoming`` or ``access_session`` (annotated counts)."""
    confirmed: int = getattr(session, "confirmed", 0)
    return max(0, session.capacity - confirmed)


def access_session(session_id: int) -> TrainingSession:
    """A session any signed-in person may read (with its counts)."""
    session = _with_counts(TrainingSession.objects.filter(pk=session_id)).first()
    if session is None:
        raise SessionNotFound(session_id)
    return session


def access_managed_session(trainer: Account, session_id: int) -> TrainingSession:
    """A session its trainers may manage (any trainer: sessions are shared work)."""
    if not can_train(trainer):
        raise SessionNotFound(session_id)
    return access_session(session_id)


def my_states(account: Account, sessions: list[TrainingSession]) -> dict[int, str]:
    """The person's registration state for each of ``sessions`` (one query)."""
    rows = Registration.objects.filter(account=account, session__in=[s.pk for s in sessions]).exclude(
        state=State.CANCELLED).values_list("session_id", "state")
    return dict(rows)


def my_registration(account: Account, session: TrainingSession) -> Registration | None:
    row = Registration.objects.filter(session=session, account=account).first()
    return row if row is not None and row.state != State.CANCELLED else None


def waiting_position(registration: Registration) -> int:
    """1 for the first person on the waiting list."""
    return Registration.objects.filter(
        session_id=registration.session_id, state=State.WAITING,
    ).filter(Q(created_at__lt=registration.created_at)
             | Q(created_at=registration.created_at, pk__lt=registration.pk)).count() + 1


def attendees(trainer: Account, session_id: int) -> tuple[TrainingSession, list[Registration]]:
    """Confirmed then waiting people, in sign-up order (trainers only)."""
    session = access_managed_session(trainer, session_id)
    rows = list(Registration.objects.filter(session=session).exclude(state=State.CANCELLED)
                .select_related("account").order_by("state", "created_at", "pk"))
    return session, rows


def attendees_csv(trainer: Account, session_id: int) -> tuple[TrainingSession, str]:
    """The attendee list as CSV (semicolons and a BOM, as French spreadsheets expect)."""
    session, rows = attendees(trainer, session_id)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Nom", "Prénom", "Identifiant", "Adresse", "Établissement", "État", "Inscrit le"])
    for row in rows:
        account = row.account
        writer.writerow([_cell(account.last_name), _cell(account.first_name), account.identifier, account.address,
                         _cell(account.establishment), str(row.get_state_display()),
                         timezone.localtime(row.created_at).strftime("%d/%m/%Y %H:%M")])
    return session, out.getvalue()


def _cell(value: str) -> str:
    # A cell starting with = + - @ would be a formula in a spreadsheet (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


# --- publishing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionDraft:
    title: str
    description: str
    audience: str
    online_url: str
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int


def check_publish(trainer: Account, draft: SessionDraft, *, session_id: int | None = None,
                  now: datetime | None = None) -> TrainingSession:
    """Create or change a session (trainers only). Raises ``TrainingError``.
    A capacity below the people already confirmed is refused (nobody loses a
    place silently); a larger one promotes people waiting."""
    if not can_train(trainer):
        raise SessionNotFound(session_id)
    now = now or timezone.now()
    title = " ".join(draft.title.split())
    if not title:
        raise TrainingError(_("Donnez un titre à la session."), field="title")
    if not draft.description.strip():
        raise TrainingError(_("Décrivez la session."), field="description")
    if not draft.online_url.strip() and not draft.place.strip():
        raise TrainingError(_("Indiquez un lien de visioconférence ou un lieu."), field="place")
    if draft.ends_at <= draft.starts_at:
        raise TrainingError(_("La fin doit être après le début."), field="ends_at")
    if session_id is None and draft.starts_at <= now:
        raise TrainingError(_("La date de début est déjà passée."), field="starts_at")
    if not 1 <= draft.capacity <= MAX_CAPACITY:
        raise TrainingError(_("Le nombre de places doit être compris entre 1 et 1000."), field="capacity")
    fields = {"title": title, "description": draft.description.strip(), "audience": draft.audience.strip(),
              "online_url": draft.online_url.strip(), "place": draft.place.strip(),
              # iCalendar has whole seconds: keep what the invitation will say.
              "starts_at": draft.starts_at.replace(microsecond=0), "ends_at": draft.ends_at.replace(microsecond=0),
              "capacity": draft.capacity}
    with transaction.atomic():
        if session_id is None:
            return TrainingSession.objects.create(trainer=trainer, **fields)
        session = TrainingSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            raise SessionNotFound(session_id)
        confirmed = session.registrations.filter(state=State.CONFIRMED).count()
        if draft.capacity < confirmed:
            raise TrainingError(_("%(n)s personnes sont déjà inscrites : gardez au moins autant de places.")
                                % {"n": confirmed}, field="capacity")
        for name, value in fields.items():
            setattr(session, name, value)
        session.sequence += 1
        session.save()
        _fill_places(session)
        for row in session.registrations.filter(state=State.CONFIRMED).select_related("account"):
            _send(session, row.account, "updated")
    return session


# --- signing up and cancelling -------------------------------------------------------------------


def check_sign_up(account: Account, session_id: int, *, waiting_list: bool = False,
                  now: datetime | None = None) -> Registration:
    """Sign ``account`` up. A free place confirms at once and sends the
    invitation; a full session is refused with a clear message unless
    ``waiting_list`` (then the person waits). Raises ``TrainingError``."""
    now = now or timezone.now()
    with transaction.atomic():
        session = TrainingSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            raise SessionNotFound(session_id)
        if session.cancelled or session.starts_at <= now:
            raise TrainingError(_("Les inscriptions à cette session sont closes."))
        row = Registration.objects.filter(session=session, account=account).first()
        if row is not None and row.state == State.CONFIRMED:
            raise TrainingError(_("Vous êtes déjà inscrit à cette session."))
        if row is not None and row.state == State.WAITING:
            raise TrainingError(_("Vous êtes déjà sur la liste d'attente de cette session."))
        full = session.registrations.filter(state=State.CONFIRMED).count() >= session.capacity
        if full and not waiting_list:
            raise TrainingError(_("Cette session est complète. Inscrivez-vous sur la liste d'attente : "
                                  "vous serez inscrit automatiquement si une place se libère."))
        state = State.WAITING if full else State.CONFIRMED
        if row is None:
            row = Registration.objects.create(session=session, account=account, state=state, created_at=now)
        else:
            row.state, row.created_at, row.reminded_at = state, now, None
            row.save(update_fields=["state", "created_at", "reminded_at"])
        _send(session, account, "waiting" if full else "confirmed")
    return row


def check_cancel(account: Account, session_id: int, *, now: datetime | None = None) -> Registration | None:
    """Cancel ``account``'s registration (confirmed or waiting); a freed place
    goes to the first person waiting. Returns the promoted registration, if any."""
    with transaction.atomic():
        session = TrainingSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            raise SessionNotFound(session_id)
        row = Registration.objects.filter(session=session, account=account).first()
        if row is None or row.state == State.CANCELLED:
            raise TrainingError(_("Vous n'êtes pas inscrit à cette session."))
        was_confirmed = row.state == State.CONFIRMED
        row.state = State.CANCELLED
        row.save(update_fields=["state"])
        if was_confirmed:
            _send(session, account, "cancelled")
        promoted = _fill_places(session)
    return promoted[0] if promoted else None


def check_cancel_session(trainer: Account, session_id: int) -> int:
    """A trainer cancels a whole session: everyone registered or waiting is
    told (confirmed people get a METHOD:CANCEL that removes it from their
    agenda). Returns how many people were told."""
    if not can_train(trainer):
        raise SessionNotFound(session_id)
    with transaction.atomic():
        session = TrainingSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            raise SessionNotFound(session_id)
        if session.cancelled:
            raise TrainingError(_("Cette session est déjà annulée."))
        session.cancelled = True
        session.save(update_fields=["cancelled"])
        rows = list(session.registrations.exclude(state=State.CANCELLED).select_related("account"))
        for row in rows:
            _send(session, row.account, "session_cancelled" if row.state == State.CONFIRMED else "session_cancelled_waiting")
    return len(rows)


def _fill_places(session: TrainingSession) -> list[Registration]:
    """Promote people waiting while places are free. Precondition: the session row is locked."""
    free = session.capacity - session.registrations.filter(state=State.CONFIRMED).count()
    if free <= 0 or session.cancelled:
        return []
    rows = list(session.registrations.filter(state=State.WAITING).select_related("account")
                .order_by("created_at", "pk")[:free])
    for row in rows:
        row.state = State.CONFIRMED
        row.save(update_fields=["state"])
        _send(session, row.account, "promoted")
    return rows


def do_send_reminders(now: datetime | None = None) -> int:
    """Remind confirmed people of sessions starting within 24 hours, once each
    (the worker calls this every hour). Returns how many were sent."""
    now = now or timezone.now()
    due = list(Registration.objects.filter(
        state=State.CONFIRMED, reminded_at__isnull=True, session__cancelled=False,
        session__starts_at__gt=now, session__starts_at__lte=now + REMINDER_BEFORE,
    ).values_list("pk", flat=True)[:1000])
    sent = 0
    for pk in due:
        with transaction.atomic():
            # The conditional update claims the reminder: a second worker finds nothing to do.
            if not Registration.objects.filter(pk=pk, reminded_at__isnull=True,
                                               state=State.CONFIRMED).update(reminded_at=now):
                continue
            row = Registration.objects.select_related("session", "account").get(pk=pk)
            _send(row.session, row.account, "reminder")
            sent += 1
    return sent


# --- resources ----------------------------------------------------------------------------------


def check_add_resource(trainer: Account, session_id: int, *, title: str, url: str = "",
                       document: bytes | None = None, document_name: str = "",
                       document_type: str = "") -> Resource:
    session = access_managed_session(trainer, session_id)
    title = " ".join(title.split())[:200]
    if not title:
        raise TrainingError(_("Donnez un titre à la ressource."), field="title")
    if bool(url) == bool(document):
        raise TrainingError(_("Indiquez un lien ou joignez un document (l'un ou l'autre)."), field="url")
    if url and not url.startswith(("https://", "http://")):
        raise TrainingError(_("Le lien doit commencer par https://."), field="url")
    if document is not None and len(document) > MAX_DOCUMENT:
        raise TrainingError(_("Le document dépasse 10 Mo."), field="document")
    position = session.resources.count()
    return Resource.objects.create(session=session, title=title, url=url, document=document,
                                   document_name=document_name[:200], document_type=document_type[:100],
                                   position=position)


def access_resource_document(reader: Account, session_id: int, resource_id: int) -> Resource:
    """A session's document, for any signed-in person (resources are public to staff)."""
    row = Resource.objects.filter(session_id=session_id, pk=resource_id).exclude(document=None).first()
    if row is None or not reader.is_authenticated:
        raise SessionNotFound(session_id)
    return row


# --- mail and iCalendar --------------------------------------------------------------------------

_SUBJECTS = {
    "confirmed": "Inscription confirmée : {title}",
    "promoted": "Une place s'est libérée : vous êtes inscrit à « {title} »",
    "waiting": "Liste d'attente : {title}",
    "cancelled": "Désinscription enregistrée : {title}",
    "reminder": "Rappel : « {title} » commence bientôt",
    "updated": "Session modifiée : {title}",
    "session_cancelled": "Session annulée : {title}",
    "session_cancelled_waiting": "Session annulée : {title}",
}


def event_uid(session: TrainingSession) -> str:
    return f"formation-{session.pk}@{settings.MAIL_HOSTNAME}"


def ics_bytes(session: TrainingSession, account: Account, *, method: str = "REQUEST") -> bytes:
    """An iCalendar object (RFC 5545) for one attendee; ``method`` REQUEST or
    CANCEL (RFC 5546 iTIP), with a SEQUENCE that grows with each change."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//academail//formations//FR")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", event_uid(session))
    event.add("sequence", session.sequence + (1 if method == "CANCEL" else 0))
    event.add("dtstamp", timezone.now())
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", session.title)
    event.add("description", session.description + (f"\n\n{session.online_url}" if session.online_url else ""))
    event.add("location", session.place or session.online_url)
    if session.online_url:
        event.add("url", session.online_url)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = icalendar.vCalAddress(f"mailto:{settings.DEFAULT_FROM_EMAIL}")
    organizer.params["cn"] = icalendar.vText("Formations de la messagerie")
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{account.address}")
    attendee.params["cn"] = icalendar.vText(f"{account.first_name} {account.last_name}")
    attendee.params["partstat"] = icalendar.vText("ACCEPTED")
    attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical()


def message_bytes(session: TrainingSession, account: Account, kind: str) -> bytes:
    """The French mail of ``kind`` for one person, with the .ics when it carries one."""
    url = settings.PUBLIC_URL + reverse("training:session", args=[session.pk])
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string("help/email/training.txt", {
            "kind": kind, "session": session, "account": account, "url": url,
            "starts": timezone.localtime(session.starts_at), "ends": timezone.localtime(session.ends_at),
        })
    message = EmailMessage(policy=SMTP)
    message["From"] = settings.DEFAULT_FROM_EMAIL
    message["To"] = account.address
    message["Subject"] = _SUBJECTS[kind].format(title=session.title)
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain=settings.MAIL_HOSTNAME)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5: no out-of-office answers it
    message.set_content(body)
    method = {"confirmed": "REQUEST", "promoted": "REQUEST", "reminder": "REQUEST", "updated": "REQUEST",
              "cancelled": "CANCEL", "session_cancelled": "CANCEL"}.get(kind)
    if method is not None:
        message.add_attachment(ics_bytes(session, account, method=method), maintype="text", subtype="calendar",
                               filename="invitation.ics" if method == "REQUEST" else "annulation.ics",
                               params={"method": method, "charset": "utf-8"})
    return message.as_bytes()


def _send(session: TrainingSession, account: Account, kind: str) -> None:
    do_send_platform_mail(message_bytes(session, account, kind), mail_from=settings.DEFAULT_FROM_EMAIL,
                          recipients=[account.address])
