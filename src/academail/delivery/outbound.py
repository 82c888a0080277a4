"""The platform's own mail (activation codes, alerts, notices): académie
recipients go through the one door; others into the outbound queue
(``delivery.queue``, DKIM-signed), or straight into the outbound capture in
capture mode (``settings.OUTBOUND_CAPTURE``: demo, tests, any non-production
run), where administrators read it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from academail.delivery.door import DeliveryRefused, deliver
from academail.delivery.models import CapturedMessage
from academail.delivery.queue import enqueue, is_local
from academail.delivery.submit import sign
from academail.mime.parse import parse_message

log = logging.getLogger(__name__)


@dataclass
class SendReport:
    delivered: list[str] = field(default_factory=list)
    captured: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)




def send_message(
    raw: bytes, *, mail_from: str, recipients: Sequence[str], enforce_quota: bool = True
) -> SendReport:
    """Send ``raw`` to ``recipients``. Durable when it returns (or when the
    caller's transaction commits, if called inside one). ``enforce_quota=False``
    stores local copies past a full quota (``store.quota``'s full-mailbox notice).

    Precondition: none (each part opens its own transaction or savepoint)."""
    report = SendReport()
    local = [r for r in recipients if is_local(r)]
    remote = [r for r in recipients if not is_local(r)]
    if local:
        for address, outcome in zip(local, deliver(raw, local, enforce_quota=enforce_quota), strict=True):
            if isinstance(outcome, DeliveryRefused):
                report.refused[address] = outcome.message
            elif outcome.refusal is not None:
                report.refused[address] = outcome.refusal.value
            else:
                report.delivered.append(address)
    if remote and not settings.OUTBOUND_CAPTURE:
        enqueue(sign(raw), mail_from=mail_from, recipients=remote)
        report.queued.extend(remote)
    elif remote:
        CapturedMessage.objects.create(
            mail_from=mail_from, recipients=list(remote), subject=parse_message(raw).subject[:2000], raw=raw
        )
        report.captured.extend(remote)
    if report.refused:
        log.warning("platform mail refused for %s", ", ".join(sorted(report.refused)))
    return report


def send_notice(raw: bytes, recipients: Sequence[str], enforce_quota: bool) -> None:
    """A notice of the platform (``store.quota``'s ``Sender``): from
    ``DEFAULT_FROM_EMAIL``, through ``send_message``."""
    send_message(raw, mail_from=settings.DEFAULT_FROM_EMAIL, recipients=recipients, enforce_quota=enforce_quota)
