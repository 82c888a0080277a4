"""CalDAV time-range queries answered from the event index.

A ``calendar-query`` REPORT (RFC 4791 §7.8) whose only filter is a
``time-range`` on VEVENTs (what phones and Thunderbird send to sync a
period) makes Radicale parse every event of the calendar with vobject to
test it: seconds for a few thousand events. Here the same question is
answered from ``calendar.index`` (the occurrences overlapping the range, RFC
4791 §9.9 semantics, recurrences expanded), in two ways:

- asking only ``getetag`` and/or plain ``calendar-data`` (what DAVx⁵,
  Thunderbird, iOS and vdirsyncer ask): the multistatus is written here, from
  the ETag and calendar-data the index keeps for each file as Radicale
  served them (``events.access_served``), in Radicale's XML form;
- any other property, or ``calendar-data`` with ``limit-recurrence-set`` or
  a component selection (§9.6): the REPORT is handed to Radicale as a
  ``calendar-multiget`` (§7.9) of the matching resources with the same
  requested properties.

Any other query (``expand``, which Radicale applies to a multiget without the
time-range and so gets wrong; text matches, property filters, VTODOs,
open-ended ranges) goes to Radicale unchanged.
"""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET  # noqa: S405 - Radicale parses the same authenticated body with it
from urllib.parse import quote

from academail.accounts.models import Account
from academail.calendar import events

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
MAX_BODY = 64 * 1024
MAX_RANGE = dt.timedelta(days=366)
_PREFIX = "/dav"
# Radicale's [reporting] max_expand_occurrence: more VEVENTs served than this
# and it refuses the REPORT; such a query goes to it, for the same answer.
MAX_SERVED_VEVENTS = 10000
_OK = "HTTP/1.1 200 OK"


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


def _query(account: Account, path: str, body: bytes) -> tuple[ET.Element, events.CalendarInfo,
                                                               tuple[dt.datetime, dt.datetime]] | None:
    """A time-range calendar-query on one of ``account``'s own calendars
    (``path`` below ``/dav``): the parsed query, the calendar and the range."""
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
    return query, info, window


def _plain_props(query: ET.Element) -> list[str] | None:
    """The requested properties when they are only ``getetag`` and plain
    ``calendar-data`` (no attribute but the default content type, no child),
    in the request's order; None otherwise."""
    prop = query.find(_tag(DAV, "prop"))
    if prop is None or len(prop) == 0:
        return None
    wanted = []
    for child in prop:
        if child.tag == _tag(DAV, "getetag"):
            pass
        elif child.tag == _tag(CALDAV, "calendar-data"):
            # RFC 4791 §9.6: text/calendar 2.0 is the default; anything else goes to Radicale.
            if len(child) or child.get("content-type", "text/calendar") != "text/calendar" \
                    or child.get("version", "2.0") != "2.0":
                return None
        else:
            return None
        wanted.append(child.tag)
    return wanted


def answer_calendar_query(account: Account, path: str, body: bytes) -> bytes | None:
    """The 207 multistatus body for a time-range calendar-query asking only
    ``getetag`` and/or plain ``calendar-data`` on one of ``account``'s own
    calendars, written from the event index as Radicale writes it (the same
    elements, ETags and calendar-data; RFC 4791 §7.8, §9.9); None when the
    query is not that one (then ``rewrite_calendar_query``, or Radicale)."""
    found = _query(account, path, body)
    if found is None:
        return None
    query, info, window = found
    wanted = _plain_props(query)
    if wanted is None:
        return None
    served = events.access_served(account, info, *window)
    if sum(text.count("BEGIN:VEVENT") for _, _, text in served) > MAX_SERVED_VEVENTS:
        return None
    multistatus = ET.Element(_tag(DAV, "multistatus"))
    base = f"{_PREFIX}/{quote(account.identifier)}/{quote(info.name)}/"
    for href, etag, text in served:
        response = ET.SubElement(multistatus, _tag(DAV, "response"))
        ET.SubElement(response, _tag(DAV, "href")).text = base + quote(href)
        propstat = ET.SubElement(response, _tag(DAV, "propstat"))
        prop = ET.SubElement(propstat, _tag(DAV, "prop"))
        for tag in wanted:
            ET.SubElement(prop, tag).text = etag if tag == _tag(DAV, "getetag") else text
        ET.SubElement(propstat, _tag(DAV, "status")).text = _OK
    out = io.BytesIO()
    ET.ElementTree(multistatus).write(out, encoding="utf-8", xml_declaration=True)
    return out.getvalue()


def rewrite_calendar_query(account: Account, path: str, body: bytes) -> bytes | None:
    """For a REPORT on one of ``account``'s own calendars (``path`` below
    ``/dav``): the equivalent ``calendar-multiget`` body, or None to let
    Radicale answer ``body`` itself."""
    found = _query(account, path, body)
    if found is None:
        return None
    query, info, window = found
    if query.find(f"{_tag(DAV, 'prop')}/{_tag(CALDAV, 'calendar-data')}/{_tag(CALDAV, 'expand')}") is not None:
        # Radicale expands a multiget's resources without the query's time-range,
        # and leaves out the single events it should keep (RFC 4791 §9.6.5).
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
