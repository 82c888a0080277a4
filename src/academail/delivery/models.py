"""Outbound capture: mail for outside addresses that the platform keeps instead
of sending, in a demo, in tests, or until the outbound queue is configured.
Administrators read it in the admin ("Courrier sortant retenu")."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CapturedMessage(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    mail_from = models.CharField(_("expéditeur (enveloppe)"), max_length=320, blank=True)
    recipients = models.JSONField(_("destinataires"), default=list)
    subject = models.TextField(_("objet"), blank=True)
    raw = models.BinaryField(_("message"))

    class Meta:
        verbose_name = _("courrier sortant retenu")
        verbose_name_plural = _("courrier sortant retenu")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.recipients)}"
