"""CalDAV time-range queries answered from the event index.

A ``calendar-query`` REPORT (RFC 4791 §7.8) whose only filter is a
``time-range`` on VEVENTs (what phones and Thunderbird send to sync a
period) makes Radicale parse every event of the calendar with vobject to
test it: seconds for a few thousand events. Here the same question is
answered from ``calendar.index`` (the occurrences overlapping the range, RFC
4791 §9.9 semantics, recurrences expanded) and the REPORT is handed to
Radicale as a ``calendar-multiget`` (§7.9) of those resources with the same
requested properties: the same multistatus, properties and calendar-data
(``expand`` and ``limit-recurrence-set`` included), from the matching files
only. Any other query (text matches, property filters, VTODOs, open-ended
ranges) goes to Radicale unchanged.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET  # noqa: S405 - Radicale parses the same authenticated body with it
from urllib.parse import quote

from academail.accounts.models import Account
from academail.calendar import events

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
MAX_BODY = 64 * 1024
MAX_RANGE = dt.timedelta(days=366)
_PREFIX = "/dav"


def _tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _utc(text: str | None) -> dt.datetime | None:
    """A time-range bound: DATE-TIME in UTC, ``YYYYMMDDTHHMMSSZ`` (RFC 4791 §9.9)."""
    try:
        return dt.datetime.strptime(text or "", "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _time_range(query: ET.Element) -> tuple[dt.datetime, dt.datetime] | None:
    """The range of ``filter/comp-filter[VCALENDAR]/comp-filter[VEVENT]/time-range``
    when that is the whole filter; None for anything else."""
    children = list(query)
    filters = [c for c in children if c.tag == _tag(CALDAV, "filter")]
    if len(filters) != 1 or any(c.tag not in (_tag(DAV, "prop"), _tag(CALDAV, "filter")) for c in children):
        return None
    calendar = list(filters[0])
    if len(calendar) != 1 or calendar[0].tag != _tag(CALDAV, "comp-filter") or calendar[0].get("name") != "VCALENDAR":
        return None
    event = list(calendar[0])
    if len(event) != 1 or event[0].tag != _tag(CALDAV, "comp-filter") or event[0].get("name") != "VEVENT":
        return None
    bounds = list(event[0])
    if len(bounds) != 1 or bounds[0].tag != _tag(CALDAV, "time-range"):
        return None
    start, end = _utc(bounds[0].get("start")), _utc(bounds[0].get("end"))
    if start is None or end is None or not start < end <= start + MAX_RANGE:
        return None
    return start, end


def rewrite_calendar_query(account: Account, path: str, body: bytes) -> bytes | None:
    """For a REPORT on one of ``account``'s own calendars (``path`` below
    ``/dav``): the equivalent ``calendar-multiget`` body, or None to let
    Radicale answer ``body`` itself."""
    parts = [p for p in path.split("/") if p]
    if len(parts) != 2 or parts[0] != account.identifier or len(body) > MAX_BODY:
        return None
    try:
        query = ET.fromstring(body)  # noqa: S314 - size-bounded, authenticated; Radicale parses it anyway
    except ET.ParseError:
        return None
    if query.tag != _tag(CALDAV, "calendar-query"):
        return None
    window = _time_range(query)
    info = next((c for c in events.access_calendars(account) if c.name == parts[1]), None)
    if window is None or info is None:
        return None
    hrefs = events.access_hrefs(account, info, *window)
    multiget = ET.Element(_tag(CALDAV, "calendar-multiget"))
    for child in query:
        if child.tag == _tag(DAV, "prop"):
            multiget.append(child)
    for href in hrefs:
        ET.SubElement(multiget, _tag(DAV, "href")).text = (
            f"{_PREFIX}/{quote(account.identifier)}/{quote(info.name)}/{quote(href)}")
    return ET.tostring(multiget, encoding="utf-8", xml_declaration=True)
