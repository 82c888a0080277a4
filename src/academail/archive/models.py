"""Mailbox care data, owned by ``academail.archive``: exports (a file under
``EXPORT_DIR`` a person downloads for ``EXPORT_KEEP_DAYS`` days)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from academail.jobs.models import Job


class ExportFormat(models.TextChoices):
    EML = "eml", _("Fichiers .eml dans un zip (un dossier par dossier)")
    MBOX = "mbox", _("mbox (un fichier par dossier, dans un zip)")


class Export(models.Model):
    """One export: what was asked (``params``: mailbox ids, dates, selected
    messages, delete afterwards), the job that writes it, the file once ready."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    job = models.OneToOneField(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    format = models.CharField(max_length=8, choices=ExportFormat.choices)
    label = models.CharField(max_length=300)  # French, what the list shows
    params = models.JSONField(default=dict)
    filename = models.CharField(max_length=200, blank=True)  # under EXPORT_DIR, once ready
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    messages = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["account", "created_at"], name="export_account")]

    def __str__(self) -> str:
        return f"export#{self.pk} ({self.format})"
