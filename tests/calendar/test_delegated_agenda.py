"""A delegation covers the agenda (issue 19 §2): the delegate sees, and with
the right changes, the owner's agenda in the webmail and over CalDAV (the
``caldav`` client against the live server), answers invitations on the
owner's behalf (RFC 5545 §3.2.18 SENT-BY, ``Sender:`` the delegate), every
change in both journals; access ends the instant the delegation does."""

from __future__ import annotations

import datetime as dt
import email
from datetime import timedelta
from email import policy

import caldav
import icalendar
import pytest
import requests
from caldav.lib import error as caldav_error
from django.urls import reverse
from django.utils import timezone

from academail.calendar import events
from academail.sharing import delegation
from tests.calendar.test_imip import _deliver, _inbox, _outside_invitation, _raw
from tests.sharing.helpers import client_for as _client
from tests.sharing.helpers import text as _text

WEEK = (dt.datetime(2026, 12, 7, tzinfo=events.PARIS), dt.datetime(2026, 12, 14, tzinfo=events.PARIS))
EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//tests//academail//FR
BEGIN:VEVENT
UID:{uid}@tests
DTSTAMP:20261201T080000Z
DTSTART;TZID=Europe/Paris:20261210T170000
DTEND;TZID=Europe/Paris:20261210T183000
SUMMARY:{summary}
END:VEVENT
END:VCALENDAR
"""


def _journal(account) -> list[str]:
    return list(account.journal.values_list("detail", flat=True))


def _delegate(owner, delegate, agenda: str) -> None:
    delegation.check_delegate(owner, delegate.identifier, timezone.localdate() + timedelta(days=14),
                              on_behalf=False, agenda=agenda)


def _event(client, summary: str, **extra) -> int:
    data = {"summary": summary, "calendar": "agenda", "start_date": "2026-12-10", "start_time": "09:00",
            "end_date": "2026-12-10", "end_time": "10:00", "recurrence": "", "reminder": "0", **extra}
    return client.post(reverse("calendar:event-new"), data).status_code


def _summaries(account) -> list[str]:
    return [o.summary for o in events.access_occurrences(account, *WEEK)]


@pytest.mark.django_db(transaction=True)
def test_webmail_agenda_of_the_principal_read_then_write_then_ended(make_account):
    principal, secretary, outsider = make_account("Paul", "Girard"), make_account("Inès", "Morel"), make_account(
        "Jean", "Dupont")
    assert _event(_client(principal), "Conseil d'administration") == 302
    mine = f"{reverse('calendar:agenda')}?date=2026-12-10&de={principal.address}"
    desk = _client(secretary)
    assert desk.get(mine).status_code == 404  # nothing delegated yet

    # The sharing page's form: "Consulter mon agenda".
    assert _client(principal).post(reverse("sharing:index"), {
        "action": "delegate", "identifier": secretary.identifier, "agenda": "read",
        "until": (timezone.localdate() + timedelta(days=14)).isoformat(),
    }).status_code == 302
    assert "agenda en lecture" in _text(_client(principal).get(reverse("sharing:index")))
    page = _text(desk.get(mine))
    assert "Conseil d'administration" in page and "lecture seule" in page and "Mon agenda" in page
    assert "Paul Girard" in _text(desk.get(reverse("calendar:agenda")))  # the switcher
    assert 'href="/agenda/nouveau/' not in page  # no "Nouvel événement" on a read-only agenda
    assert ".ics/?de=" in page  # the event's link stays on the principal's agenda
    refused = desk.post(reverse("calendar:event-new"), {"de": principal.address, "summary": "Intrus",
                                                        "calendar": "agenda", "start_date": "2026-12-10",
                                                        "start_time": "11:00", "end_date": "2026-12-10",
                                                        "end_time": "12:00", "recurrence": "", "reminder": "0"},
                        follow=True)
    assert "lecture seule" in _text(refused)
    assert _summaries(principal) == ["Conseil d'administration"]
    assert _client(outsider).get(mine).status_code == 404  # same answer as an unknown address
    assert _client(outsider).get(f"{reverse('calendar:agenda')}?de=personne@ac-demo.fr").status_code == 404

    _delegate(principal, secretary, "write")
    assert _event(desk, "Rendez-vous parents de Léa", de=principal.address) == 302
    assert _summaries(principal) == ["Conseil d'administration", "Rendez-vous parents de Léa"]
    assert _summaries(secretary) == []  # into the principal's agenda, not hers
    assert any("Inès Morel (imorel) a ajouté l'événement « Rendez-vous parents de Léa » dans votre agenda" in d
               for d in _journal(principal))
    assert any(f"a ajouté l'événement « Rendez-vous parents de Léa » dans l'agenda de {principal.address}" in d
               for d in _journal(secretary))
    occurrence = next(o for o in events.access_occurrences(principal, *WEEK) if o.summary.startswith("Rendez"))
    assert desk.post(reverse("calendar:event-delete", args=["agenda", occurrence.href]),
                     {"de": principal.address}).status_code == 302
    assert _summaries(principal) == ["Conseil d'administration"]
    assert any("(imorel) a supprimé un événement" in d for d in _journal(principal))

    # The principal withdraws the delegation: gone at the next request.
    delegation.do_unshare(principal, secretary.pk, None)
    assert desk.get(mine).status_code == 404
    assert _event(desk, "Trop tard", de=principal.address) == 404
    assert "Paul Girard" not in _text(desk.get(reverse("calendar:agenda")))


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_caldav_client_on_a_delegated_agenda(live_server, dav_user):
    principal, secretary = dav_user("Paul", "Girard"), dav_user("Inès", "Morel")
    owner = principal.account
    url = f"{live_server.url}/dav/{principal.identifier}/agenda/"
    own = caldav.DAVClient(url=live_server.url + "/dav/", username=principal.identifier, password=principal.secret)
    own.principal().calendars()[0].save_event(EVENT.format(uid="ca", summary="Conseil d'administration"))
    desk = caldav.DAVClient(url=live_server.url + "/dav/", username=secretary.identifier, password=secretary.secret)
    auth = (secretary.identifier, secretary.secret)
    assert requests.request("PROPFIND", url, auth=auth, headers={"Depth": "0"}, timeout=10).status_code in (403, 404)

    _delegate(owner, secretary.account, "read")
    theirs = desk.calendar(url=url)
    found = theirs.search(start=dt.datetime(2026, 12, 1), end=dt.datetime(2026, 12, 31), event=True)
    assert [str(e.icalendar_component["summary"]) for e in found] == ["Conseil d'administration"]
    with pytest.raises(caldav_error.DAVError):
        theirs.save_event(EVENT.format(uid="intrus", summary="Intrus"))
    assert _summaries(owner) == ["Conseil d'administration"]
    # The home lists the calendars only; the address book stays private.
    listing = requests.request("PROPFIND", f"{live_server.url}/dav/{principal.identifier}/", auth=auth,
                               headers={"Depth": "1"}, timeout=10)
    assert listing.status_code == 207 and "/agenda/" in listing.text and "/contacts/" not in listing.text
    assert requests.get(f"{live_server.url}/dav/{principal.identifier}/contacts/", auth=auth,
                        timeout=10).status_code in (403, 404)

    _delegate(owner, secretary.account, "write")
    theirs.save_event(EVENT.format(uid="rdv", summary="Rendez-vous parents"))
    assert _summaries(owner) == ["Conseil d'administration", "Rendez-vous parents"]
    assert any("a enregistré un événement (CalDAV) dans votre agenda" in d for d in _journal(owner))
    assert any(f"a enregistré un événement (CalDAV) dans l'agenda de {owner.address}" in d
               for d in _journal(secretary.account))
    # The events, never the calendar itself.
    assert requests.request("DELETE", url, auth=auth, timeout=10).status_code in (401, 403)
    assert _summaries(owner) == ["Conseil d'administration", "Rendez-vous parents"]

    # The delegation's period ends: refused at the very next request.
    delegation.check_delegate(owner, secretary.identifier, timezone.localdate(), on_behalf=False, agenda="write")
    from academail.store.models import Grant

    Grant.objects.filter(owner=owner).update(ends_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(caldav_error.DAVError):
        theirs.search(start=dt.datetime(2026, 12, 1), end=dt.datetime(2026, 12, 31), event=True)


@pytest.mark.django_db(transaction=True)
def test_an_invitation_answered_on_the_principals_behalf(make_account):
    principal, secretary = make_account("Paul", "Girard"), make_account("Inès", "Morel")
    organiser = make_account("Anne", "Durand")
    invitation = _deliver(principal, _outside_invitation("REQUEST", organiser.address, principal.address))
    desk = _client(secretary)
    card = reverse("webmail:message", args=[invitation.mailbox_id, invitation.uid])
    answer = reverse("webmail:invitation", args=[invitation.mailbox_id, invitation.uid])

    # Mail delegated, agenda not: the card offers no answer and the post is refused.
    _delegate(principal, secretary, "none")
    page = _text(desk.get(card))
    assert "Jury du DNB" in page and "ne vous a pas délégué son agenda" in page and 'value="ACCEPTED"' not in page
    assert "ne vous délègue pas son agenda" in _text(desk.post(answer, {"reponse": "ACCEPTED"}, follow=True))
    _delegate(principal, secretary, "read")
    assert 'value="ACCEPTED"' not in _text(desk.get(card))
    assert _summaries(principal) == [] and _inbox(organiser) == []

    _delegate(principal, secretary, "write")
    page = _text(desk.get(card))
    assert f"Vous répondez de la part de {principal.address}" in page and 'value="ACCEPTED"' in page
    assert desk.post(answer, {"reponse": "ACCEPTED"}).status_code == 302
    assert _summaries(principal) == ["Jury du DNB"] and _summaries(secretary) == []
    (stored,) = events.access_occurrences(principal, *WEEK)
    kept = next(iter(events.access_stored(principal, "agenda", stored.href).walk("VEVENT")))
    attendee = kept["ATTENDEE"]
    assert attendee.params["PARTSTAT"] == "ACCEPTED" and attendee.params["SENT-BY"] == f"mailto:{secretary.address}"

    (reply,) = _inbox(organiser)
    parsed = email.message_from_bytes(_raw(reply), policy=policy.default)
    assert parsed["From"].addresses[0].addr_spec == principal.address
    assert parsed["Sender"].addresses[0].addr_spec == secretary.address  # RFC 5322 §3.6.2
    (part,) = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    (itip,) = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")
    assert str(itip["ATTENDEE"]).lower() == f"mailto:{principal.address}"
    assert itip["ATTENDEE"].params["SENT-BY"] == f"mailto:{secretary.address}"  # RFC 5545 §3.2.18
    assert any("a répondu « Accepté » à une invitation dans votre agenda" in d for d in _journal(principal))
    assert any(f"dans l'agenda de {principal.address}" in d for d in _journal(secretary))
