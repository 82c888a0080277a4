"""Django e-mail backend for the mail the platform itself sends (activation
codes, alerts, notices): ``django.core.mail`` ->
``delivery.route.do_send_platform_mail``, the one routing function for the
platform's own mail."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from academail.delivery.route import do_send_platform_mail


class PlatformEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            recipients = message.recipients()
            if not recipients:
                continue
            try:
                raw = message.message().as_bytes(linesep="\r\n")
                report = do_send_platform_mail(raw, mail_from=message.from_email, recipients=recipients)
            except Exception:
                if not self.fail_silently:
                    raise
                continue
            if report.delivered or report.captured or report.queued:
                sent += 1
        return sent
