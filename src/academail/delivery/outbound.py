"""Mail leaving a sender: académie recipients go through the one door, others
to the outbound capture (the outbound queue replaces the capture for real
sending when the SMTP issue lands)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from academail.delivery.door import DeliveryRefused, deliver
from academail.delivery.models import CapturedMessage
from academail.mime.parse import parse_message

log = logging.getLogger(__name__)


@dataclass
class SendReport:
    delivered: list[str] = field(default_factory=list)
    captured: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def is_local(address: str) -> bool:
    return address.rpartition("@")[2].lower() in settings.MAIL_DOMAINS


def send_message(raw: bytes, *, mail_from: str, recipients: Sequence[str]) -> SendReport:
    """Send ``raw`` to ``recipients``. Durable when it returns.

    Precondition: none (each part opens its own transaction)."""
    report = SendReport()
    local = [r for r in recipients if is_local(r)]
    remote = [r for r in recipients if not is_local(r)]
    if local:
        for address, outcome in zip(local, deliver(raw, local), strict=True):
            if isinstance(outcome, DeliveryRefused):
                report.refused[address] = outcome.message
            elif outcome.refusal is not None:
                report.refused[address] = outcome.refusal.value
            else:
                report.delivered.append(address)
    if remote:
        CapturedMessage.objects.create(
            mail_from=mail_from, recipients=list(remote), subject=parse_message(raw).subject[:2000], raw=raw
        )
        report.captured.extend(remote)
    if report.refused:
        log.warning("platform mail refused for %s", ", ".join(sorted(report.refused)))
    return report
