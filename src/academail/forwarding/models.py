"""Tables of forwarding: each account's forward (one target, confirmed or
not), the single-use confirmation links sent to targets (only a SHA-256 of the
secret is kept), and forwarded messages held for an administrator's approval
(``FORWARD_OUTSIDE=hold``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Forwarding(models.Model):
    """The account's forward. Nothing is forwarded until ``confirmed_at`` is
    set (the target opened the link); turning forwarding off deletes the row.
    Delivery reads the confirmed rows of a batch's recipients through the
    unique account index, one query per batch."""

    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forwarding",
                                   verbose_name=_("compte"))
    target = models.CharField(_("adresse de transfert"), max_length=320)
    keep_copy = models.BooleanField(_("conserver une copie dans la boîte"), default=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("transfert")
        verbose_name_plural = _("transferts")

    def __str__(self) -> str:
        return f"{self.account_id} → {self.target}"


class ConfirmationToken(models.Model):
    """A link sent to ``target``: valid ``FORWARD_CONFIRM_TTL`` seconds (48 h),
    once, and only while the account's forward still points to ``target``."""

    class Meta:
        indexes = [models.Index(fields=["account", "created_at"], name="forwarding_token_recent")]


    # Kept when the forward is turned off (the link then confirms nothing), so
    # the links-per-hour limit still counts them: turning off and on again
    # cannot send the académie's mail to an address again and again.
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", null=True)
    forwarding = models.ForeignKey(Forwarding, on_delete=models.SET_NULL, related_name="tokens", null=True)
    target = models.CharField(max_length=320)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class HeldForward(models.Model):
    """A forwarded message waiting for an administrator (outside domain with
    ``FORWARD_OUTSIDE=hold``). The person's copy is in their mailbox
    meanwhile; ``raw`` is what will be sent (marker and trace fields included),
    signed and given an SRS envelope sender when released."""

    created_at = models.DateTimeField(_("reçu le"), default=timezone.now, db_index=True)
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("compte"))
    target = models.CharField(_("destinataire du transfert"), max_length=320)
    mail_from = models.CharField(_("expéditeur d'origine (enveloppe)"), max_length=320, blank=True)
    subject = models.TextField(_("objet"), blank=True)
    reason = models.TextField(_("motif"))
    raw = models.BinaryField(_("message"))
    size = models.BigIntegerField(_("taille"), default=0)

    class Meta:
        verbose_name = _("transfert retenu (approbation)")
        verbose_name_plural = _("transferts retenus (approbation)")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.subject} → {self.target}"
