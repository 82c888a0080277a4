"""Adding a ``.ics`` file to one's agenda (an export from another calendar, a
school timetable, an attachment that is not an invitation).

Bounded before anything is parsed or stored: ``MAX_IMPORT_BYTES`` of input,
``MAX_IMPORT_EVENTS`` events. Invitations (``METHOD:REQUEST``/``CANCEL``,
RFC 5546 §1.4) are refused here: answering one is iMIP's job, not an import.
Each event (a UID with its overridden occurrences) is stored as its own
resource through ``dav.call`` (PUT), so Radicale verifies it (RRULE bounds,
time zones, sizes) and phones get it; those it refuses are counted, not fatal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import icalendar
from django.utils.translation import gettext as _

from academail.accounts.models import Account
from academail.calendar import dav
from academail.calendar.events import AgendaError, access_calendars

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_EVENTS = 1000


@dataclass(frozen=True)
class ImportReport:
    added: int
    refused: int


def check_import_ics(account: Account, calendar: str, data: bytes) -> ImportReport:
    """Store the events of ``data`` in the account's ``calendar``."""
    if calendar not in {c.name for c in access_calendars(account)}:
        raise AgendaError(_("Choisissez un de vos agendas."))
    if len(data) > MAX_IMPORT_BYTES:
        raise AgendaError(_("Ce fichier dépasse 2 Mo : exportez une période plus courte et réessayez."))
    try:
        parsed = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError):
        raise AgendaError(_("Ce fichier n'est pas un agenda au format iCalendar (.ics) lisible : exportez-le "
                            "à nouveau depuis votre logiciel d'agenda, au format .ics.")) from None
    method = str(parsed.get("METHOD", "")).upper()
    if method in {"REQUEST", "CANCEL", "REPLY", "COUNTER", "ADD"}:
        raise AgendaError(_("Ce fichier est une invitation : répondez-y depuis le message qui l'accompagne."))
    by_uid: dict[str, list[icalendar.cal.Component]] = {}
    for event in parsed.walk("VEVENT"):
        uid = str(event.get("UID", "")).strip()
        if uid and "DTSTART" in event:
            by_uid.setdefault(uid, []).append(event)
        if len(by_uid) > MAX_IMPORT_EVENTS:
            raise AgendaError(_("Ce fichier contient plus de %(count)s événements : importez-le en plusieurs fois.")
                              % {"count": MAX_IMPORT_EVENTS})
    if not by_uid:
        raise AgendaError(_("Ce fichier ne contient aucun événement : vérifiez que vous avez exporté "
                            "le bon agenda."))
    zones = [c for c in parsed.subcomponents if c.name == "VTIMEZONE"]
    added = refused = 0
    for uid, components in by_uid.items():
        single = icalendar.Calendar()
        single.add("PRODID", "-//academail//import//FR")
        single.add("VERSION", "2.0")
        for zone in zones:
            single.add_component(zone)
        for component in components:
            single.add_component(component)
        href = hashlib.sha256(uid.encode()).hexdigest()[:32] + ".ics"
        status = dav.call(account.identifier, "PUT", f"/{account.identifier}/{calendar}/{href}",
                          single.to_ical(), {"Content-Type": "text/calendar; charset=utf-8"})[0]
        if status in (200, 201, 204):
            added += 1
        else:
            refused += 1
    return ImportReport(added, refused)
