"""Invitations in mail (iMIP, RFC 6047) between two accounts, through the one
delivery door and the reading pane; an outside (Thunderbird-style)
invitation; a forged CANCEL and a forged update refused."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.policy import SMTP

import icalendar
import pytest
from django.urls import reverse

from academail.calendar import events, imip
from academail.store.models import Message

pytestmark = pytest.mark.django_db

WEEK = (dt.datetime(2026, 12, 7, tzinfo=events.PARIS), dt.datetime(2026, 12, 14, tzinfo=events.PARIS))


def _inbox(account) -> list[Message]:
    return list(Message.objects.filter(mailbox__account=account, mailbox__special_use="inbox").order_by("uid"))


def _deliver(account, raw: bytes) -> Message:
    from academail.delivery.route import deliver

    (outcome,) = deliver(raw, [account.address])
    assert outcome.delivered, outcome
    return Message.objects.get(mailbox__account=account, mailbox__special_use="inbox", uid=outcome.uid)


def _create_event(client, **fields) -> str:
    data = {"summary": "Conseil pédagogique", "calendar": "agenda", "start_date": "2026-12-10", "start_time": "17:00",
            "end_date": "2026-12-10", "end_time": "18:00", "location": "Salle 12", "recurrence": "", "reminder": "0"}
    data.update(fields)
    assert client.post(reverse("calendar:event-new"), data).status_code == 302
    return data["summary"]


def _only(account):
    (occurrence,) = events.access_occurrences(account, *WEEK)
    return occurrence


def _partstat(account, occurrence, address: str) -> str:
    stored = events._stored(account, occurrence.calendar.name, occurrence.href)
    event = next(iter(stored.walk("VEVENT")))
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    return next(str(a.params["PARTSTAT"]) for a in attendees if str(a).lower() == f"mailto:{address}")


def test_round_trip_between_two_accounts(client, make_account):
    organiser, attendee = make_account("Anne", "Durand"), make_account("Paul", "Petit")
    client.force_login(organiser)
    _create_event(client, guests=attendee.address)
    event = _only(organiser)
    assert _partstat(organiser, event, attendee.address) == "NEEDS-ACTION"

    # The REQUEST went through the door into the attendee's inbox: the card shows it.
    (request,) = _inbox(attendee)
    client.force_login(attendee)
    page = client.get(reverse("webmail:message", args=[request.mailbox_id, request.uid])).content.decode()
    assert "Invitation" in page and "Conseil pédagogique" in page and organiser.address in page
    assert "Aucun autre événement à ce moment" in page and 'value="ACCEPTED"' in page
    # Without the CSRF token the answer is refused.
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(attendee)
    url = reverse("webmail:invitation", args=[request.mailbox_id, request.uid])
    assert strict.post(url, {"reponse": "ACCEPTED"}).status_code == 403
    assert events.access_occurrences(attendee, *WEEK) == []

    assert client.post(url, {"reponse": "ACCEPTED"}).status_code == 302
    mine = _only(attendee)
    assert mine.summary == "Conseil pédagogique" and mine.uid == event.uid
    assert _partstat(attendee, mine, attendee.address) == "ACCEPTED"

    # The REPLY reached the organiser; applying it stores the attendee's PARTSTAT.
    (reply,) = _inbox(organiser)
    client.force_login(organiser)
    page = client.get(reverse("webmail:message", args=[reply.mailbox_id, reply.uid])).content.decode()
    assert "Réponse à une invitation" in page and "a accepté" in page
    client.post(reverse("webmail:invitation", args=[reply.mailbox_id, reply.uid]), {"appliquer": "1"})
    assert _partstat(organiser, _only(organiser), attendee.address) == "ACCEPTED"

    # The organiser deletes the event: the attendee gets a CANCEL, applied from its card.
    client.post(reverse("calendar:event-delete", args=["agenda", event.href]))
    assert events.access_occurrences(organiser, *WEEK) == []
    cancel = _inbox(attendee)[-1]
    client.force_login(attendee)
    page = client.get(reverse("webmail:message", args=[cancel.mailbox_id, cancel.uid])).content.decode()
    assert "Événement annulé" in page and 'name="appliquer"' in page
    client.post(reverse("webmail:invitation", args=[cancel.mailbox_id, cancel.uid]), {"appliquer": "1"})
    assert events.access_occurrences(attendee, *WEEK) == []


def _outside_invitation(method: str, organizer: str, attendee: str, *, sender: str = "", sequence: int = 0,
                        uid: str = "040000008200E00074C5B7101A82E008@outlook.example", summary: str = "Jury du DNB") -> bytes:
    ics = (
        "BEGIN:VCALENDAR\r\nPRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r\nVERSION:2.0\r\n"
        f"METHOD:{method}\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\n"
        "TZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"
        "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"
        "DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
        f"BEGIN:VEVENT\r\nCREATED:20261201T090000Z\r\nLAST-MODIFIED:20261201T090000Z\r\nDTSTAMP:20261201T090000Z\r\n"
        f"UID:{uid}\r\nSUMMARY:{summary}\r\nSEQUENCE:{sequence}\r\n"
        f"ORGANIZER;CN=Rectorat Examens:mailto:{organizer}\r\n"
        f"ATTENDEE;CN=Invité;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{attendee}\r\n"
        "DTSTART;TZID=Europe/Paris:20261209T140000\r\nDTEND;TZID=Europe/Paris:20261209T160000\r\n"
        "LOCATION:Lycée Victor Hugo\\, salle B2\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    message = EmailMessage(policy=SMTP)
    message["From"] = sender or organizer
    message["To"] = attendee
    message["Subject"] = f"Invitation : {summary}"
    message["Message-ID"] = "<imip-test@outlook.example>"
    message.set_content("Vous êtes invité.")
    message.add_alternative(ics.encode(), maintype="text", subtype="calendar", params={"method": method, "charset": "UTF-8"})
    return message.as_bytes()


def test_outside_invitation_update_and_cancel(client, make_account):
    person = make_account("Paul", "Petit")
    client.force_login(person)
    _create_event(client, summary="Cours 3eB", start_date="2026-12-09", start_time="15:00", end_date="2026-12-09",
                  end_time="16:00")
    organizer = "examens@rectorat.example"
    first = _deliver(person, _outside_invitation("REQUEST", organizer, person.address))
    page = client.get(reverse("webmail:message", args=[first.mailbox_id, first.uid])).content.decode()
    assert "Jury du DNB" in page and "Lycée Victor Hugo, salle B2" in page
    assert "En même temps dans votre agenda" in page and "Cours 3eB" in page
    imip.do_answer_invitation(person, bytes(_raw(first)), "TENTATIVE")
    jury = next(o for o in events.access_occurrences(person, *WEEK) if o.summary == "Jury du DNB")
    assert _partstat(person, jury, person.address) == "TENTATIVE"

    # An update (higher SEQUENCE) from the same organiser updates the event.
    update = _deliver(person, _outside_invitation("REQUEST", organizer, person.address, sequence=1, summary="Jury du DNB (salle changée)"))
    imip.do_answer_invitation(person, _raw(update), "ACCEPTED")
    assert sorted(o.summary for o in events.access_occurrences(person, *WEEK)) == ["Cours 3eB", "Jury du DNB (salle changée)"]
    # The old invitation can no longer be answered.
    with pytest.raises(events.AgendaError, match="remplacée"):
        imip.do_answer_invitation(person, _raw(first), "ACCEPTED")

    # A CANCEL from the organiser removes it.
    cancel = _deliver(person, _outside_invitation("CANCEL", organizer, person.address, sequence=2))
    client.post(reverse("webmail:invitation", args=[cancel.mailbox_id, cancel.uid]), {"appliquer": "1"})
    assert [o.summary for o in events.access_occurrences(person, *WEEK)] == ["Cours 3eB"]


def _raw(message: Message) -> bytes:
    from academail.store.webmail import open_message

    return open_message(message.mailbox.account_id, message.mailbox_id, message.uid).raw


def test_forged_cancel_and_update_are_refused(client, make_account):
    person = make_account("Paul", "Petit")
    client.force_login(person)
    organizer = "examens@rectorat.example"
    invitation = _deliver(person, _outside_invitation("REQUEST", organizer, person.address))
    imip.do_answer_invitation(person, _raw(invitation), "ACCEPTED")

    # From someone else, naming the real organiser: refused, the card says why.
    forged = _deliver(person, _outside_invitation("CANCEL", organizer, person.address, sender="farceur@ailleurs.example"))
    page = client.get(reverse("webmail:message", args=[forged.mailbox_id, forged.uid])).content.decode()
    assert "n&#x27;est pas l&#x27;expéditeur" in page and 'name="appliquer"' not in page
    client.post(reverse("webmail:invitation", args=[forged.mailbox_id, forged.uid]), {"appliquer": "1"})
    # From someone naming themselves organiser of an event they did not organise: refused too.
    hijack = _deliver(person, _outside_invitation("CANCEL", "farceur@ailleurs.example", person.address))
    with pytest.raises(events.AgendaError, match="organisé par quelqu'un d'autre"):
        imip.do_apply_invitation(person, _raw(hijack))
    takeover = _deliver(person, _outside_invitation("REQUEST", "farceur@ailleurs.example", person.address,
                                                    sequence=5, summary="Annulé, rentrez chez vous"))
    with pytest.raises(events.AgendaError, match="organisé par quelqu'un d'autre"):
        imip.do_answer_invitation(person, _raw(takeover), "ACCEPTED")
    assert [o.summary for o in events.access_occurrences(person, *WEEK)] == ["Jury du DNB"]


def test_the_reply_is_an_itip_reply(client, make_account):
    person = make_account("Paul", "Petit")
    other = make_account("Anne", "Durand")
    invitation = _deliver(person, _outside_invitation("REQUEST", other.address, person.address))
    imip.do_answer_invitation(person, _raw(invitation), "DECLINED")
    assert events.access_occurrences(person, *WEEK) == []
    (reply,) = _inbox(other)
    import email
    from email import policy

    parsed = email.message_from_bytes(_raw(reply), policy=policy.default)
    (part,) = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REPLY"
    calendar = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    assert str(calendar["METHOD"]) == "REPLY"
    (answer,) = calendar.walk("VEVENT")
    assert str(answer["ATTENDEE"]).lower() == f"mailto:{person.address}" and answer["ATTENDEE"].params["PARTSTAT"] == "DECLINED"
    assert str(parsed["From"]) == person.address and parsed["Subject"].startswith("Refusé")


# --- applied at delivery (RFC 6047 §2.5): the agenda is right before the message is opened ------


def _card(client, message: Message) -> str:
    import html

    return html.unescape(client.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode())


def test_reply_and_cancel_change_the_agenda_as_they_arrive(client, make_account, django_capture_on_commit_callbacks):
    organiser, attendee = make_account("Anne", "Durand"), make_account("Paul", "Petit")
    client.force_login(organiser)
    with django_capture_on_commit_callbacks(execute=True):
        _create_event(client, guests=attendee.address)
    event = _only(organiser)
    assert events.access_occurrences(attendee, *WEEK) == []  # a REQUEST waits for the person's answer
    (request,) = _inbox(attendee)
    client.force_login(attendee)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("webmail:invitation", args=[request.mailbox_id, request.uid]), {"reponse": "ACCEPTED"})
    # The REPLY is in the organiser's agenda before anyone opens it; its card says so.
    assert _partstat(organiser, _only(organiser), attendee.address) == "ACCEPTED"
    (reply,) = _inbox(organiser)
    client.force_login(organiser)
    page = _card(client, reply)
    assert "Cette réponse est enregistrée dans votre agenda." in page and 'name="appliquer"' not in page
    # The organiser deletes the event: the CANCEL removes it from the attendee's agenda at delivery.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("calendar:event-delete", args=["agenda", event.href]))
    assert events.access_occurrences(attendee, *WEEK) == []
    client.force_login(attendee)
    page = _card(client, _inbox(attendee)[-1])
    assert "Cet événement n'est plus dans votre agenda." in page and 'name="appliquer"' not in page


def _deliver_now(capture, account, raw: bytes, *, prefix: bytes = b"") -> Message:
    from academail.delivery.route import deliver

    with capture(execute=True):
        (outcome,) = deliver(raw, [account.address], prefix=prefix)
    assert outcome.delivered, outcome
    return Message.objects.get(mailbox__account=account, mailbox__special_use="inbox", uid=outcome.uid)


def test_forged_or_unauthenticated_cancels_change_nothing_at_delivery(client, make_account, settings,
                                                                       django_capture_on_commit_callbacks):
    person = make_account("Paul", "Petit")
    organizer = "examens@rectorat.example"
    invitation = _deliver_now(django_capture_on_commit_callbacks, person,
                              _outside_invitation("REQUEST", organizer, person.address))
    imip.do_answer_invitation(person, _raw(invitation), "ACCEPTED")
    forged = _deliver_now(django_capture_on_commit_callbacks, person,
                          _outside_invitation("CANCEL", organizer, person.address, sender="farceur@ailleurs.example"))
    hijack = _deliver_now(django_capture_on_commit_callbacks, person,
                          _outside_invitation("CANCEL", "farceur@ailleurs.example", person.address))
    failing = (f"Authentication-Results: {settings.MAIL_HOSTNAME}; spf=fail smtp.mailfrom={organizer}; "
               "dmarc=fail header.from=rectorat.example\r\n").encode()
    spoofed = _deliver_now(django_capture_on_commit_callbacks, person,
                           _outside_invitation("CANCEL", organizer, person.address, sequence=3), prefix=failing)
    assert [o.summary for o in events.access_occurrences(person, *WEEK)] == ["Jury du DNB"]
    client.force_login(person)
    assert "n'est pas l'expéditeur" in _card(client, forged)
    assert "organisé par quelqu'un d'autre" in _card(client, hijack)
    assert "n'a pas pu être vérifiée" in _card(client, spoofed)
    # The genuine CANCEL, authenticated, removes it as it arrives.
    _deliver_now(django_capture_on_commit_callbacks, person,
                 _outside_invitation("CANCEL", organizer, person.address, sequence=4))
    assert events.access_occurrences(person, *WEEK) == []


def _edit(client, organiser, **fields) -> None:
    (event,) = events.access_occurrences(organiser, *WEEK)
    data = {"summary": event.summary, "calendar": "agenda", "start_date": f"{event.start:%Y-%m-%d}",
            "start_time": f"{event.start:%H:%M}", "end_date": f"{event.end:%Y-%m-%d}", "end_time": f"{event.end:%H:%M}",
            "location": event.location, "recurrence": "", "reminder": "0"}
    data.update(fields)
    assert client.post(reverse("calendar:event", args=["agenda", event.href]), data).status_code == 302


def test_updates_from_the_organiser_apply_as_they_arrive(client, make_account, django_capture_on_commit_callbacks):
    """RFC 5546 §3.2.2 between two accounts through the delivery door: a new
    place keeps the attendee's answer; a new time asks it again (the card says
    so); neither sends a REPLY for the person; an older REQUEST changes nothing."""
    organiser, attendee = make_account("Anne", "Durand"), make_account("Paul", "Petit")
    client.force_login(organiser)
    with django_capture_on_commit_callbacks(execute=True):
        _create_event(client, guests=attendee.address)
    (first,) = _inbox(attendee)
    client.force_login(attendee)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("webmail:invitation", args=[first.mailbox_id, first.uid]), {"reponse": "ACCEPTED"})
    assert len(_inbox(organiser)) == 1  # the one REPLY

    # The place changes: the attendee's copy follows at delivery, still accepted.
    client.force_login(organiser)
    with django_capture_on_commit_callbacks(execute=True):
        _edit(client, organiser, location="CDI")
    moved_place = _inbox(attendee)[-1]
    mine = _only(attendee)
    assert mine.location == "CDI" and _partstat(attendee, mine, attendee.address) == "ACCEPTED"
    client.force_login(attendee)
    card = _card(client, moved_place)
    assert "Cette mise à jour est enregistrée dans votre agenda." in card and "confirmez votre réponse" not in card

    # The time changes: the copy moves, the answer is asked again, nothing is sent for the person.
    client.force_login(organiser)
    with django_capture_on_commit_callbacks(execute=True):
        _edit(client, organiser, start_time="18:00", end_time="19:00")
    moved_time = _inbox(attendee)[-1]
    mine = _only(attendee)
    assert (mine.start.hour, mine.location) == (18, "CDI")
    assert _partstat(attendee, mine, attendee.address) == "NEEDS-ACTION"
    assert len(_inbox(organiser)) == 1
    client.force_login(attendee)
    card = _card(client, moved_time)
    assert "L'organisateur a modifié l'événement, confirmez votre réponse." in card and 'value="ACCEPTED"' in card
    # The person confirms from the card: that, and only that, sends a REPLY.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("webmail:invitation", args=[moved_time.mailbox_id, moved_time.uid]), {"reponse": "ACCEPTED"})
    assert _partstat(attendee, _only(attendee), attendee.address) == "ACCEPTED"
    assert len(_inbox(organiser)) == 2
    assert _partstat(organiser, _only(organiser), attendee.address) == "ACCEPTED"
    # The first, older REQUEST can no longer change anything.
    with pytest.raises(events.AgendaError, match="remplacé"):
        imip.do_apply_invitation(attendee, _raw(first))
    assert _only(attendee).start.hour == 18


def _thunderbird_series(method: str, organizer: str, attendee: str, *, sequence: int, start: str = "080000",
                        partstat: str = "NEEDS-ACTION", rsvp: str = "TRUE", recurrence_id: str = "") -> bytes:
    """A weekly series as Thunderbird and Outlook write an update (ATTENDEE
    with the organiser's idea of each PARTSTAT) or a CANCEL of one occurrence."""
    rule = "" if recurrence_id else "RRULE:FREQ=WEEKLY;COUNT=4\r\n"
    which = f"RECURRENCE-ID;TZID=Europe/Paris:{recurrence_id}\r\n" if recurrence_id else ""
    day = recurrence_id[:8] if recurrence_id else "20261207"
    ics = (
        "BEGIN:VCALENDAR\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\nVERSION:2.0\r\n"
        f"METHOD:{method}\r\n" + events.PARIS_VTIMEZONE +
        f"BEGIN:VEVENT\r\nUID:serie-conseil@outlook.example\r\n{which}SEQUENCE:{sequence}\r\n"
        f"DTSTAMP:2026120{1 + sequence}T090000Z\r\nSUMMARY:Conseil d'enseignement\r\n"
        f"ORGANIZER;CN=Principal:mailto:{organizer}\r\n"
        f"ATTENDEE;PARTSTAT={partstat};RSVP={rsvp};ROLE=REQ-PARTICIPANT:mailto:{attendee}\r\n"
        f"DTSTART;TZID=Europe/Paris:{day}T{start}\r\nDURATION:PT1H\r\n{rule}LOCATION:Salle 3\r\n"
        + ("STATUS:CANCELLED\r\n" if method == "CANCEL" else "") + "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    message = EmailMessage(policy=SMTP)
    message["From"] = organizer
    message["To"] = attendee
    message["Subject"] = "Conseil d'enseignement"
    message.set_content("Mise à jour.")
    message.add_alternative(ics.encode(), maintype="text", subtype="calendar", params={"method": method, "charset": "UTF-8"})
    return message.as_bytes()


def test_outside_updates_keep_the_answer_unless_the_time_moves(client, make_account, django_capture_on_commit_callbacks):
    """Outlook sends every attendee as NEEDS-ACTION;RSVP=TRUE in any update:
    with the same times the person's answer stays. A moved series is asked
    again. A CANCEL of one occurrence removes that one only."""
    person = make_account("Paul", "Petit")
    organizer = "principal@college.example"
    invitation = _deliver_now(django_capture_on_commit_callbacks, person,
                              _thunderbird_series("REQUEST", organizer, person.address, sequence=0))
    imip.do_answer_invitation(person, _raw(invitation), "TENTATIVE")
    assert events.access_by_uid(person, "serie-conseil@outlook.example") is not None

    _deliver_now(django_capture_on_commit_callbacks, person,
                 _thunderbird_series("REQUEST", organizer, person.address, sequence=1))
    (monday,) = [o for o in events.access_occurrences(person, *WEEK) if o.summary == "Conseil d'enseignement"]
    assert _partstat(person, monday, person.address) == "TENTATIVE"

    moved = _deliver_now(django_capture_on_commit_callbacks, person,
                         _thunderbird_series("REQUEST", organizer, person.address, sequence=2, start="100000"))
    (monday,) = events.access_occurrences(person, *WEEK)
    assert monday.start.hour == 10 and _partstat(person, monday, person.address) == "NEEDS-ACTION"
    client.force_login(person)
    assert "confirmez votre réponse" in _card(client, moved)

    following = (WEEK[0] + dt.timedelta(days=7), WEEK[1] + dt.timedelta(days=7))
    assert len(events.access_occurrences(person, *following)) == 1
    _deliver_now(django_capture_on_commit_callbacks, person,
                 _thunderbird_series("CANCEL", organizer, person.address, sequence=3, start="100000",
                                     recurrence_id="20261214T100000"))
    assert events.access_occurrences(person, *following) == []
    assert len(events.access_occurrences(person, *WEEK)) == 1
    # A forged update (another sender) changes nothing.
    forged = _thunderbird_series("REQUEST", organizer, person.address, sequence=9, start="060000").replace(
        f"From: {organizer}".encode(), b"From: farceur@ailleurs.example")
    _deliver_now(django_capture_on_commit_callbacks, person, forged)
    assert events.access_occurrences(person, *WEEK)[0].start.hour == 10
