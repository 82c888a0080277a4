"""Outbound capture: mail for outside addresses that the platform keeps instead
of sending, in a demo, in tests, or until the outbound queue is configured.
Administrators read it in the admin ("Courrier sortant retenu")."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CapturedMessage(models.Model):
    created_at = models.DateTimeField(_("capturé le"), auto_now_add=True, db_index=True)
    mail_from = models.CharField(_("expéditeur (enveloppe)"), max_length=320, blank=True)
    recipients = models.JSONField(_("destinataires"), default=list)
    subject = models.TextField(_("objet"), blank=True)
    raw = models.BinaryField(_("message"))

    class Meta:
        verbose_name = _("courrier sortant retenu")
        verbose_name_plural = _("courriers sortants retenus")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.recipients)}"


class OutboundMessage(models.Model):
    """One message waiting to leave (the outbound queue, ``delivery.queue``):
    its bytes once, however many remote recipients it has (the bytes live here,
    not in the store's blob files, whose garbage collector only knows store
    contents). Deleted with its last entry."""

    created_at = models.DateTimeField()
    mail_from = models.CharField(_("expéditeur (enveloppe)"), max_length=320, blank=True)
    subject = models.TextField(_("objet"), blank=True)
    raw = models.BinaryField(_("message"))
    size = models.BigIntegerField(default=0)
    # The account that submitted it (sending limits, the admin); null for the platform's own mail.
    account_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("message en file d'attente")
        verbose_name_plural = _("messages en file d'attente")

    def __str__(self) -> str:
        return f"{self.pk} {self.subject}"


class QueueEntry(models.Model):
    """One remote recipient of an OutboundMessage. ``next_attempt_at`` is when a
    worker may take it; a worker that takes it pushes it forward by a lease, so a
    worker that dies mid-delivery leaves it to another once the lease ends."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="entries")
    recipient = models.CharField(_("destinataire"), max_length=320)
    domain = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(db_index=True)
    attempts = models.IntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_reply = models.TextField(blank=True)
    delay_notified = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("destinataire en file d'attente")
        verbose_name_plural = _("file d'attente sortante")
        ordering = ["next_attempt_at"]

    def __str__(self) -> str:
        return f"{self.pk} → {self.recipient}"


# --- sending limits (``delivery.limits``) ------------------------------------------


class SendEvent(models.Model):
    """Recipients one account sent (or had held) at one moment: the sending
    limits sum these over the last minute, hour and day through the
    (account_id, at) index; rows older than a day are purged."""

    account_id = models.BigIntegerField()
    at = models.DateTimeField()
    recipients = models.IntegerField()
    # Held for an administrator: counts against the hard limits (a compromised
    # account ends up refused), not the soft ones (released mail counts then).
    held = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["account_id", "at"], name="delivery_sendevent_acct_at")]


class SendingState(models.Model):
    """One row per account that went over a limit (on PostgreSQL, per account
    that sent): locked (SELECT ... FOR UPDATE) while its limits are checked and
    counted, so concurrent sends of one account count one after the other;
    and when administrators were last told about it."""

    account_id = models.BigIntegerField(primary_key=True)
    notified_at = models.DateTimeField(null=True, blank=True)


class HeldMessage(models.Model):
    """A message over a soft sending limit: accepted from the sender, kept here
    (neither delivered nor queued) until an administrator releases or deletes it."""

    class Origin(models.TextChoices):
        SUBMISSION = "smtp", _("SMTP (logiciel ou téléphone)")
        WEBMAIL = "webmail", _("Webmail")

    created_at = models.DateTimeField(_("retenu le"), db_index=True)
    account_id = models.BigIntegerField(_("compte"), db_index=True)
    identifier = models.CharField(_("identifiant"), max_length=150)
    origin = models.CharField(_("origine"), max_length=10, choices=Origin.choices)
    mail_from = models.CharField(_("expéditeur (enveloppe)"), max_length=320, blank=True)
    recipients = models.JSONField(_("destinataires"), default=list)
    subject = models.TextField(_("objet"), blank=True)
    reason = models.TextField(_("motif"))
    # Our Received field (submission), prepended at release as it would have been at once.
    trace = models.BinaryField(default=b"")
    raw = models.BinaryField(_("message"))
    size = models.BigIntegerField(_("taille"), default=0)
    event = models.ForeignKey(SendEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("message retenu (limite d'envoi)")
        verbose_name_plural = _("messages retenus (limites d'envoi)")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.identifier}: {self.subject}"
