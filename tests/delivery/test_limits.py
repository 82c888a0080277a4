"""Sending limits (``delivery.limits``) through the webmail's ``do_send``, the
counting windows, the administrators' notice, release and the admin page.
SMTP submission over the wire is in tests/smtp/test_submission_limits.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from academail.delivery.limits import (
    Usage,
    Verdict,
    check_sending_limits,
    decide,
    usage,
)
from academail.delivery.models import (
    HeldMessage,
    OutboundMessage,
    QueueEntry,
    SendEvent,
)
from academail.delivery.route import release_held
from academail.delivery.submit import SendRefused, do_send
from academail.store.messages import access_message, read_raw
from academail.store.models import Mailbox, Message
from tests.conftest import build_message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def limits(settings):
    """Small limits: soft 3/hour, hard 5/hour, the rest off."""
    for name in ("MINUTE", "HOUR", "DAY"):
        setattr(settings, f"SEND_LIMIT_SOFT_{name}", 0)
        setattr(settings, f"SEND_LIMIT_HARD_{name}", 0)
    settings.SEND_LIMIT_SOFT_HOUR = 3
    settings.SEND_LIMIT_HARD_HOUR = 5
    return settings


@pytest.fixture
def admin(make_account):
    return make_account("Jean-Pierre", "De La Fontaine", role="admin")


def messages_in(account, special_use="inbox") -> list[bytes]:
    box = Mailbox.objects.get(account=account, special_use=special_use)
    return [read_raw(access_message(account.pk, box.pk, m.uid)) for m in Message.objects.filter(mailbox=box).order_by("uid")]


def send(account, recipients, subject="Conseil de classe"):
    raw = build_message(subject=subject, sender=account.address, to=", ".join(recipients))
    return do_send(account, raw, recipients)


def test_webmail_soft_limit_holds_hard_limit_refuses_admins_told_once(limits, make_account, admin, mailoutbox):
    person = make_account("Julie", "Martin")
    colleague = make_account("Paul", "Durand")
    sent = send(person, [colleague.address, "ami@exemple.org"])
    assert not sent.held and sent.local == [colleague.address] and sent.remote == ["ami@exemple.org"]
    assert QueueEntry.objects.count() == 1  # both kinds of recipient count: 2 so far

    held = send(person, [colleague.address, "autre@exemple.org"], subject="Sortie scolaire")  # 2 + 2 > soft 3
    assert held.held and held.local == [] and held.remote == []
    assert len(messages_in(colleague)) == 1 and QueueEntry.objects.count() == 1
    assert len(messages_in(person, "sent")) == 2  # the sender keeps the copy of what was accepted
    message = HeldMessage.objects.get()
    assert (message.origin, message.identifier, message.subject) == ("webmail", person.identifier, "Sortie scolaire")
    assert message.recipients == [colleague.address, "autre@exemple.org"]
    assert "Seuil de vérification dépassé : 4 destinataires sur la dernière heure (seuil 3)" in message.reason

    # Held recipients count against the hard limit only: sent 2 + 1 <= soft 3, sent and held 4 + 1 <= hard 5.
    assert not send(person, [colleague.address], subject="Encore").held
    with pytest.raises(SendRefused) as refused:
        send(person, [colleague.address], subject="De trop")  # 6 > hard 5
    assert refused.value.message.startswith("Limite d'envoi atteinte : 6 destinataires sur la dernière heure (maximum 5).")
    assert HeldMessage.objects.count() == 1 and len(messages_in(person, "sent")) == 3
    assert len(messages_in(colleague)) == 2

    (notice,) = mailoutbox  # django.core.mail; one notice for the hold and the refusal within the hour
    assert notice.to == [admin.address]
    assert notice.subject == f"Limite d'envoi dépassée : {person.identifier}"
    assert "Seuil de vérification dépassé" in notice.body and "/admin/delivery/heldmessage/" in notice.body


def test_release_delivers_and_queues_as_the_original_send_then_counts(limits, make_account, admin, client):
    person = make_account("Julie", "Martin")
    colleague = make_account("Paul", "Durand")
    limits.SEND_LIMIT_SOFT_HOUR = 1
    assert send(person, [colleague.address, "ami@exemple.org"]).held
    held = HeldMessage.objects.get()
    assert list(SendEvent.objects.values_list("recipients", "held")) == [(2, True)]

    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    listing = client.get("/admin/delivery/heldmessage/")
    page = listing.content.decode()
    assert listing.status_code == 200 and "Conseil de classe" in page and person.identifier in page
    assert "Libérer" in page and "Supprimer les messages choisis" in page
    detail = client.get(f"/admin/delivery/heldmessage/{held.pk}/change/")
    assert "Le conseil de classe de 3eB" in detail.content.decode()

    response = client.post(
        "/admin/delivery/heldmessage/", {"action": "release", "_selected_action": [held.pk]}, follow=True
    )
    assert "1 message libéré." in response.content.decode()
    (delivered,) = messages_in(colleague)
    assert b"Le conseil de classe" in delivered
    assert OutboundMessage.objects.get().entries.get().recipient == "ami@exemple.org"
    assert OutboundMessage.objects.get().account_id == person.pk
    assert HeldMessage.objects.count() == 0
    assert list(SendEvent.objects.values_list("recipients", "held")) == [(2, False)]
    assert release_held(held.pk) is None  # twice is nothing


def test_delete_action_discards(limits, make_account, admin, client):
    person = make_account("Julie", "Martin")
    limits.SEND_LIMIT_SOFT_HOUR = 1
    send(person, ["a@exemple.org", "b@exemple.org"])
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    held = HeldMessage.objects.get()
    client.post("/admin/delivery/heldmessage/", {"action": "discard", "_selected_action": [held.pk]})
    assert HeldMessage.objects.count() == 0 and QueueEntry.objects.count() == 0


def test_counters_per_window_and_purge(make_account):
    person = make_account("Julie", "Martin")
    now = timezone.now()
    for age, count, held in [
        (timedelta(seconds=30), 5, False),
        (timedelta(minutes=30), 7, False),
        (timedelta(minutes=40), 2, True),
        (timedelta(hours=3), 11, False),
        (timedelta(days=2), 13, False),
    ]:
        SendEvent.objects.create(account_id=person.pk, at=now - age, recipients=count, held=held)
    SendEvent.objects.create(account_id=person.pk + 1000, at=now, recipients=100)  # someone else
    used = usage(person.pk, now)
    assert used.sent == {"minute": 5, "hour": 12, "day": 23}
    assert used.total == {"minute": 5, "hour": 14, "day": 25}
    from django.db import transaction

    with transaction.atomic():
        decision = check_sending_limits(
            account_id=person.pk, identifier=person.identifier, recipients=["a@exemple.org"],
            raw=b"Subject: x\r\n\r\nx\r\n", mail_from=person.address, origin="webmail", now=now,
        )
    assert decision.verdict is Verdict.SEND
    assert not SendEvent.objects.filter(account_id=person.pk, at__lt=now - timedelta(days=1)).exists()  # purged


@pytest.mark.parametrize(
    ("sent", "total", "count", "verdict"),
    [
        ({"minute": 0, "hour": 0, "day": 0}, {"minute": 0, "hour": 0, "day": 0}, 30, Verdict.SEND),
        ({"minute": 29, "hour": 29, "day": 29}, {"minute": 29, "hour": 29, "day": 29}, 2, Verdict.REFUSE),  # 31/min
        ({"minute": 0, "hour": 99, "day": 99}, {"minute": 0, "hour": 99, "day": 99}, 2, Verdict.HOLD),  # 101/h soft
        ({"minute": 0, "hour": 0, "day": 299}, {"minute": 0, "hour": 0, "day": 299}, 2, Verdict.HOLD),  # 301/day soft
        ({"minute": 0, "hour": 0, "day": 900}, {"minute": 0, "hour": 0, "day": 999}, 2, Verdict.REFUSE),  # 1001/day
        # One message alone over a hard limit can never pass by waiting: held for review, not 450.
        ({"minute": 0, "hour": 0, "day": 0}, {"minute": 0, "hour": 0, "day": 0}, 40, Verdict.HOLD),
        ({"minute": 0, "hour": 0, "day": 0}, {"minute": 30, "hour": 30, "day": 30}, 40, Verdict.REFUSE),
    ],
)
def test_default_limits(sent, total, count, verdict):
    assert decide(Usage(sent, total), count)[0] is verdict


def test_zero_disables(settings, make_account):
    for name in ("MINUTE", "HOUR", "DAY"):
        setattr(settings, f"SEND_LIMIT_SOFT_{name}", 0)
        setattr(settings, f"SEND_LIMIT_HARD_{name}", 0)
    person = make_account("Julie", "Martin")
    assert not send(person, [f"p{i}@exemple.org" for i in range(50)]).held
    assert SendEvent.objects.count() == 0


def test_admins_told_at_most_once_per_account_per_hour(limits, make_account, admin, mailoutbox):
    from django.db import transaction

    person = make_account("Julie", "Martin")
    other = make_account("Paul", "Durand")
    limits.SEND_LIMIT_SOFT_HOUR = 1
    start = timezone.now()

    def over(account, minutes):
        with transaction.atomic():
            return check_sending_limits(
                account_id=account.pk, identifier=account.identifier, recipients=["a@exemple.org", "b@exemple.org"],
                raw=b"Subject: x\r\n\r\nx\r\n", mail_from=account.address, origin="smtp",
                now=start + timedelta(minutes=minutes),
            ).verdict

    assert over(person, 0) is Verdict.HOLD and len(mailoutbox) == 1
    assert over(person, 30) is Verdict.HOLD and len(mailoutbox) == 1  # held again, no new notice
    assert over(other, 31) is Verdict.HOLD and len(mailoutbox) == 2  # another account: its own notice
    assert over(person, 75) is Verdict.HOLD and len(mailoutbox) == 3  # the hour has passed
