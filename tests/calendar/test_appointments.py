"""Appointment booking for parents (issue 17 §4), through the pages: a teacher
publishes slots, parents book without an account and confirm by mail, the
booking lands in the teacher's Radicale calendar (read back over CalDAV),
cancellation and change, reminders, limits and the double-booking race over
real concurrent HTTP requests."""

from __future__ import annotations

import datetime as dt
import email
import html
import re
import threading
import urllib.parse
import urllib.request
from email import policy
from http.cookiejar import CookieJar

import caldav
import icalendar
import pytest
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from academail.calendar import appointments, events
from academail.calendar.events import PARIS
from academail.calendar.models import AppointmentPage, Booking
from academail.delivery.models import CapturedMessage
from academail.store.messages import read_raw
from academail.store.models import Message

pytestmark = pytest.mark.django_db


def _next_school_day(days_ahead: int = 3) -> dt.date:
    day = timezone.localdate(timezone=PARIS) + dt.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def publish(teacher, *, capacity: int = 1, question: str = "Nom et classe de l'enfant",
            day: dt.date | None = None, start=dt.time(17), end=dt.time(18)) -> AppointmentPage:
    """What the teacher does on /agenda/rendez-vous/: a page, then opening hours."""
    client = Client()
    client.force_login(teacher)
    response = client.post(reverse("calendar:appointments"), {
        "title": "Rencontres parents-professeurs 3eB", "host": "Mme Martin, professeure principale",
        "place": "Salle 12", "slot_minutes": "15", "break_minutes": "5", "capacity": str(capacity),
        "deadline_hours": "12", "question": question, "calendar": "agenda", "active": "on",
    })
    assert response.status_code == 302, _text(response)[:2000]
    page = AppointmentPage.objects.get(owner=teacher)
    day = day or _next_school_day()
    response = client.post(reverse("calendar:appointment-range", args=[page.pk]), {
        "first_day": day.isoformat(), "start_time": start.strftime("%H:%M"), "end_time": end.strftime("%H:%M")})
    assert response.status_code == 302
    return page


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _last_mail_to(address: str) -> email.message.EmailMessage:
    for captured in CapturedMessage.objects.order_by("-pk"):
        if address in captured.recipients:
            return email.message_from_bytes(bytes(captured.raw), policy=policy.default)
    raise AssertionError(f"no mail to {address}")


def _inbox_mail(account, subject_part: str) -> email.message.EmailMessage:
    """The newest mail of ``account``'s inbox whose subject holds ``subject_part`` (the platform delivers
    to académie addresses through the one door)."""
    rows = Message.objects.filter(mailbox__account=account, mailbox__special_use="inbox").select_related("content")
    found = [m for m in rows.order_by("pk") if subject_part in (m.content.subject or "")]
    assert found, f"no mail « {subject_part} » for {account.address}"
    return email.message_from_bytes(read_raw(found[-1]), policy=policy.default)


def _link(message: email.message.EmailMessage, name: str) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(r"https?://\S+" + re.escape(reverse(name, args=["X"])[:-2]) + r"[^/\s]+/", text)
    assert found, text
    return urllib.parse.urlsplit(found.group(0)).path


def book(client: Client, page: AppointmentPage, slot: str, *, address: str, name: str = "Paul Durand",
         answer: str = "Léa Durand, 3eB", remote: str = "198.51.100.7"):
    return client.post(reverse("calendar:booking-page", args=[page.slug]),
                       {"slot": slot, "name": name, "email": address, "answer": answer}, REMOTE_ADDR=remote)


def _slots(page: AppointmentPage) -> list[str]:
    return [s.key for s in appointments.access_free_slots(page, timezone.now())]


