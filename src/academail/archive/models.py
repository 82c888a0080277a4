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


class MigrationState(models.TextChoices):
    RUNNING = "running", _("En cours")
    DONE = "done", _("Terminée")
    STOPPED = "stopped", _("Interrompue")  # the mailbox is full: raise the quota, run again
    FAILED = "failed", _("Échec")  # the old server could not be reached or read: run again


class ImapMigration(models.Model):
    """One account's pull from the previous platform's IMAP server
    (``archive.migration``): which source mailbox (``source``: host, port and
    the login of the mailbox, never a password), the totals and the last
    run's outcome. A second run of the same source resumes this row."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=400)  # "imap.ancien.fr:993/julie.martin"
    state = models.CharField(max_length=16, choices=MigrationState.choices, default=MigrationState.RUNNING)
    copied = models.BigIntegerField(default=0)
    copied_bytes = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)  # messages of MigrationFailure still failing
    result = models.TextField(blank=True)  # French, the last run's summary
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    runs = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "source"], name="migration_one_per_source")]

    def __str__(self) -> str:
        return f"migration#{self.pk} {self.source}"


class MigrationFolder(models.Model):
    """One source folder: where its messages go, and the checkpoint. Messages
    are copied in UID order and ``last_uid`` commits with the batch it ends
    (RFC 3501 §2.3.1.1: UIDs only grow while ``uidvalidity`` stands), so a
    re-run copies what is above it and nothing twice."""

    migration = models.ForeignKey(ImapMigration, on_delete=models.CASCADE, related_name="folders")
    source_name = models.CharField(max_length=1000)  # decoded from modified UTF-7
    target_name = models.CharField(max_length=1000)
    uidvalidity = models.BigIntegerField(default=0)
    last_uid = models.BigIntegerField(default=0)
    copied = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["migration", "source_name"], name="migration_folder_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source_name} -> {self.target_name}"


class MigrationFailure(models.Model):
    """A message that could not be copied, and why (French). Retried by the
    next run; removed once copied."""

    folder = models.ForeignKey(MigrationFolder, on_delete=models.CASCADE, related_name="failures")
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    size = models.BigIntegerField(default=0)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["folder", "uidvalidity", "uid"], name="migration_failure_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.folder_id}:{self.uid}"


class ImportUpload(models.Model):
    """A file being uploaded in pieces for an import (``archive.uploads``):
    the bytes so far are in ``<upload dir>/parts/<key>.part``; ``received`` is how
    many are there for sure (written and flushed before the row says so), so a
    browser that lost its connection asks for it and sends the rest."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=43, unique=True)  # random: the URL's secret and the file's name
    filename = models.CharField(max_length=200)
    size = models.BigIntegerField()
    received = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["account", "created_at"], name="import_upload_account")]


class MigrationCredential(models.Model):
    """The old password (or master password) of a migration started from a
    page, sealed (``archive.migration_jobs.seal``: Fernet, a key derived from
    ``SECRET_KEY``) for the life of its job only: deleted when the job ends,
    whatever the outcome, and unreadable after ``expires_at`` (the seal's own
    time limit) should a dead worker leave it behind. Never shown, never logged."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="+")
    token = models.TextField()
    expires_at = models.DateTimeField(db_index=True)

    def __repr__(self) -> str:
        return f"MigrationCredential(job={self.job_id})"

    def __str__(self) -> str:
        return repr(self)


class MigratedMessage(models.Model):
    """Where one source message went (``mailbox_id``, ``uid`` in academail)
    and its flags and keywords on the old server when last seen, so that a
    later run brings over what changed there since (``archive.migration``,
    flag sync) without undoing what the person changed here."""

    folder = models.ForeignKey(MigrationFolder, on_delete=models.CASCADE, related_name="messages")
    source_uid = models.BigIntegerField()
    mailbox_id = models.BigIntegerField()
    uid = models.BigIntegerField()
    flags = models.IntegerField(default=0)
    keywords = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["folder", "source_uid"], name="migrated_message_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.folder_id}:{self.source_uid} -> {self.mailbox_id}:{self.uid}"
