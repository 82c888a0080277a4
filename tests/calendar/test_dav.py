"""CalDAV/CardDAV through /dav/ over a real socket (pytest-django's live
server), driven by the ``caldav`` client library and by raw DAV requests."""

from __future__ import annotations

import datetime as dt
from base64 import b64encode

import caldav
import pytest
import requests

from academail.accounts.models import EventKind, JournalEntry

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//tests//academail//FR
BEGIN:VEVENT
UID:conseil-3b@tests
DTSTAMP:20261201T080000Z
DTSTART;TZID=Europe/Paris:20261210T170000
DTEND;TZID=Europe/Paris:20261210T183000
SUMMARY:Conseil de classe 3eB
LOCATION:Salle 12
END:VEVENT
END:VCALENDAR
"""


def _auth(user):
    return {"Authorization": "Basic " + b64encode(f"{user.identifier}:{user.secret}".encode()).decode()}


def test_caldav_client_creates_syncs_and_deletes_an_event(live_server, dav_user):
    user = dav_user()
    client = caldav.DAVClient(url=live_server.url + "/dav/", username=user.identifier, password=user.secret)
    principal = client.principal()
    calendars = principal.calendars()
    assert [c.get_display_name() for c in calendars] == ["Agenda"]
    agenda = calendars[0]

    agenda.save_event(EVENT)
    found = agenda.search(start=dt.datetime(2026, 12, 1), end=dt.datetime(2026, 12, 31), event=True, expand=False)
    assert [str(e.icalendar_component["summary"]) for e in found] == ["Conseil de classe 3eB"]

    # A second client syncs (RFC 6578 sync-collection) and sees the event, then its deletion.
    other = caldav.DAVClient(url=live_server.url + "/dav/", username=user.identifier, password=user.secret)
    mirror = other.principal().calendars()[0]
    synced = mirror.objects_by_sync_token(load_objects=True)
    assert [str(o.icalendar_component["uid"]) for o in synced] == ["conseil-3b@tests"]
    token = synced.sync_token

    found[0].delete()
    assert agenda.search(start=dt.datetime(2026, 12, 1), end=dt.datetime(2026, 12, 31), event=True) == []
    changes = mirror.objects_by_sync_token(sync_token=token, load_objects=False)
    assert len(list(changes)) == 1  # the deleted href


def test_each_account_has_an_address_book_and_the_read_only_directory(live_server, dav_user):
    from academail.calendar.directory import do_generate_directory

    user = dav_user()
    dav_user("Hervé", "Le Guen", establishment="Collège Jules Ferry")
    report = do_generate_directory()
    assert report.cards == 2
    response = requests.request(
        "PROPFIND", f"{live_server.url}/dav/{user.identifier}/", headers={**_auth(user), "Depth": "1"}, timeout=10)
    assert response.status_code == 207
    assert f"/dav/{user.identifier}/contacts/" in response.text
    assert f"/dav/{user.identifier}/annuaire/" in response.text
    assert "Annuaire de l'acad" in response.text

    cards = requests.request(
        "PROPFIND", f"{live_server.url}/dav/{user.identifier}/annuaire/", headers={**_auth(user), "Depth": "1"},
        timeout=10)
    assert cards.status_code == 207
    card = requests.get(f"{live_server.url}/dav/{user.identifier}/annuaire/", headers=_auth(user), timeout=10)
    assert "FN:Hervé Le Guen" in card.text and "ORG:Collège Jules Ferry" in card.text
    assert "NUMEN" not in card.text

    # Read-only: no card can be written or deleted there.
    put = requests.put(f"{live_server.url}/dav/{user.identifier}/annuaire/x.vcf", headers=_auth(user),
                       data="BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:X\r\nN:X;;;;\r\nEND:VCARD\r\n", timeout=10)
    assert put.status_code == 403
    delete = requests.delete(f"{live_server.url}/dav/{user.identifier}/annuaire/", headers=_auth(user), timeout=10)
    assert delete.status_code == 403


def test_another_accounts_collections_are_refused(live_server, dav_user):
    owner, intruder = dav_user(), dav_user("Paul", "Durand")
    requests.request("PROPFIND", f"{live_server.url}/dav/{owner.identifier}/", headers=_auth(owner), timeout=10)
    for method, path in (("PROPFIND", f"/dav/{owner.identifier}/"), ("PROPFIND", f"/dav/{owner.identifier}/agenda/"),
                         ("GET", f"/dav/{owner.identifier}/agenda/"),
                         ("PUT", f"/dav/{owner.identifier}/agenda/x.ics"),
                         ("DELETE", f"/dav/{owner.identifier}/agenda/")):
        response = requests.request(method, live_server.url + path, headers={**_auth(intruder), "Depth": "1"},
                                    data=EVENT if method == "PUT" else None, timeout=10)
        assert response.status_code in (403, 404), (method, path, response.status_code)


def test_wrong_credentials_are_refused_journaled_and_throttled(live_server, dav_user):
    user = dav_user()
    bad = {"Authorization": "Basic " + b64encode(f"{user.identifier}:wrong-password".encode()).decode()}
    response = requests.request("PROPFIND", f"{live_server.url}/dav/", headers=bad, timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert JournalEntry.objects.filter(account=user.account, kind=EventKind.SIGNIN_FAILED, protocol="dav").exists()
    statuses = [requests.request("PROPFIND", f"{live_server.url}/dav/", headers=bad, timeout=10).status_code
                for _ in range(12)]
    assert 429 in statuses
    anonymous = requests.request("PROPFIND", f"{live_server.url}/dav/{user.identifier}/", timeout=10)
    assert anonymous.status_code == 401


def test_a_good_sign_in_is_journaled_once_per_burst(live_server, dav_user):
    user = dav_user()
    for _ in range(5):
        assert requests.request("PROPFIND", f"{live_server.url}/dav/{user.identifier}/", headers=_auth(user),
                                timeout=10).status_code == 207
    assert JournalEntry.objects.filter(account=user.account, kind__in=[EventKind.SIGNIN, EventKind.NEW_DEVICE],
                                       protocol="dav").count() == 1


def test_a_remembered_sign_in_ends_with_its_app_password_or_account(live_server, dav_user):
    """The login cache (``accounts.authcache.remembered_sign_in``) holds a DAV
    success for a minute, but a revoked app password or a disabled account is
    refused at the next request, not a minute later (issue 18 §4)."""
    from academail.accounts.models import AppPassword, Status

    user = dav_user()
    url = f"{live_server.url}/dav/{user.identifier}/"
    assert requests.request("PROPFIND", url, headers=_auth(user), timeout=10).status_code == 207
    AppPassword.objects.filter(account=user.account).delete()
    assert requests.request("PROPFIND", url, headers=_auth(user), timeout=10).status_code == 401
    other = dav_user("Paul", "Durand")
    assert requests.request("PROPFIND", f"{live_server.url}/dav/{other.identifier}/", headers=_auth(other),
                            timeout=10).status_code == 207
    other.account.status = Status.DISABLED
    other.account.save(update_fields=["status"])
    assert requests.request("PROPFIND", f"{live_server.url}/dav/{other.identifier}/", headers=_auth(other),
                            timeout=10).status_code == 401


def test_well_known_paths_lead_to_the_dav_root(live_server):
    for service in ("caldav", "carddav"):
        response = requests.request("PROPFIND", f"{live_server.url}/.well-known/{service}", allow_redirects=False,
                                    timeout=10)
        assert response.status_code == 301
        assert response.headers["Location"] == "/dav/"


def test_the_web_session_may_read_but_not_write(live_server, dav_user, client):
    user = dav_user()
    client.force_login(user.account)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    read = session.request("PROPFIND", f"{live_server.url}/dav/{user.identifier}/", headers={"Depth": "1"},
                           timeout=10)
    assert read.status_code == 207
    write = session.put(f"{live_server.url}/dav/{user.identifier}/agenda/x.ics", data=EVENT, timeout=10)
    assert write.status_code == 401


def test_the_directory_is_regenerated_incrementally(dav_user, settings):
    from academail.accounts.models import Status
    from academail.calendar.directory import do_generate_directory

    first, second = dav_user(), dav_user("Paul", "Durand", establishment="Lycée Victor Hugo")
    assert do_generate_directory().written == 2
    again = do_generate_directory()
    assert (again.cards, again.written, again.removed) == (2, 0, 0)
    second.account.status = Status.DISABLED
    second.account.save()
    gone = do_generate_directory()
    assert (gone.cards, gone.removed) == (1, 1)
    folder = settings.DAV_DIR / "directory"
    assert sorted(p.name for p in folder.glob("*.vcf")) == [f"{first.identifier}.vcf"]


def test_phone_and_webmail_see_the_same_events(live_server, dav_user):
    from zoneinfo import ZoneInfo

    from academail.calendar import events

    paris = ZoneInfo("Europe/Paris")
    user = dav_user()
    client = caldav.DAVClient(url=live_server.url + "/dav/", username=user.identifier, password=user.secret)
    agenda = client.principal().calendars()[0]
    agenda.save_event(EVENT)
    week = events.access_occurrences(user.account, dt.datetime(2026, 12, 7, tzinfo=paris),
                                     dt.datetime(2026, 12, 14, tzinfo=paris))
    assert [o.summary for o in week] == ["Conseil de classe 3eB"]
    events.check_save_event(user.account, events.EventDraft(
        summary="Réunion parents", start=dt.datetime(2026, 12, 11, 18, tzinfo=paris),
        end=dt.datetime(2026, 12, 11, 20, tzinfo=paris), recurrence="weekly", reminder=60))
    found = agenda.search(start=dt.datetime(2026, 12, 11), end=dt.datetime(2026, 12, 12), event=True, expand=False)
    (event,) = [e for e in found if str(e.icalendar_component["summary"]) == "Réunion parents"]
    assert "VALARM" in event.data and "RRULE:FREQ=WEEKLY" in event.data
