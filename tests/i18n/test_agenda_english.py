"""The agenda's refusals in English once chosen: the event form, the .ics
import, a parent's spent booking link and an invitation card's warning all
come from the calendar catalogue (they were French-only strings)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _dav_dir(settings, tmp_path):
    settings.DAV_DIR = tmp_path / "dav"


def english() -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def text(response) -> str:
    return unescape(" ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split()))


def test_event_form_and_import_refusals_in_english(make_account):
    client = english()
    client.force_login(make_account())
    refused = client.post(reverse("calendar:event-new"), {
        "summary": "Conseil de classe 3eB", "calendar": "agenda", "start_date": "2026-12-10",
        "start_time": "17:00", "end_date": "2026-12-10", "end_time": "16:00", "recurrence": "", "reminder": "0"})
    page = text(refused)
    assert "The end of the event must come after its start: correct the end date or time." in page
    assert "doit suivre son début" not in page
    garbage = SimpleUploadedFile("x.ics", b"n'importe quoi", content_type="text/calendar")
    page = text(client.post(reverse("calendar:import"), {"fichier": garbage, "calendar": "agenda"}, follow=True))
    assert "This file is not a readable iCalendar (.ics) calendar: export it again" in page
    assert "pas un agenda" not in page


def test_a_spent_booking_link_in_english():
    page = english().post(reverse("calendar:booking-confirm", args=["faux-jeton"]))
    assert page.status_code == 410
    assert "This confirmation link is no longer valid: ask again from the booking page." in text(page)


def test_an_invitation_card_warning_in_english(make_account):
    from academail.calendar import imip

    person = make_account()
    raw = (
        f"From: intrus@exemple.fr\r\nTo: {person.address}\r\nSubject: Invitation\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\n"
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:conseil-1\r\n"
        "DTSTAMP:20261201T080000Z\r\nDTSTART:20261210T160000Z\r\nDTEND:20261210T170000Z\r\n"
        f"SUMMARY:Conseil\r\nORGANIZER:mailto:direction@exemple.fr\r\nATTENDEE:mailto:{person.address}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    with translation.override("en"):
        card = imip.access_invitation(person, raw)
        forged = imip.access_invitation(person, raw, authenticated=False)
    assert card is not None and card.problem.startswith(
        "The organiser named in this invitation is not the sender of the message")
    assert forged is not None and forged.problem.startswith("This message could not be verified as authentic")
    with translation.override("fr"):
        assert "n'est pas l'expéditeur" in imip.access_invitation(person, raw).problem
