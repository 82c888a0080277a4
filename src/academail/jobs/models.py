"""Background jobs: long work a person asked for (apply the filters to the
existing mail...) that the worker runs outside the web request, with progress
the page can show and a checkpoint so that a job whose worker died resumes
where its last committed batch ended.

A job's work and its checkpoint commit in the same transaction (``jobs.runner``),
so a resumed job never applies a batch twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    QUEUED = "queued", _("En attente")
    RUNNING = "running", _("En cours")
    DONE = "done", _("Terminé")
    FAILED = "failed", _("Échec")


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


class Job(models.Model):
    """One background job. ``lease_until`` and ``lease_owner`` are set by the
    worker that runs it and renewed at each checkpoint; a running job whose
    lease ran out belongs to a dead worker and is taken again."""

    kind = models.CharField(max_length=64)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    params = models.JSONField(default=dict)
    checkpoint = models.JSONField(default=dict)
    done = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    result = models.TextField(blank=True)  # French, shown to the person
    error = models.TextField(blank=True)  # for the administrator's logs
    attempts = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            # At most one waiting or running job of a kind per account.
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=models.Q(state__in=["queued", "running"]),
                name="job_one_active_per_account",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "lease_until"], name="job_due"),
            models.Index(fields=["account", "kind", "created_at"], name="job_account"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}#{self.pk} ({self.state})"

    @property
    def percent(self) -> int:
        if self.state == JobState.DONE:
            return 100
        return min(100, self.done * 100 // self.total) if self.total else 0
