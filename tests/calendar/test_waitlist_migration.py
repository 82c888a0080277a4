"""Migration agenda 0004 (the booking waiting list) keeps existing bookings
as they were: no offer, no waiter, their seats still held."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

OLD = [("agenda", "0003_served_text")]
NEW = [("agenda", "0004_waiting_list")]


def test_existing_bookings_keep_their_state_and_seat(migrator, make_account):
    teacher = make_account("Julie", "Martin")
    apps = migrator.migrate(OLD)
    Page = apps.get_model("agenda", "AppointmentPage")
    Booking = apps.get_model("agenda", "Booking")
    now = timezone.now()
    page = Page.objects.create(owner_id=teacher.pk, slug="abc", title="Rencontres", host="Mme Martin", created_at=now)
    start = now + dt.timedelta(days=3)
    Booking.objects.create(page=page, starts_at=start, ends_at=start + dt.timedelta(minutes=15), email="a@x.example",
                           name="A", state="confirmed", seat=0, created_at=now)
    Booking.objects.create(page=page, starts_at=start, ends_at=start + dt.timedelta(minutes=15), email="b@x.example",
                           name="B", state="pending", created_at=now)
    apps = migrator.migrate(NEW)
    Booking = apps.get_model("agenda", "Booking")
    Waiter = apps.get_model("agenda", "Waiter")
    rows = list(Booking.objects.order_by("email").values_list("state", "seat", "offered_until", "waiter_id"))
    assert rows == [("confirmed", 0, None, None), ("pending", None, None, None)]
    assert Waiter.objects.count() == 0
    Waiter.objects.create(page_id=page.pk, email="c@x.example", name="C", state="waiting", created_at=now,
                          confirmed_at=now)
    apps = migrator.migrate(OLD)  # and back: the waiting list goes, the bookings stay
    assert apps.get_model("agenda", "Booking").objects.count() == 2