@pytest.mark.django_db(transaction=True)
def test_three_parents_book_and_the_teacher_sees_them_over_caldav(dav_user, live_server):
    teacher = dav_user("Julie", "Martin")
    page = publish(teacher.account)
    public = Client()
    shown = public.get(reverse("calendar:booking-page", args=[page.slug]))
    text = _text(shown)
    assert shown.status_code == 200
    assert "Mme Martin, professeure principale" in text and "Nom et classe de l'enfant" in text
    assert teacher.account.address not in text  # no directory data on the public page
    slots = _slots(page)
    assert len(slots) == 3  # 17:00, 17:20, 17:40 (15 minutes + 5 of break, until 18:00)
    for number, slot in enumerate(slots):
        address = f"parent{number}@familles.example"
        response = book(public, page, slot, address=address, name=f"Parent {number}", remote=f"198.51.100.{number}")
        assert response.status_code == 302
        assert _slots(page) == slots[number:]  # a request holds nothing until confirmed
        mail = _last_mail_to(address)
        assert mail["Subject"].startswith("Confirmez votre rendez-vous")
        confirm = _link(mail, "calendar:booking-confirm")
        assert "Confirmer mon rendez-vous" in _text(public.get(confirm))  # GET changes nothing
        assert Booking.objects.get(email=address).state == "pending"
        done = public.post(confirm)
        assert done.status_code == 200 and "Votre rendez-vous est confirmé" in _text(done)
        confirmation = _last_mail_to(address)
        assert confirmation["Subject"].startswith("Rendez-vous confirmé")
        ics = next(p for p in confirmation.iter_attachments() if p.get_content_type() == "text/calendar")
        event = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
        assert event.decoded("DTSTART") == dt.datetime.fromisoformat(slot)
        assert teacher.account.address not in ics.get_content()
        assert public.post(confirm).status_code == 410  # single use
    assert _slots(page) == []
    # The teacher's agenda (the webmail's service) and a CalDAV client both see three bookings.
    day = dt.datetime.fromisoformat(slots[0])
    found = events.access_occurrences(teacher.account, day - dt.timedelta(hours=1), day + dt.timedelta(hours=2))
    expected = ["Rendez-vous : Parent 0", "Rendez-vous : Parent 1", "Rendez-vous : Parent 2"]
    assert sorted(o.summary for o in found) == expected
    phone = caldav.DAVClient(url=live_server.url + "/dav/", username=teacher.identifier, password=teacher.secret)
    agenda = phone.principal().calendars()[0]
    synced = agenda.search(start=day - dt.timedelta(hours=1), end=day + dt.timedelta(hours=2), event=True, expand=False)
    assert sorted(str(e.icalendar_component["summary"]) for e in synced) == expected
    owner_page = Client()
    owner_page.force_login(teacher.account)
    listing = _text(owner_page.get(reverse("calendar:appointment", args=[page.pk])))
    assert "Parent 2" in listing and "Léa Durand, 3eB" in listing


def test_a_request_says_the_same_whatever_the_address(make_account):
    teacher = make_account("Julie", "Martin")
    page = publish(teacher)
    slot = _slots(page)[0]
    public = Client()
    first = book(public, page, slot, address="a@familles.example")
    again = book(public, page, slot, address="a@familles.example", remote="198.51.100.8")
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]


def test_the_confirmed_slot_cannot_be_taken_twice(make_account):
    teacher = make_account("Julie", "Martin")
    page = publish(teacher)
    slot = _slots(page)[0]
    public = Client()
    book(public, page, slot, address="a@familles.example")
    book(public, page, slot, address="b@familles.example", remote="198.51.100.9")
    first = _link(_last_mail_to("a@familles.example"), "calendar:booking-confirm")
    second = _link(_last_mail_to("b@familles.example"), "calendar:booking-confirm")
    assert public.post(first).status_code == 200
    refused = public.post(second)
    assert refused.status_code == 409
    assert "vient d'être réservé par quelqu'un d'autre" in _text(refused)
    assert Booking.objects.filter(state="confirmed").count() == 1
    assert public.post(second).status_code == 410  # spent all the same


