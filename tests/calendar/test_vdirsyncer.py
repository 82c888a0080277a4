"""vdirsyncer (Debian's) syncs the Agenda and the address book both ways
through /dav/, as a desktop user's sync tool would."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VDIRSYNCER = shutil.which("vdirsyncer") or "/usr/bin/vdirsyncer"

CONFIG = """[general]
status_path = "{root}/status/"

[pair agenda]
a = "agenda_local"
b = "agenda_remote"
collections = ["agenda"]
conflict_resolution = "b wins"

[storage agenda_local]
type = "filesystem"
path = "{root}/calendars/"
fileext = ".ics"

[storage agenda_remote]
type = "caldav"
url = "{url}/dav/"
username = "{identifier}"
password = "{secret}"

[pair contacts]
a = "contacts_local"
b = "contacts_remote"
collections = ["contacts"]

[storage contacts_local]
type = "filesystem"
path = "{root}/contacts/"
fileext = ".vcf"

[storage contacts_remote]
type = "carddav"
url = "{url}/dav/"
username = "{identifier}"
password = "{secret}"
"""

EVENT = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//tests//vdirsyncer//FR\r
BEGIN:VEVENT\r
UID:reunion-parents@tests\r
DTSTAMP:20261201T080000Z\r
DTSTART;TZID=Europe/Paris:20261215T180000\r
DTEND;TZID=Europe/Paris:20261215T200000\r
SUMMARY:Réunion parents-professeurs\r
END:VEVENT\r
END:VCALENDAR\r
"""

CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:parent-1@tests\r\nFN:Mme Dupont\r\nN:Dupont;;;;\r\nEMAIL:dupont@example.org\r\nEND:VCARD\r\n"


def _run(config, *args):
    result = subprocess.run([VDIRSYNCER, "-c", str(config), *args], input="y\n" * 10, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_vdirsyncer_syncs_a_calendar_and_an_address_book(live_server, dav_user, tmp_path):
    import caldav

    assert shutil.which(VDIRSYNCER) or VDIRSYNCER, "vdirsyncer is missing: make system-deps"
    user = dav_user()
    root = tmp_path / "vdir"
    config = tmp_path / "config"
    config.write_text(CONFIG.format(root=root, url=live_server.url, identifier=user.identifier, secret=user.secret))
    _run(config, "discover")
    _run(config, "sync")

    # Local -> server: an event and a card written locally appear on the server.
    (root / "calendars" / "agenda" / "reunion.ics").write_text(EVENT)
    (root / "contacts" / "contacts" / "dupont.vcf").write_text(CARD)
    _run(config, "sync")
    client = caldav.DAVClient(url=live_server.url + "/dav/", username=user.identifier, password=user.secret)
    agenda = client.principal().calendars()[0]
    events = agenda.events()
    assert [str(e.icalendar_component["summary"]) for e in events] == ["Réunion parents-professeurs"]
    book = client.principal().calendar(cal_url=f"{live_server.url}/dav/{user.identifier}/contacts/")
    assert "Mme Dupont" in client.request(str(book.url)).raw

    # Server -> local: an event created through CalDAV arrives in the folder.
    agenda.save_event(EVENT.replace("reunion-parents@tests", "conseil@tests").replace(
        "Réunion parents-professeurs", "Conseil de classe"))
    _run(config, "sync")
    texts = [p.read_text() for p in (root / "calendars" / "agenda").glob("*.ics")]
    assert any("Conseil de classe" in text for text in texts) and len(texts) == 2


# The same Agenda pair, listing only December 2026 (a time-range calendar-query).
RANGED = CONFIG.split("[pair contacts]")[0].replace(
    'password = "{secret}"\n', 'password = "{secret}"\nstart_date = "datetime(2026, 12, 1)"\nend_date = "datetime(2027, 1, 1)"\n')


def test_vdirsyncer_with_a_date_range_gets_what_radicale_would_match(live_server, dav_user, tmp_path):
    """With start_date/end_date vdirsyncer lists the calendar with a time-range
    calendar-query asking getetag (answered from the event index): exactly the
    events Radicale's own filter matches arrive, and their ETags are the ones
    Radicale gives them."""
    import caldav

    from academail.calendar import dav

    user = dav_user()
    client = caldav.DAVClient(url=live_server.url + "/dav/", username=user.identifier, password=user.secret)
    agenda = client.principal().calendars()[0]
    agenda.save_event(EVENT)
    agenda.save_event(EVENT.replace("reunion-parents@tests", "janvier@tests").replace("20261215", "20270112"))
    agenda.save_event(EVENT.replace("reunion-parents@tests", "hebdo@tests").replace("20261215", "20261103")
                      .replace("END:VEVENT", "RRULE:FREQ=WEEKLY;COUNT=6\r\nEND:VEVENT"))
    root = tmp_path / "vdir"
    config = tmp_path / "config"
    config.write_text(RANGED.format(root=root, url=live_server.url, identifier=user.identifier, secret=user.secret))
    _run(config, "discover")
    _run(config, "sync")
    uids = sorted(line for path in (root / "calendars" / "agenda").glob("*.ics")
                  for line in path.read_text().splitlines() if line.startswith("UID:"))
    assert uids == ["UID:hebdo@tests", "UID:reunion-parents@tests"]
    query = ('<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
             "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\"><C:comp-filter name=\"VEVENT\">"
             '<C:time-range start="20261201T000000Z" end="20270101T000000Z"/></C:comp-filter></C:comp-filter>'
             "</C:filter></C:calendar-query>")
    _, _, own = dav.call(user.identifier, "REPORT", f"/{user.identifier}/agenda/", query.encode(), {"Depth": "1"})
    # vdirsyncer's status (SQLite) keeps the remote ETags it listed: Radicale's own.
    with sqlite3.connect(root / "status" / "agenda" / "agenda.items") as status:
        kept = " ".join(str(value) for table, in status.execute("SELECT name FROM sqlite_master WHERE type='table'")
                        for row in status.execute(f'SELECT * FROM "{table}"') for value in row)
    etags = re.findall(r"<getetag>([^<]+)</getetag>", own.decode())
    assert len(etags) == 2 and all(etag in kept for etag in etags)
