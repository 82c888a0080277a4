"""Tables of the filters: one Sieve script per account (RFC 5228), the source of
truth for both the webmail's rules and the advanced editor, and the vacation
memory (RFC 5230 §4.2: one reply per sender per ``:days``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SieveScript(models.Model):
    """The account's active script. ``updated_at`` is the cache key of the
    compiled script (``filters.engine``): every save bumps it."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sieve_script"
    )
    name = models.CharField(_("nom"), max_length=100, default="academail")
    content = models.TextField(_("script Sieve"), blank=True)
    active = models.BooleanField(_("actif"), default=True)
    updated_at = models.DateTimeField(_("modifié le"), default=timezone.now)

    class Meta:
        verbose_name = _("script de filtres")
        verbose_name_plural = _("scripts de filtres")

    def __str__(self) -> str:
        return f"{self.account_id}:{self.name}"


class VacationSeen(models.Model):
    """A sender who got an out-of-office reply, and until when no other is due."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sender = models.CharField(max_length=320)
    until = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "sender"], name="filters_vacation_once")
        ]
