"""Quota that explains itself: the level of a mailbox (80, 90, 95 %, full)
and the notices its owner gets.

- One mail per threshold crossed upwards (80, 90, 95 %), to the mailbox
  itself. A jump over several thresholds at once (a big attachment) sends one
  mail, for the highest. The level goes down again silently once the mailbox
  is ``HYSTERESIS`` points below the threshold told, so a mailbox hovering at
  80 % does not get a mail each time a message comes and goes.
- A full mailbox (``used >= limit``: ``fits_quota`` refuses every new message,
  SMTP answers ``452 4.2.2``) gets one notice a day (local date), to the
  mailbox *and* to the verified secondary address. The copy to the mailbox is
  stored past the quota (``enforce_quota=False``), as Dovecot's quota-warning
  script does with ``quota=...:noenforcing``: otherwise the one place the
  person reads would never say why nothing arrives.

The worker calls ``do_quota_notices`` every few minutes. Each account is
handled in its own transaction that locks its usage row, re-reads the level,
sends through the ``send`` function it is given (the platform's routing in
``delivery``: local copies are stored, outside copies queued, in the same
database) and records what was told: a crash either sends and records, or
neither — never twice.

The candidates come from one query over ``store_usage`` joined with the
accounts (60,000 rows: a few milliseconds), filtered in SQL to mailboxes at
80 % or more, or with a level to lower.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from academail.store.models import Usage

log = logging.getLogger(__name__)

THRESHOLDS = (80, 90, 95)
HYSTERESIS = 5  # points below a told threshold before it may be told again

# send(raw, recipients, enforce_quota) -> None; raises nothing it cannot handle.
Sender = Callable[[bytes, Sequence[str], bool], None]


def percent_of(used: int, limit: int) -> int:
    """Whole percent used, capped at 100; 0 for an unlimited mailbox (limit 0)."""
    if limit <= 0:
        return 0
    return min(100, used * 100 // limit)


def threshold_of(percent: int) -> int:
    """The highest threshold reached (0 below 80 %)."""
    return max((t for t in THRESHOLDS if percent >= t), default=0)


def is_full(used: int, limit: int) -> bool:
    """No new message gets in (``store.messages.fits_quota``'s first rule)."""
    return limit > 0 and used >= limit


@dataclass(frozen=True)
class QuotaNoticeReport:
    thresholds: int = 0  # threshold mails sent
    full: int = 0  # daily full-mailbox notices sent
    lowered: int = 0  # levels lowered silently


def _candidates() -> list[int]:
    """Accounts at 80 % or more, or whose told level may have to go down."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.account_id FROM store_usage u JOIN accounts_account a ON a.id = u.account_id"
            " WHERE a.quota_bytes > 0 AND (u.bytes * 100 >= a.quota_bytes * %s OR u.notice_level > 0)"
            " ORDER BY u.account_id",
            [THRESHOLDS[0]],
        )
        return [int(row[0]) for row in cursor.fetchall()]


def _render(template: str, context: dict[str, object]) -> str:
    # French whatever language the person reads the pages in (mail the platform sends is French-first).
    with translation.override(settings.LANGUAGE_CODE):
        return render_to_string(f"{template}.txt", context)


def notice_bytes(template: str, subject: str, to: Sequence[str], context: dict[str, object]) -> bytes:
    """A plain-text French notice (``template``: a template path without
    ``.txt``) from ``DEFAULT_FROM_EMAIL``, marked
    ``Auto-Submitted: auto-generated`` (RFC 3834 §5: no out-of-office answers it)."""
    message = EmailMessage(
        subject=subject, body=_render(template, context), from_email=settings.DEFAULT_FROM_EMAIL, to=list(to)
    )
    message.extra_headers["Auto-Submitted"] = "auto-generated"
    return message.message().as_bytes(linesep="\r\n")


def _space_url() -> str:
    return settings.PUBLIC_URL + reverse("archive:space")


def _handle(account_id: int, now: datetime, send: Sender) -> str:
    """One account, in its own transaction; returns what was done
    ("threshold", "full", "lowered" or "")."""
    with transaction.atomic():
        usage = Usage.objects.select_for_update().filter(account_id=account_id).first()
        if usage is None:
            return ""
        account = usage.account  # the row's own foreign key: store/ imports nothing of accounts/
        used, limit = usage.bytes, account.quota_bytes
        percent = percent_of(used, limit)
        reached = threshold_of(percent)
        context = {
            "account": account, "percent": percent, "used": used, "limit": limit, "space_url": _space_url(),
            "retention_days": settings.RETENTION_DAYS,
        }
        if is_full(used, limit):
            today = timezone.localdate(now)
            if usage.full_notice_at is not None and timezone.localdate(usage.full_notice_at) >= today:
                return ""
            to = [account.address]
            if account.secondary_address and account.secondary_verified:
                to.append(account.secondary_address)
            raw = notice_bytes("store/email/quota_full", "Votre boîte aux lettres est pleine", to, context)
            send(raw, to, False)
            Usage.objects.filter(pk=account_id).update(full_notice_at=now, notice_level=THRESHOLDS[-1])
            return "full"
        if reached > usage.notice_level:
            raw = notice_bytes(
                "store/email/quota_threshold", f"Votre boîte aux lettres est utilisée à {reached} %", [account.address], context
            )
            send(raw, [account.address], True)
            Usage.objects.filter(pk=account_id).update(notice_level=reached)
            return "threshold"
        if reached < usage.notice_level and percent < usage.notice_level - HYSTERESIS:
            Usage.objects.filter(pk=account_id).update(notice_level=threshold_of(percent + HYSTERESIS))
            return "lowered"
    return ""


def do_quota_notices(now: datetime, send: Sender) -> QuotaNoticeReport:
    """Send the notices due now (see the module docstring). ``send`` is the
    platform's mail routing (``delivery.route.send_notice``); a failure for
    one account is logged and the others go on (its notice is tried again at
    the next round: nothing was recorded).

    Precondition: not inside a transaction (one per account)."""
    counts = {"threshold": 0, "full": 0, "lowered": 0}
    for account_id in _candidates():
        try:
            done = _handle(account_id, now, send)
        except Exception:
            log.exception("quota notice for account %s failed", account_id)
            continue
        if done:
            counts[done] += 1
    return QuotaNoticeReport(counts["threshold"], counts["full"], counts["lowered"])


__all__ = [
    "HYSTERESIS", "THRESHOLDS", "QuotaNoticeReport", "do_quota_notices", "is_full", "notice_bytes",
    "percent_of", "threshold_of",
]
