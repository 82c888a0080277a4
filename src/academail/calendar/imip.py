"""Invitations in mail (iMIP, RFC 6047, over the iTIP methods of RFC 5546).

- Receiving: ``access_invitation`` reads the ``text/calendar`` part of a
  message (REQUEST, CANCEL, REPLY) for the reading pane's card, with a
  conflict check against the person's agenda; ``do_answer_invitation``
  (Accepter / Peut-être / Refuser) writes the event into the agenda and mails
  a REPLY to the ORGANIZER; ``do_apply_invitation`` applies a CANCEL (the
  event is removed) or, for the organiser, a REPLY (the attendee's PARTSTAT).
  ``do_apply_at_delivery`` does the latter as soon as the message is
  delivered (the delivery door calls it), so the agenda is right before the
  person opens the message; the card's button stays for a message that
  could not be applied then. An updated REQUEST (RFC 5546 §3.2.2: a higher
  SEQUENCE, or the same with a later DTSTAMP) for an event already in the
  person's agenda is applied the same way (``_apply_update``): times and
  place follow the organiser, the person's answer is kept unless the
  organiser moved the event and asked again (PARTSTAT=NEEDS-ACTION with
  RSVP=TRUE: the card then asks them to confirm). No REPLY ever leaves
  without the person pressing a button.
- Sending: ``do_send_invitations`` makes the person the ORGANIZER of one of
  their events, adds the ATTENDEEs and mails them a REQUEST.

Authority (RFC 5546 §3.2, RFC 6047 §3): a REQUEST or CANCEL must come from
its ORGANIZER (the From or Sender address), and may only touch a stored event
whose ORGANIZER is that same address; a REPLY must come from the attendee it
answers for. Every mail goes out through ``delivery.route.do_submit`` as the
person's own message (sending limits included).

A delegate with the agenda in writing (``calendar.delegated``) answers,
invites and cancels on the owner's behalf: the owner stays the ATTENDEE or
ORGANIZER, with ``SENT-BY`` the delegate (RFC 5545 §3.2.18, RFC 5546
§2.1.5), and the mail says ``From:`` the owner, ``Sender:`` the delegate
(RFC 5322 §3.6.2), as the delegation's "send on behalf" does.
"""

from __future__ import annotations

import datetime as dt
import email
import logging
import uuid
from dataclasses import dataclass, field, replace
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses

import icalendar
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from academail.accounts.models import Account
from academail.calendar import events
from academail.calendar.events import AgendaError
from academail.delivery.route import do_submit
from academail.delivery.submit import account_identity, fix_headers

log = logging.getLogger(__name__)
MAX_CALENDAR_PART = 256 * 1024
# The answers as the mails name them (the REPLY's subject and text, and the
# journal): mails and journals stay French whatever language the sender reads.
ANSWERS = {"ACCEPTED": "Accepté", "TENTATIVE": "Peut-être", "DECLINED": "Refusé"}
MAX_ATTENDEES = 100


@dataclass(frozen=True)
class Invitation:
    """What the reading pane's card shows. ``problem``: in the person's
    language, set when the message may not change the agenda (then no button
    is offered)."""

    method: str
    uid: str
    sequence: int
    summary: str
    location: str
    start: dt.datetime
    end: dt.datetime
    all_day: bool
    organizer: str
    attendees: list[tuple[str, str]] = field(default_factory=list)  # (address, PARTSTAT)
    conflicts: list[str] = field(default_factory=list)  # titles of the person's overlapping events
    mine: str = ""  # the person's PARTSTAT in their agenda ("" when not there)
    stored: bool = False  # the event (by UID) is in the person's agenda
    replier: str = ""  # REPLY: the attendee who answered, and their answer
    answer: str = ""
    problem: str = ""
    applied: bool = False  # a CANCEL or REPLY already reflected in the agenda (nothing left to do)
    updated: bool = False  # an updated REQUEST whose version the agenda holds (applied at delivery)
    reconfirm: bool = False  # the organiser moved the event and asks the person to answer again
    on_behalf_of: str = ""  # a delegate's card: whose agenda the buttons change