def test_rate_limits_per_address_and_per_network_address(make_account, settings):
    settings.BOOKINGS_PER_ADDRESS_HOUR = 2
    settings.BOOKINGS_PER_IP_HOUR = 3
    teacher = make_account("Julie", "Martin")
    page = publish(teacher)
    slot = _slots(page)[0]
    public = Client()
    for _ in range(2):
        assert book(public, page, slot, address="a@familles.example", remote="198.51.100.1").status_code == 302
    refused = book(public, page, slot, address="a@familles.example", remote="198.51.100.2")
    assert refused.status_code == 429
    assert "réessayez dans une heure" in _text(refused)
    assert book(public, page, slot, address="b@familles.example", remote="198.51.100.1").status_code == 302
    refused = book(public, page, slot, address="c@familles.example", remote="198.51.100.1")
    assert refused.status_code == 429 and "depuis cette connexion" in _text(refused)
    assert Booking.objects.count() == 3


def test_bad_input_gets_a_clear_french_answer(make_account):
    teacher = make_account("Julie", "Martin")
    page = publish(teacher)
    slot = _slots(page)[0]
    public = Client()
    unanswered = _text(book(public, page, slot, address="a@familles.example", answer=""))
    assert "Nom et classe de l'enfant : Ce champ est obligatoire." in unanswered
    assert "Saisissez une adresse de courriel valide." in _text(book(public, page, slot, address="pas-une-adresse"))
    gone = _text(book(public, page, "2001-01-01T10:00:00+01:00", address="a@familles.example"))
    assert "Ce créneau n'est plus disponible" in gone
    assert "Choisissez un créneau" in _text(book(public, page, "", address="a@familles.example"))
    assert Booking.objects.count() == 0


def test_unknown_and_closed_pages_answer_alike(make_account):
    teacher = make_account("Julie", "Martin")
    page = publish(teacher)
    public = Client()
    assert public.get(reverse("calendar:booking-page", args=["nimportequoi"])).status_code == 404
    page.active = False
    page.save()
    assert public.get(reverse("calendar:booking-page", args=[page.slug])).status_code == 404
    assert public.post(reverse("calendar:booking-confirm", args=["faux-jeton"])).status_code == 410
    assert public.get(reverse("calendar:booking-manage", args=["faux-jeton"])).status_code == 410


def test_an_expired_confirmation_link_holds_nothing(make_account, settings):
    teacher = make_account("Julie", "Martin")
    page = publish(teacher)
    public = Client()
    book(public, page, _slots(page)[0], address="a@familles.example")
    Booking.objects.update(created_at=timezone.now() - dt.timedelta(seconds=settings.BOOKING_CONFIRM_SECONDS + 1))
    assert public.post(_link(_last_mail_to("a@familles.example"), "calendar:booking-confirm")).status_code == 410
    assert not Booking.objects.filter(state="confirmed").exists()


def _confirmed(public: Client, page: AppointmentPage, slot: str, address: str) -> str:
    book(public, page, slot, address=address)
    public.post(_link(_last_mail_to(address), "calendar:booking-confirm"))
    return _link(_last_mail_to(address), "calendar:booking-manage")


def test_the_parent_changes_then_cancels_from_the_mailed_link(make_account):
    teacher = make_account("Julie", "Martin")
    page = publish(teacher)
    first, second, _ = _slots(page)
    public = Client()
    manage = _confirmed(public, page, first, "a@familles.example")
    assert "Changer de créneau" in _text(public.get(manage))
    moved = public.post(manage, {"action": "deplacer", "slot": second})
    assert "Votre rendez-vous a été déplacé" in _text(moved)
    booking = Booking.objects.get(state="confirmed")
    assert booking.starts_at == dt.datetime.fromisoformat(second)
    assert first in _slots(page) and second not in _slots(page)
    when = dt.datetime.fromisoformat(second)
    agenda = events.access_occurrences(teacher, when - dt.timedelta(hours=2), when + dt.timedelta(hours=2))
    assert [(o.start, o.summary) for o in agenda] == [(when, "Rendez-vous : Paul Durand")]
    ics = next(p for p in _last_mail_to("a@familles.example").iter_attachments())
    assert icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]["SEQUENCE"] == 1
    cancelled = public.post(manage, {"action": "annuler"})
    assert "Rendez-vous annulé" in _text(cancelled)
    assert _last_mail_to("a@familles.example")["Subject"].startswith("Rendez-vous annulé")
    assert _inbox_mail(teacher, "Un parent a annulé")
    assert events.access_occurrences(teacher, when - dt.timedelta(hours=2), when + dt.timedelta(hours=2)) == []
    assert len(_slots(page)) == 3
    assert public.get(manage).status_code == 410  # the link died with the booking


