"""Quota that explains itself: one mail per threshold crossed (80, 90, 95 %),
the full mailbox announced once a day to the mailbox (past its quota) and to
the verified secondary address, senders still refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from academail.delivery.door import DeliveryRefused, Refusal
from academail.delivery.models import CapturedMessage
from academail.delivery.route import deliver, send_notice
from academail.store.models import Mailbox, Message, Usage
from academail.store.quota import do_quota_notices
from tests.conftest import build_message

QUOTA = 1_000_000


@pytest.fixture
def teacher(make_account, settings):
    settings.OUTBOUND_CAPTURE = True
    account = make_account("Claire", "Petit", secondary_address="claire.perso@exemple.org")
    account.secondary_verified = True
    account.quota_bytes = QUOTA
    account.save()
    return account


def _fill_to(account, percent: int) -> None:
    """Set the usage as if the mailbox held ``percent`` % of its quota."""
    Usage.objects.filter(account=account).update(bytes=QUOTA * percent // 100)


def _notices(account) -> list[str]:
    inbox = Mailbox.objects.get(account=account, special_use="inbox")
    return list(
        Message.objects.filter(mailbox=inbox, content__from_addr__startswith="ne-pas-repondre")
        .order_by("uid").values_list("content__subject", flat=True)
    )


def test_one_mail_per_threshold_crossed(teacher):
    now = timezone.now()
    _fill_to(teacher, 50)
    assert do_quota_notices(now, send_notice).thresholds == 0
    _fill_to(teacher, 82)
    assert do_quota_notices(now, send_notice).thresholds == 1
    assert do_quota_notices(now, send_notice).thresholds == 0  # told once
    assert _notices(teacher) == ["Votre boîte aux lettres est utilisée à 80 %"]
    _fill_to(teacher, 91)
    do_quota_notices(now, send_notice)
    _fill_to(teacher, 97)
    do_quota_notices(now, send_notice)
    do_quota_notices(now, send_notice)
    assert _notices(teacher) == [
        "Votre boîte aux lettres est utilisée à 80 %",
        "Votre boîte aux lettres est utilisée à 90 %",
        "Votre boîte aux lettres est utilisée à 95 %",
    ]
    inbox = Mailbox.objects.get(account=teacher, special_use="inbox")
    message = Message.objects.filter(mailbox=inbox).select_related("content").order_by("uid").first()
    from academail.store.messages import read_raw

    raw = read_raw(message)
    assert b"Auto-Submitted: auto-generated" in raw
    assert b"/courrier/espace/" in raw
    assert not CapturedMessage.objects.exists()  # thresholds go to the mailbox only


def test_jump_over_several_thresholds_sends_one_mail(teacher):
    _fill_to(teacher, 96)
    report = do_quota_notices(timezone.now(), send_notice)
    assert report.thresholds == 1
    assert _notices(teacher) == ["Votre boîte aux lettres est utilisée à 95 %"]


def test_level_told_again_only_after_going_down(teacher):
    now = timezone.now()
    _fill_to(teacher, 81)
    do_quota_notices(now, send_notice)
    _fill_to(teacher, 78)  # within the hysteresis: nothing changes
    do_quota_notices(now, send_notice)
    _fill_to(teacher, 81)
    do_quota_notices(now, send_notice)
    assert len(_notices(teacher)) == 1
    _fill_to(teacher, 60)
    assert do_quota_notices(now, send_notice).lowered == 1
    _fill_to(teacher, 85)
    do_quota_notices(now, send_notice)
    assert len(_notices(teacher)) == 2


def test_full_mailbox_notice_once_a_day_to_both_addresses(teacher):
    _fill_to(teacher, 100)
    with pytest.raises(DeliveryRefused) as refused:  # what SMTP answers 452 4.2.2
        from academail.delivery.door import check_recipient

        check_recipient(teacher.address)
    assert refused.value.refusal is Refusal.MAILBOX_FULL
    (outcome,) = deliver(build_message(to=teacher.address), [teacher.address])
    assert isinstance(outcome, DeliveryRefused) and outcome.refusal is Refusal.MAILBOX_FULL
    day = timezone.now().replace(hour=9)
    report = do_quota_notices(day, send_notice)
    assert report.full == 1
    assert _notices(teacher) == ["Votre boîte aux lettres est pleine"]  # stored past the quota
    captured = CapturedMessage.objects.get()
    assert captured.recipients == ["claire.perso@exemple.org"]
    assert b"Vous pouvez toujours envoyer des messages" in bytes(captured.raw).replace(b"=\r\n", b"")
    assert do_quota_notices(day + timedelta(hours=3), send_notice).full == 0
    assert do_quota_notices(day + timedelta(days=1), send_notice).full == 1
    assert _notices(teacher) == ["Votre boîte aux lettres est pleine"] * 2
    assert CapturedMessage.objects.count() == 2


def test_unverified_secondary_gets_nothing(teacher):
    teacher.secondary_verified = False
    teacher.save()
    _fill_to(teacher, 100)
    do_quota_notices(timezone.now(), send_notice)
    assert _notices(teacher) == ["Votre boîte aux lettres est pleine"]
    assert not CapturedMessage.objects.exists()


def test_a_failing_send_records_nothing_and_is_retried(teacher):
    _fill_to(teacher, 85)

    def broken(raw, recipients, enforce_quota):
        raise OSError("disk full")

    assert do_quota_notices(timezone.now(), broken).thresholds == 0
    assert Usage.objects.get(account=teacher).notice_level == 0
    assert do_quota_notices(timezone.now(), send_notice).thresholds == 1
