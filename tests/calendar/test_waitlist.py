"""The booking waiting list (issue 17 §4): when every slot of a page is
taken, parents join a waiting list (confirmed by a mailed single-use link);
a freed seat is held for the first confirmed waiter and offered by mail with
an expiring single-use link; a declined or expired offer passes to the next
waiter. Through the real views, with the mails the platform sent."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from academail.calendar import appointments, events
from academail.calendar.models import Booking, Waiter
from tests.calendar.test_appointments import (
    _confirmed,
    _last_mail_to,
    _link,
    _slots,
    _text,
    publish,
)

pytestmark = pytest.mark.django_db


def _full_page(teacher, public: Client):
    """A page of one slot (17:00–17:15), booked by a@."""
    page = publish(teacher, end=dt.time(17, 15))
    slot = _slots(page)[0]
    manage = _confirmed(public, page, slot, "a@familles.example")
    assert _slots(page) == []
    return page, slot, manage


def join(public: Client, page, address: str, *, name: str = "Parent en attente", remote: str = "198.51.100.20"):
    return public.post(reverse("calendar:booking-page", args=[page.slug]),
                       {"action": "attente", "name": name, "email": address, "answer": "Léo, 3eB"},
                       REMOTE_ADDR=remote)


def _waiting(public: Client, page, address: str, remote: str) -> None:
    """Join and confirm from the mailed link."""
    assert join(public, page, address, remote=remote).status_code == 302
    assert public.post(_link(_last_mail_to(address), "calendar:waitlist-confirm")).status_code == 200


def test_a_full_page_offers_the_waiting_list_and_joining_needs_the_mailed_link(make_account):
    teacher = make_account("Julie", "Martin")
    public = Client()
    page = publish(teacher, end=dt.time(17, 15))
    shown = _text(public.get(reverse("calendar:booking-page", args=[page.slug])))
    assert "M'inscrire sur la liste d'attente" not in shown  # a free slot: book it instead
    refused = _text(join(public, page, "b@familles.example"))
    assert "Des créneaux sont libres" in refused and not Waiter.objects.exists()
    _confirmed(public, page, _slots(page)[0], "a@familles.example")
    shown = _text(public.get(reverse("calendar:booking-page", args=[page.slug])))
    assert "Tous les créneaux sont pris." in shown and "M'inscrire sur la liste d'attente" in shown
    response = join(public, page, "b@familles.example")
    assert response.status_code == 302 and response["Location"] == reverse("calendar:waitlist-sent", args=[page.slug])
    assert "suivez le lien dans les deux heures" in _text(public.get(response["Location"]))
    mail = _last_mail_to("b@familles.example")
    assert mail["Subject"] == "Confirmez votre inscription sur la liste d'attente : Rencontres parents-professeurs 3eB"
    assert "Date :" not in mail.get_body(("plain",)).get_content()
    confirm = _link(mail, "calendar:waitlist-confirm")
    assert "Confirmer mon inscription" in _text(public.get(confirm))  # GET changes nothing
    assert Waiter.objects.get().state == "pending"
    owner = Client()
    owner.force_login(teacher)
    assert "Liste d'attente" not in _text(owner.get(reverse("calendar:appointment", args=[page.pk])))
    done = public.post(confirm)
    assert done.status_code == 200 and "Vous êtes sur la liste d'attente" in _text(done)
    assert Waiter.objects.get().state == "waiting"
    assert public.post(confirm).status_code == 410  # single use
    listing = _text(owner.get(reverse("calendar:appointment", args=[page.pk])))
    assert "Liste d'attente" in listing and "b@familles.example" in listing and "En attente" in listing


def test_an_expired_join_link_and_an_unknown_one_are_refused(make_account, settings):
    teacher = make_account("Julie", "Martin")
    public = Client()
    page, _, _ = _full_page(teacher, public)
    join(public, page, "b@familles.example")
    Waiter.objects.update(created_at=timezone.now() - dt.timedelta(seconds=settings.BOOKING_CONFIRM_SECONDS + 1))
    assert public.post(_link(_last_mail_to("b@familles.example"), "calendar:waitlist-confirm")).status_code == 410
    assert public.post(reverse("calendar:waitlist-confirm", args=["faux-jeton"])).status_code == 410
    assert public.get(reverse("calendar:booking-offer", args=["faux-jeton"])).status_code == 410
    assert Waiter.objects.get().state == "pending"


def test_a_cancelled_seat_is_held_for_the_first_waiter_who_takes_it(make_account):
    teacher = make_account("Julie", "Martin")
    public = Client()
    page, slot, manage = _full_page(teacher, public)
    _waiting(public, page, "b@familles.example", "198.51.100.21")
    _waiting(public, page, "c@familles.example", "198.51.100.22")
    assert "Rendez-vous annulé" in _text(public.post(manage, {"action": "annuler"}))
    # The seat is held for b, the first waiter: the public page does not give it away.
    assert _slots(page) == []
    assert "M'inscrire sur la liste d'attente" in _text(public.get(reverse("calendar:booking-page", args=[page.slug])))
    offer_mail = _last_mail_to("b@familles.example")
    assert offer_mail["Subject"] == "Une place s'est libérée : Rencontres parents-professeurs 3eB"
    body = offer_mail.get_body(("plain",)).get_content()
    assert "Elle vous est gardée jusqu'au" in body and "de 17:00 à 17:15" in body
    assert _last_mail_to("c@familles.example")["Subject"].startswith("Confirmez votre inscription")  # nothing yet
    owner = Client()
    owner.force_login(teacher)
    listing = _text(owner.get(reverse("calendar:appointment", args=[page.pk])))
    assert "proposée, gardée jusqu'au" in listing
    offer = _link(offer_mail, "calendar:booking-offer")
    shown = _text(public.get(offer))
    assert "Prendre cette place" in shown and "Cette place vous est gardée jusqu'au" in shown
    taken = public.post(offer, {"action": "prendre"})
    assert taken.status_code == 200 and "Votre rendez-vous est confirmé" in _text(taken)
    booking = Booking.objects.get(state="confirmed")
    assert booking.email == "b@familles.example" and booking.starts_at == dt.datetime.fromisoformat(slot)
    confirmation = _last_mail_to("b@familles.example")
    assert confirmation["Subject"].startswith("Rendez-vous confirmé")
    ics = next(p for p in confirmation.iter_attachments() if p.get_content_type() == "text/calendar")
    assert icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0].decoded("DTSTART") == booking.starts_at
    when = dt.datetime.fromisoformat(slot)
    assert [o.summary for o in events.access_occurrences(teacher, when, when + dt.timedelta(minutes=15))] == \
        ["Rendez-vous : Parent en attente"]
    assert public.post(offer, {"action": "prendre"}).status_code == 410  # the link works once
    assert public.post(offer, {"action": "laisser"}).status_code == 410
    assert public.get(_link(confirmation, "calendar:booking-manage")).status_code == 200
    assert list(Waiter.objects.order_by("pk").values_list("state", flat=True)) == ["booked", "waiting"]


def test_a_declined_offer_passes_to_the_next_waiter_at_once(make_account):
    teacher = make_account("Julie", "Martin")
    public = Client()
    page, _, manage = _full_page(teacher, public)
    _waiting(public, page, "b@familles.example", "198.51.100.21")
    _waiting(public, page, "c@familles.example", "198.51.100.22")
    public.post(manage, {"action": "annuler"})
    offer = _link(_last_mail_to("b@familles.example"), "calendar:booking-offer")
    left = public.post(offer, {"action": "laisser"})
    assert "la place est proposée au parent suivant" in _text(left)
    assert _last_mail_to("c@familles.example")["Subject"].startswith("Une place s'est libérée")
    assert public.post(offer, {"action": "prendre"}).status_code == 410  # b's link is spent
    assert _slots(page) == []  # now held for c
    assert list(Waiter.objects.order_by("pk").values_list("state", flat=True)) == ["left", "offered"]


def test_an_expired_offer_passes_to_the_next_waiter_in_the_worker_pass(make_account, settings):
    settings.BOOKING_OFFER_SECONDS = 3600
    teacher = make_account("Julie", "Martin")
    public = Client()
    page, slot, manage = _full_page(teacher, public)
    _waiting(public, page, "b@familles.example", "198.51.100.21")
    _waiting(public, page, "c@familles.example", "198.51.100.22")
    public.post(manage, {"action": "annuler"})
    first = _link(_last_mail_to("b@familles.example"), "calendar:booking-offer")
    held = Booking.objects.get(state="offered")
    assert held.offered_until - held.created_at == dt.timedelta(hours=1)
    assert appointments.do_pass_expired_offers(timezone.now()) == 0  # still held
    later = held.offered_until + dt.timedelta(seconds=1)
    assert _slots(page) == []
    assert appointments.do_pass_expired_offers(later) == 1
    second_mail = _last_mail_to("c@familles.example")
    assert second_mail["Subject"].startswith("Une place s'est libérée")
    assert public.post(first, {"action": "prendre"}).status_code == 410  # b's offer expired
    second = _link(second_mail, "calendar:booking-offer")
    assert public.post(second, {"action": "prendre"}).status_code == 200
    assert Booking.objects.get(state="confirmed").email == "c@familles.example"
    # Nobody left to offer to: a later expiry pass changes nothing.
    assert appointments.do_pass_expired_offers(later + dt.timedelta(days=2)) == 0
    assert list(Waiter.objects.order_by("pk").values_list("state", flat=True)) == ["left", "booked"]


def test_a_seat_freed_with_nobody_waiting_is_free_again(make_account):
    teacher = make_account("Julie", "Martin")
    public = Client()
    page, slot, manage = _full_page(teacher, public)
    public.post(manage, {"action": "annuler"})
    assert _slots(page) == [slot]
    assert not Booking.objects.filter(state="offered").exists()


def test_the_offer_never_outlasts_the_slots_booking_deadline(make_account, settings):
    settings.BOOKING_OFFER_SECONDS = 30 * 24 * 3600
    teacher = make_account("Julie", "Martin")
    public = Client()
    page, slot, manage = _full_page(teacher, public)
    _waiting(public, page, "b@familles.example", "198.51.100.21")
    public.post(manage, {"action": "annuler"})
    held = Booking.objects.get(state="offered")
    assert held.offered_until == held.starts_at - dt.timedelta(hours=page.deadline_hours)


def test_joining_counts_in_the_request_limits_and_answers_alike(make_account, settings):
    settings.BOOKINGS_PER_ADDRESS_HOUR = 2
    teacher = make_account("Julie", "Martin")
    public = Client()
    page, _, _ = _full_page(teacher, public)  # a@ made one request already
    first = join(public, page, "a@familles.example", remote="198.51.100.30")
    assert first.status_code == 302
    again = join(public, page, "b@familles.example", remote="198.51.100.31")
    assert again["Location"] == first["Location"]  # the same answer whatever the address
    refused = join(public, page, "a@familles.example", remote="198.51.100.32")
    assert refused.status_code == 429 and "réessayez dans une heure" in _text(refused)
    assert Waiter.objects.count() == 2


def test_waiting_list_and_offer_links_are_redacted_in_logs():
    from academail import redaction

    for name in ("calendar:waitlist-confirm", "calendar:booking-offer"):
        path = reverse(name, args=["abcDEF123456789xyz"])
        assert redaction.redact(f"GET {path} 200") == f"GET {path.replace('abcDEF123456789xyz', redaction.REDACTED)} 200"