def test_the_teacher_cancels_a_booking_and_the_parent_is_told(make_account):
    teacher = make_account("Julie", "Martin")
    page = publish(teacher)
    public = Client()
    _confirmed(public, page, _slots(page)[0], "a@familles.example")
    booking = Booking.objects.get(state="confirmed")
    other = make_account("Marc", "Blanc")
    intruder = Client()
    intruder.force_login(other)
    url = reverse("calendar:appointment-booking-cancel", args=[page.pk, booking.pk])
    assert intruder.post(url).status_code == 404  # another teacher's page
    assert intruder.get(reverse("calendar:appointment", args=[page.pk])).status_code == 404
    owner = Client()
    owner.force_login(teacher)
    owner.post(url)
    assert Booking.objects.get().state == "cancelled"
    mail = _last_mail_to("a@familles.example")
    assert mail["Subject"].startswith("Rendez-vous annulé")
    cancel = next(p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar")
    assert cancel.get_param("method") == "CANCEL"


def test_slots_over_the_teachers_other_events_are_not_offered(make_account):
    teacher = make_account("Julie", "Martin")
    day = _next_school_day()
    page = publish(teacher, day=day)
    events.check_save_event(teacher, events.EventDraft(
        summary="Conseil de classe", start=dt.datetime.combine(day, dt.time(17, 10), PARIS),
        end=dt.datetime.combine(day, dt.time(17, 30), PARIS)))
    assert [dt.datetime.fromisoformat(s).time() for s in _slots(page)] == [dt.time(17, 40)]


def test_capacity_deadline_and_school_days(make_account):
    teacher = make_account("Julie", "Martin")
    page = publish(teacher, capacity=2)
    slot = _slots(page)[0]
    public = Client()
    _confirmed(public, page, slot, "a@familles.example")
    assert appointments.access_free_slots(page, timezone.now())[0].free == 1
    _confirmed(public, page, slot, "b@familles.example")
    assert slot not in _slots(page)
    # Closed this many hours before: from a moment just past the deadline, nothing of that day is offered.
    start = dt.datetime.fromisoformat(_slots(page)[0])
    assert appointments.access_free_slots(page, start - dt.timedelta(hours=page.deadline_hours)) != []
    assert all(s.start > start for s in appointments.access_free_slots(page, start - dt.timedelta(hours=11)))
    # A range over several days opens Monday to Friday only.
    monday = _next_school_day(8)
    monday -= dt.timedelta(days=monday.weekday())
    appointments.check_add_range(teacher, page.pk, monday, monday + dt.timedelta(days=6), dt.time(9), dt.time(9, 15),
                                 today=timezone.localdate(timezone=PARIS))
    days = {s.start.date() for s in appointments.slots_of(page) if s.start.date() >= monday}
    assert days == {monday + dt.timedelta(days=n) for n in range(5)}


def test_reminders_the_day_before_to_both_sides_once(make_account):
    teacher = make_account("Julie", "Martin")
    page = publish(teacher)
    first, second, _ = _slots(page)
    public = Client()
    _confirmed(public, page, first, "a@familles.example")
    _confirmed(public, page, second, "b@familles.example")
    start = dt.datetime.fromisoformat(first)
    assert appointments.do_send_reminders(start - dt.timedelta(hours=30)) == 0
    assert appointments.do_send_reminders(start - dt.timedelta(hours=20)) == 2
    assert _last_mail_to("a@familles.example")["Subject"].startswith("Rappel : rendez-vous demain")
    owner_mail = _inbox_mail(teacher, "Rappel : vos rendez-vous de demain")
    body = owner_mail.get_body(("plain",)).get_content()
    assert "17:00 : Paul Durand <a@familles.example>" in body and "17:20 : Paul Durand <b@familles.example>" in body
    assert appointments.do_send_reminders(start - dt.timedelta(hours=19)) == 0


def test_a_failed_agenda_write_is_retried_by_the_worker(make_account, monkeypatch):
    teacher = make_account("Julie", "Martin")
    page = publish(teacher)
    slot = _slots(page)[0]
    real = events.do_put_event

    def broken(*args, **kwargs):
        raise events.AgendaError("disque plein")

    monkeypatch.setattr(events, "do_put_event", broken)
    _confirmed(Client(), page, slot, "a@familles.example")
    booking = Booking.objects.get(state="confirmed")
    assert booking.event_href == ""  # confirmed all the same: the seat is the truth
    monkeypatch.setattr(events, "do_put_event", real)
    assert appointments.do_write_missing_events() == 1
    when = dt.datetime.fromisoformat(slot)
    assert [o.summary for o in events.access_occurrences(teacher, when, when + dt.timedelta(minutes=15))] == \
        ["Rendez-vous : Paul Durand"]


def test_token_links_are_redacted_in_logs(make_account):
    from academail import redaction

    assert redaction.redact("GET /rendez-vous/confirmer/abcDEF123456789xyz/ 200") == \
        f"GET /rendez-vous/confirmer/{redaction.REDACTED}/ 200"
    assert redaction.redact("GET /rendez-vous/gerer/abcDEF123456789xyz/ 200") == \
        f"GET /rendez-vous/gerer/{redaction.REDACTED}/ 200"


# --- real concurrent requests --------------------------------------------------------------------


def _http(opener, url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode() if data is not None else None)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _csrf_post(base: str, path: str, fields: dict[str, str]) -> tuple[int, str]:
    """A browser-like POST: GET the form (cookie and token), then POST it."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    _, page = _http(opener, base + path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, page[:500]
    return _http(opener, base + path, {"csrfmiddlewaretoken": token.group(1), **fields})


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("capacity", [1, 2])
def test_racing_confirmations_over_http_never_overbook(make_account, live_server, capacity):
    """Eight parents confirm the same slot at the same instant through a real
    server: exactly ``capacity`` of them get it, the others a clear refusal."""
    teacher = make_account("Julie", "Martin")
    page = publish(teacher, capacity=capacity)
    slot = _slots(page)[0]
    public = Client()
    racers = [f"parent{n}@familles.example" for n in range(8)]
    for number, address in enumerate(racers):
        book(public, page, slot, address=address, remote=f"198.51.100.{number}")
    links = [_link(_last_mail_to(a), "calendar:booking-confirm") for a in racers]
    barrier = threading.Barrier(len(links))
    outcomes: list[tuple[int, str]] = []

    def confirm(path: str) -> None:
        try:
            jar = CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            _, form = _http(opener, live_server.url + path)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
            assert token
            barrier.wait(30)
            outcomes.append(_http(opener, live_server.url + path, {"csrfmiddlewaretoken": token.group(1)}))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=confirm, args=(link,)) for link in links]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(outcomes) == len(links)
    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [200] * capacity + [409] * (len(links) - capacity), statuses
    assert all("vient d'être réservé par quelqu'un d'autre" in html.unescape(body)
               for status, body in outcomes if status == 409)
    held = Booking.objects.filter(page=page, seat__isnull=False)
    assert held.count() == capacity
    assert sorted(held.values_list("seat", flat=True)) == list(range(capacity))
    when = dt.datetime.fromisoformat(slot)
    assert len(events.access_occurrences(teacher, when, when + dt.timedelta(minutes=15))) == capacity
