"""Tables of the filters: the account's named Sieve scripts (RFC 5228), at most
one of them active, the source of truth for both the webmail's rules and the
advanced editor (which edit the active one) and ManageSieve (RFC 5804, which
edits any); and the vacation memory (RFC 5230 §4.2: one reply per sender per
``:days``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SieveScript(models.Model):
    """One named script of an account; the ``active`` one runs at delivery
    (RFC 5804 §1.2: at most one per account, enforced by a partial unique
    index). ``(id, updated_at)`` is the cache key of the compiled script
    (``filters.engine``): every save bumps ``updated_at``."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sieve_scripts"
    )
    name = models.CharField(_("nom"), max_length=200, default="academail")
    content = models.TextField(_("script Sieve"), blank=True)
    active = models.BooleanField(_("actif"), default=True)
    updated_at = models.DateTimeField(_("modifié le"), default=timezone.now)

    class Meta:
        verbose_name = _("script de filtres")
        verbose_name_plural = _("scripts de filtres")
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="filters_script_name_once"),
            # Also the index of the delivery lookup (``accounts_with_filters``).
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(active=True), name="filters_one_active_script"
            ),
        ]

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
