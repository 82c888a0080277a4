"""Demo agendas: for each active demo account, a few weeks of a teacher's or a
secretary's life around today (a repeated class, a conseil de classe, a
parent meeting, a pedagogical day), written through the agenda service, so
the webmail's « Agenda » and a phone synced over CalDAV show the same; the
académie directory address book; and one teacher's parent–teacher booking
page with two parents already booked (through the same steps as a parent:
request, then the mailed confirmation)."""

from __future__ import annotations

import datetime as dt

from academail.accounts.models import Account
from academail.calendar import appointments, events
from academail.calendar.directory import do_generate_directory
from academail.calendar.events import PARIS, EventDraft


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), PARIS)


def seed_agendas(accounts: list[Account], today: dt.date) -> int:
    """Create the demo events; returns how many series or events were written."""
    monday = today - dt.timedelta(days=today.weekday())
    written = 0
    for index, account in enumerate(accounts):
        drafts = [
            EventDraft(summary="Cours — 4eA (mathématiques)" if account.role != "secretariat" else "Accueil des familles",
                       location="Salle 12" if account.role != "secretariat" else "Secrétariat",
                       start=_at(monday, 8 + index % 3), end=_at(monday, 9 + index % 3),
                       recurrence="schooldays", until=monday + dt.timedelta(weeks=8), reminder=10),
            EventDraft(summary="Conseil de classe 3eB", location="Salle du conseil",
                       start=_at(monday + dt.timedelta(days=3), 17), end=_at(monday + dt.timedelta(days=3), 18, 30),
                       reminder=60),
            EventDraft(summary="Réunion parents-professeurs", location="Collège Jean Moulin — CDI",
                       start=_at(monday + dt.timedelta(days=8), 17, 30), end=_at(monday + dt.timedelta(days=8), 20),
                       reminder=1440),
            EventDraft(summary="Journée pédagogique", start=_at(monday + dt.timedelta(days=11), 0),
                       end=_at(monday + dt.timedelta(days=11), 0), all_day=True),
            EventDraft(summary="Réunion d'équipe pédagogique", location="Salle des professeurs",
                       start=_at(monday + dt.timedelta(days=1), 12, 30), end=_at(monday + dt.timedelta(days=1), 13, 30),
                       recurrence="fortnightly"),
        ]
        for draft in drafts:
            events.check_save_event(account, draft)
            written += 1
    do_generate_directory()
    return written


DEMO_PARENTS = (("Sophie Lambert", "sophie.lambert@familles.example", "Hugo Lambert, 3eB"),
                ("Karim Benali", "karim.benali@familles.example", "Inès Benali, 3eB"))


def seed_appointments(teacher: Account, today: dt.date) -> str:
    """A booking page « Rencontres parents-professeurs 3eB » next Wednesday and
    Thursday evenings, two slots booked by demo parents. Returns its public link."""
    monday = today - dt.timedelta(days=today.weekday())
    page = appointments.check_save_page(teacher, appointments.PageDraft(
        title="Rencontres parents-professeurs 3eB", host=f"{teacher.full_name}, professeur principal",
        description="Dix minutes pour faire le point sur le premier trimestre. Merci d'arriver quelques minutes avant.",
        place="Collège Jean Moulin — salle 12", slot_minutes=10, break_minutes=5, capacity=1, deadline_hours=24,
        question="Nom et classe de l'enfant"))
    for offset in (9, 10):  # next Wednesday and Thursday
        day = monday + dt.timedelta(days=offset)
        appointments.check_add_range(teacher, page.pk, day, day, dt.time(16, 30), dt.time(18, 30), today=today)
    free = appointments.access_free_slots(page, dt.datetime.combine(today, dt.time(), PARIS))
    for (name, address, child), slot in zip(DEMO_PARENTS, free[::3], strict=False):
        raw = appointments.check_request_booking(page, slot.key, email=address, name=name, answer=child,
                                                 remote_addr="")
        appointments.check_confirm_booking(raw)
    return appointments.public_url(page)