def _address(value: object) -> str:
    text = str(value or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.strip().lower()


def _calendar_of(raw: bytes) -> tuple[str, icalendar.Calendar, set[str]] | None:
    """The first ``text/calendar`` part with a METHOD, and the message's
    author addresses (From and Sender)."""
    message = email.message_from_bytes(raw, policy=policy.default)
    authors = {a.lower() for _name, a in getaddresses([str(v) for v in message.get_all("From", []) + message.get_all("Sender", [])]) if a}
    for part in message.walk():
        if part.get_content_type() != "text/calendar":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or len(payload) > MAX_CALENDAR_PART:
            continue
        try:
            calendar = icalendar.Calendar.from_ical(payload)
        except ValueError:
            continue
        method = str(calendar.get("METHOD") or part.get_param("method") or "").upper()
        if method in ("REQUEST", "CANCEL", "REPLY") and list(calendar.walk("VEVENT")):
            return method, calendar, authors
    return None


def _master(calendar: icalendar.Calendar) -> icalendar.cal.Component:
    vevents = list(calendar.walk("VEVENT"))
    return next((e for e in vevents if "RECURRENCE-ID" not in e), vevents[0])


def _partstat(event: icalendar.cal.Component, address: str) -> str:
    for attendee in _attendees(event):
        if _address(attendee) == address:
            return str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    return ""


def _attendees(event: icalendar.cal.Component) -> list[icalendar.vCalAddress]:
    value = event.get("ATTENDEE", [])
    return list(value) if isinstance(value, list) else [value]


FORGED = gettext_lazy("L'authenticité de ce message n'a pas pu être vérifiée : il ne peut pas modifier "
                      "votre agenda. Si vous attendiez cette invitation, demandez à l'organisateur de la renvoyer.")
NO_UID = gettext_lazy("Cette invitation n'a pas d'identifiant : elle ne peut pas entrer dans votre agenda. "
                      "Demandez à l'organisateur de la renvoyer depuis son logiciel d'agenda.")


def _problem(method: str, event: icalendar.cal.Component, authors: set[str],
             stored: tuple[str, str, icalendar.Calendar] | None) -> str:
    organizer = _address(event.get("ORGANIZER"))
    if method == "REPLY":
        repliers = {_address(a) for a in _attendees(event)}
        if not repliers & authors:
            return _("Cette réponse n'a pas été envoyée par la personne invitée : elle ne peut pas modifier "
                     "votre agenda. Demandez à cette personne de répondre depuis sa propre adresse.")
        return ""
    if not organizer or organizer not in authors:
        return _("L'organisateur indiqué dans cette invitation n'est pas l'expéditeur du message : "
                 "elle ne peut pas modifier votre agenda. Vérifiez auprès de l'organisateur.")
    if stored is not None and _address(_master(stored[2]).get("ORGANIZER")) != organizer:
        return _("Cet événement de votre agenda a été organisé par quelqu'un d'autre : "
                 "ce message ne peut pas le modifier. Vérifiez auprès de l'organisateur de l'événement.")
    return ""


def access_invitation(account: Account, raw: bytes, *, authenticated: bool = True) -> Invitation | None:
    """The invitation carried by ``raw`` (None when there is none), as the
    person sees it: their answer so far and their overlapping events."""
    found = _calendar_of(raw)
    if found is None:
        return None
    method, calendar, authors = found
    event = _master(calendar)
    try:
        start, end, all_day = events.bounds(event)
    except (KeyError, TypeError, ValueError):
        return None
    uid = str(event.get("UID", ""))
    stored = events.access_by_uid(account, uid) if uid else None
    me = account.address.lower()
    conflicts: list[str] = []
    if method == "REQUEST" and not all_day:
        conflicts = [o.summary for o in events.access_occurrences(account, start, end)
                     if o.uid != uid and not o.all_day and o.end > start]
    replier = next((_address(a) for a in _attendees(event)), "") if method == "REPLY" else ""
    answer = _partstat(event, replier) if replier else ""
    applied = (method == "CANCEL" and stored is None) or (
        method == "REPLY" and stored is not None and bool(answer) and _partstat(_master(stored[2]), replier) == answer)
    mine = _partstat(_master(stored[2]), me) if stored else ""
    held = method == "REQUEST" and stored is not None and _version(_master(stored[2])) >= _version(event)
    updated = held and int(event.get("SEQUENCE", 0)) > 0
    reconfirm = held and mine == "NEEDS-ACTION"
    return Invitation(
        method=method, uid=uid, sequence=int(event.get("SEQUENCE", 0)),
        summary=str(event.get("SUMMARY", "")) or _("(sans titre)"), location=str(event.get("LOCATION", "")),
        start=start, end=end, all_day=all_day, organizer=_address(event.get("ORGANIZER")),
        attendees=[(_address(a), str(a.params.get("PARTSTAT", "NEEDS-ACTION")).upper())
                   for a in _attendees(event)][:MAX_ATTENDEES],
        conflicts=conflicts, mine=mine, stored=stored is not None,
        replier=replier, answer=answer, applied=applied, updated=updated, reconfirm=reconfirm,
        problem=("" if authenticated else str(FORGED)) or _problem(method, event, authors, stored)
        or ("" if uid else str(NO_UID)),
    )


def _send(account: Account, method: str, calendar: icalendar.Calendar, recipients: list[str], subject: str,
          text: str, *, sent_by: Account | None = None) -> None:
    """Mail ``calendar`` (RFC 6047 §2.4: a text/calendar part with its method)
    as the person's message; ``sent_by``: the delegate sending it on their
    behalf (``Sender:``), whose own sending limits count it."""
    calendar.pop("METHOD", None)
    calendar.add("METHOD", method)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = account.address
    if sent_by is not None:
        message["Sender"] = sent_by.address
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(text)
    message.add_alternative(calendar.to_ical(), maintype="text", subtype="calendar",
                            params={"method": method, "charset": "utf-8"})
    if sent_by is None:
        identity = account_identity(account)
    else:
        # The caller checked the agenda right ("3", calendar.delegated); it
        # covers this one iTIP message, not the owner's mail in general.
        identity = account_identity(sent_by)
        identity = replace(identity, on_behalf=identity.on_behalf | {account.address.lower()})
    raw = fix_headers(message.as_bytes(), identity, mail_from=identity.address)
    sent = do_submit(raw, recipients, identity=identity, origin="webmail")
    if not sent.delivered and sent.refused:
        raise AgendaError(_("Le message n'a pas pu être envoyé à : %(addresses)s. Vérifiez ces adresses et réessayez.")
                          % {"addresses": ", ".join(sorted(sent.refused))})


def _sent_by(address: object, sent_by: Account | None) -> None:
    """RFC 5545 §3.2.18: who acts for the calendar user (a delegate)."""
    if not isinstance(address, icalendar.vCalAddress):
        return
    address.params.pop("SENT-BY", None)
    if sent_by is not None:
        address.params["SENT-BY"] = f"mailto:{sent_by.address.lower()}"


def do_answer_invitation(account: Account, raw: bytes, partstat: str, *, authenticated: bool = True,
                         sent_by: Account | None = None) -> None:
    """Accepter / Peut-être / Refuser a REQUEST: the event goes into (or
    leaves, when declined) the person's agenda with their PARTSTAT, and a
    REPLY (RFC 5546 §3.2.3) is mailed to the ORGANIZER. ``sent_by``: a
    delegate answering for the person (the caller checked the right).
    Raises AgendaError (in the person's language) when the message may not change the agenda."""
    if partstat not in ANSWERS:
        raise AgendaError(_("Choisissez une réponse : accepter, peut-être ou refuser."))
    if not authenticated:
        raise AgendaError(FORGED)
    found = _calendar_of(raw)
    if found is None or found[0] != "REQUEST":
        raise AgendaError(_("Ce message ne contient pas d'invitation à laquelle répondre."))
    calendar, authors = found[1], found[2]
    event = _master(calendar)
    uid = str(event.get("UID", ""))
    stored = events.access_by_uid(account, uid) if uid else None
    problem = _problem("REQUEST", event, authors, stored) if uid else str(NO_UID)
    if problem:
        raise AgendaError(problem)
    me = account.address.lower()
    if not any(_address(a) == me for a in _attendees(event)):
        raise AgendaError(_("Vous n'êtes pas parmi les invités de cet événement : si vous devriez l'être, "
                            "demandez à l'organisateur de vous inviter."))
    if stored is not None and int(_master(stored[2]).get("SEQUENCE", 0)) > int(event.get("SEQUENCE", 0)):
        raise AgendaError(_("Cette invitation a été remplacée par une version plus récente : répondez à la dernière."))
    for component in calendar.walk("VEVENT"):
        for attendee in _attendees(component):
            if _address(attendee) == me:
                attendee.params["PARTSTAT"] = partstat
                attendee.params.pop("RSVP", None)
                _sent_by(attendee, sent_by)
    calendar.pop("METHOD", None)  # RFC 4791 §4.1: no METHOD in a stored calendar object
    if partstat == "DECLINED":
        if stored is not None:
            events.do_delete_event(account, stored[0], stored[1])
    else:
        if stored is not None:
            name, href = stored[0], stored[1]
        else:
            choices = [c.name for c in events.access_calendars(account)]
            if not choices:
                raise AgendaError(_("Vous n'avez pas d'agenda où enregistrer l'événement : "
                                    "contactez l'assistance."))
            name, href = choices[0], f"{uuid.uuid4().hex}.ics"
        events.do_put_event(account, name, href, calendar)
    reply = icalendar.Calendar()
    reply.add("PRODID", "-//academail//agenda//FR")
    reply.add("VERSION", "2.0")
    answer = icalendar.Event()
    for name in ("UID", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY", "ORGANIZER", "RECURRENCE-ID"):
        if name in event:
            answer.add(name, event[name])
    answer.add("DTSTAMP", dt.datetime.now(dt.UTC))
    attendee = icalendar.vCalAddress(f"mailto:{me}")
    attendee.params["PARTSTAT"] = partstat
    _sent_by(attendee, sent_by)
    answer.add("ATTENDEE", attendee)
    reply.add_component(answer)
    summary = str(event.get("SUMMARY", ""))
    who = account.address if sent_by is None else f"{sent_by.address}, de la part de {account.address},"
    _send(account, "REPLY", reply, [_address(event.get("ORGANIZER"))], f"{ANSWERS[partstat]} : {summary}",
          f"{who} a répondu « {ANSWERS[partstat]} » à l'invitation « {summary} ».\n", sent_by=sent_by)


def _version(event: icalendar.cal.Component) -> tuple[int, dt.datetime]:
    """RFC 5546 §2.1.5: SEQUENCE orders revisions, then DTSTAMP."""
    try:
        stamp = event.decoded("DTSTAMP")
    except (KeyError, ValueError, TypeError):
        stamp = None
    if not isinstance(stamp, dt.datetime):
        stamp = dt.datetime.min.replace(tzinfo=dt.UTC)
    return int(event.get("SEQUENCE", 0)), stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


_WHEN = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE")


def _when(event: icalendar.cal.Component) -> tuple[object, ...]:
    """When the event happens: its bounds and recurrence (RFC 5545 §3.8.2, §3.8.5)."""
    try:
        bounds: tuple[object, ...] = events.bounds(event)
    except (KeyError, TypeError, ValueError):
        bounds = ()
    rules = []
    for name in ("RRULE", "RDATE", "EXDATE"):
        value = event.get(name)
        values = value if isinstance(value, list) else [value] if value is not None else []
        rules.append(b",".join(v.to_ical() for v in values))
    return (*bounds, *rules)


def _apply_update(account: Account, update: icalendar.Calendar, stored: tuple[str, str, icalendar.Calendar]) -> str:
    """RFC 5546 §3.2.2: the organiser's new version of an event in the
    person's agenda replaces it (or, carrying only RECURRENCE-IDs, replaces
    those occurrences). The person's PARTSTAT is kept, unless the times moved
    and the organiser asks again (NEEDS-ACTION with RSVP=TRUE, as Thunderbird
    does): then it stays NEEDS-ACTION and the card asks for an answer. Their
    reminders (VALARM) are kept. Precondition: ``_problem`` found nothing.
    Nothing is mailed: answering stays the person's act."""
    name, href, ical = stored
    me = account.address.lower()
    master = _master(ical)
    incoming = _master(update)
    if not any(_address(a) == me for c in update.walk("VEVENT") for a in _attendees(c)):
        raise AgendaError(_("Vous n'êtes plus parmi les invités de cet événement : attendez son annulation."))
    if _version(incoming) <= _version(master) and "RECURRENCE-ID" not in incoming:
        raise AgendaError(_("Votre agenda a déjà cette version de l'événement : vous n'avez rien à faire."))
    previous = _partstat(master, me)
    moved = _when(incoming) != _when(master) if "RECURRENCE-ID" not in incoming else True
    alarms = [c for c in master.subcomponents if c.name == "VALARM"]
    update.pop("METHOD", None)  # RFC 4791 §4.1: no METHOD in a stored calendar object
    asked_again = False
    for component in update.walk("VEVENT"):
        for attendee in _attendees(component):
            if _address(attendee) != me:
                continue
            reset = (str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper() == "NEEDS-ACTION"
                     and str(attendee.params.get("RSVP", "")).upper() == "TRUE" and moved)
            if reset or not previous:
                asked_again = asked_again or reset
                continue
            attendee.params["PARTSTAT"] = previous
            attendee.params.pop("RSVP", None)
    if "RECURRENCE-ID" in incoming:
        overrides = {c.decoded("RECURRENCE-ID") for c in update.walk("VEVENT")}
        ical.subcomponents = [c for c in ical.subcomponents
                              if not (c.name == "VEVENT" and "RECURRENCE-ID" in c
                                      and c.decoded("RECURRENCE-ID") in overrides)]
        for component in update.walk("VEVENT"):
            ical.add_component(component)
        result = ical
    else:
        if alarms and not any(c.name == "VALARM" for c in incoming.subcomponents):
            incoming.subcomponents.extend(alarms)
        result = update
    events.do_put_event(account, name, href, result)
    if asked_again:
        return _("L'organisateur a modifié l'événement, confirmez votre réponse.")
    return _("Événement mis à jour dans votre agenda.")


def do_apply_invitation(account: Account, raw: bytes, *, authenticated: bool = True) -> str:
    """Apply a CANCEL (the event, or the one occurrence it names, leaves the
    agenda), an updated REQUEST for an event already in the agenda
    (``_apply_update``), or a REPLY to an event the person organised (the
    attendee's PARTSTAT is stored). Never mails anything. Returns what was
    done, in the person's language. Raises AgendaError when the message may not do it."""
    if not authenticated:
        raise AgendaError(FORGED)
    found = _calendar_of(raw)
    if found is None:
        raise AgendaError(_("Ce message ne contient pas d'invitation à appliquer."))
    method, calendar, authors = found
    event = _master(calendar)
    uid = str(event.get("UID", ""))
    stored = events.access_by_uid(account, uid) if uid else None
    if stored is None:
        raise AgendaError(_("Cet événement n'est pas dans votre agenda : il n'y a rien à mettre à jour."))
    problem = _problem(method, event, authors, stored)
    if problem:
        raise AgendaError(problem)
    name, href, ical = stored
    if method in ("REQUEST", "CANCEL") and int(event.get("SEQUENCE", 0)) < int(_master(ical).get("SEQUENCE", 0)):
        raise AgendaError(_("Ce message a été remplacé par une version plus récente de l'événement : "
                            "suivez le dernier message de l'organisateur."))
    if method == "REQUEST":
        return _apply_update(account, calendar, stored)
    if method == "CANCEL":
        cancelled = [c for c in calendar.walk("VEVENT") if "RECURRENCE-ID" in c]
        if cancelled and all("RECURRENCE-ID" in c for c in calendar.walk("VEVENT")):
            # RFC 5546 §3.2.5: a CANCEL naming occurrences cancels only those.
            for component in cancelled:
                events.do_delete_event(account, name, href, occurrence=component.decoded("RECURRENCE-ID").isoformat())
            return _("Occurrence retirée de votre agenda.")
        events.do_delete_event(account, name, href)
        return _("Événement retiré de votre agenda.")
    master = _master(ical)
    if _address(master.get("ORGANIZER")) != account.address.lower():
        raise AgendaError(_("Vous n'êtes pas l'organisateur de cet événement : "
                            "cette réponse ne concerne pas votre agenda."))
    answers = {_address(a): str(a.params.get("PARTSTAT", "")).upper() for a in _attendees(event) if _address(a) in authors}
    changed = False
    for attendee in _attendees(master):
        partstat = answers.get(_address(attendee), "")
        if partstat in ANSWERS:
            attendee.params["PARTSTAT"] = partstat
            changed = True
    if not changed:
        raise AgendaError(_("Cette personne n'est pas parmi les invités de l'événement : sa réponse n'est "
                            "pas enregistrée. Invitez-la depuis l'événement si elle doit y participer."))
    events.do_put_event(account, name, href, ical)
    return _("Réponse enregistrée dans votre agenda.")


def do_send_invitations(account: Account, calendar: str, href: str, addresses: list[str], *,
                        sent_by: Account | None = None, moved: bool = False) -> None:
    """Invite ``addresses`` to the person's event: they become its ATTENDEEs
    (answers already given are kept), the person its ORGANIZER, SEQUENCE is
    the event's; a REQUEST is mailed to every attendee (RFC 5546 §3.2.2), so
    an edit of an event with attendees mails them the new version even with
    no new address. ``moved``: its times changed, so every answer is asked
    again (PARTSTAT=NEEDS-ACTION, RSVP=TRUE, as Thunderbird does).
    ``sent_by``: a delegate inviting for the person (ORGANIZER;SENT-BY)."""
    wanted = list(dict.fromkeys(a.strip().lower() for a in addresses if a.strip()))[:MAX_ATTENDEES]
    if any("@" not in a or any(c in a for c in " ,;<>\"") for a in wanted):
        raise AgendaError(_("Une des adresses des invités n'est pas valide : corrigez-la "
                            "(des adresses complètes, séparées par des virgules)."))
    stored = events.access_stored(account, calendar, href)
    if stored is None:
        raise AgendaError(events.EVENT_GONE)
    master = _master(stored)
    me = account.address.lower()
    organizer = _address(master.get("ORGANIZER"))
    if not wanted and (organizer != me or not _attendees(master)):
        return  # nobody invited, or an event the person does not organise: nothing to mail
    if organizer and organizer != me:
        raise AgendaError(_("Seul l'organisateur de l'événement peut inviter : "
                            "demandez-lui d'ajouter ces invités."))
    if moved:
        for attendee in _attendees(master):
            if _address(attendee) != me:
                attendee.params["PARTSTAT"] = "NEEDS-ACTION"
                attendee.params["RSVP"] = "TRUE"
    if not organizer:
        master.add("ORGANIZER", icalendar.vCalAddress(f"mailto:{me}"))
    _sent_by(master["ORGANIZER"], sent_by)
    known = {_address(a) for a in _attendees(master)}
    for address in wanted:
        if address in known or address == me:
            continue
        attendee = icalendar.vCalAddress(f"mailto:{address}")
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["PARTSTAT"] = "NEEDS-ACTION"
        attendee.params["RSVP"] = "TRUE"
        master.add("ATTENDEE", attendee)
    events.do_put_event(account, calendar, href, stored)
    recipients = [a for a in {_address(x) for x in _attendees(master)} if a != me]
    if not recipients:
        return
    outgoing = icalendar.Calendar.from_ical(stored.to_ical())
    for component in outgoing.walk("VEVENT"):
        component.subcomponents = [c for c in component.subcomponents if c.name != "VALARM"]
    summary = str(master.get("SUMMARY", ""))
    start, _end, all_day = events.bounds(master)
    when = start.strftime("%d/%m/%Y") if all_day else start.strftime("%d/%m/%Y à %H:%M")
    _send(account, "REQUEST", outgoing, sorted(recipients), f"Invitation : {summary}",
          f"{account.address} vous invite à « {summary} », le {when}"
          f"{' (' + str(master.get('LOCATION')) + ')' if master.get('LOCATION') else ''}.\n"
          f"Répondez depuis la messagerie {settings.MAIL_DOMAINS[0]} ou votre logiciel d'agenda.\n", sent_by=sent_by)


def do_cancel_invitations(account: Account, calendar: str, href: str, *, sent_by: Account | None = None) -> None:
    """Before the organiser deletes an event with attendees: mail them a
    CANCEL (RFC 5546 §3.2.5, SEQUENCE incremented). Nothing for an event the
    person did not organise or without attendees."""
    stored = events.access_stored(account, calendar, href)
    if stored is None:
        return
    master = _master(stored)
    me = account.address.lower()
    recipients = sorted({_address(a) for a in _attendees(master)} - {me})
    if _address(master.get("ORGANIZER")) != me or not recipients:
        return
    cancel = icalendar.Calendar()
    cancel.add("PRODID", "-//academail//agenda//FR")
    cancel.add("VERSION", "2.0")
    event = icalendar.Event()
    for name in ("UID", "DTSTART", "DTEND", "SUMMARY", "ORGANIZER", "LOCATION"):
        if name in master:
            event.add(name, master[name])
    _sent_by(event["ORGANIZER"], sent_by)
    for attendee in _attendees(master):
        event.add("ATTENDEE", attendee)
    event.add("SEQUENCE", int(master.get("SEQUENCE", 0)) + 1)
    event.add("DTSTAMP", dt.datetime.now(dt.UTC))
    event.add("STATUS", "CANCELLED")
    cancel.add_component(event)
    summary = str(master.get("SUMMARY", ""))
    _send(account, "CANCEL", cancel, recipients, f"Annulé : {summary}",
          f"{account.address} a annulé « {summary} ».\n", sent_by=sent_by)


def do_apply_at_delivery(raw: bytes, prefix: bytes, account_ids: list[int]) -> int:
    """A CANCEL, a REPLY or an updated REQUEST just delivered to these accounts is applied to
    their agendas at once (RFC 6047 §2.5 / RFC 5546 §3.2.5, §3.2.3: the
    organiser's cancellation removes the event, an attendee's answer updates
    the organiser's copy), with exactly the checks of the card's button
    (``do_apply_invitation``): a message that may not change an agenda
    changes nothing, and its card says why. A first REQUEST waits for the
    person's answer; an updated one for an event already in their agenda is
    applied (``_apply_update``), with no REPLY sent. ``prefix``: the delivery's trace (our Authentication-Results).
    Called by ``delivery.door`` after the delivery commits; never raises.
    Returns how many agendas changed."""
    from academail.delivery.authcheck import authentication_failed

    found = _calendar_of(raw)
    if found is None:
        return 0
    authenticated = not authentication_failed(prefix, settings.MAIL_HOSTNAME)
    if not authenticated:
        return 0
    changed = 0
    for account in Account.objects.filter(pk__in=account_ids):
        if not account.is_active:
            continue
        try:
            do_apply_invitation(account, raw, authenticated=True)
        except AgendaError:
            continue  # not in this agenda, or not allowed: the card explains
        except Exception:
            log.exception("iMIP %s for account %s could not be applied at delivery", found[0], account.pk)
            continue
        changed += 1
    return changed
