"""A functional mailbox's record: the account (kind "functional") holding its
mail, the établissement's UAI code and name. Members and their rights are
``store.models.Grant`` rows (``store.acl``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FunctionalMailbox(models.Model):
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="functional"
    )
    # The établissement's UAI (RNE) code: 7 digits and a letter, lower-cased.
    uai = models.CharField(_("code UAI"), max_length=8, db_index=True)
    name = models.CharField(_("nom"), max_length=150)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("boîte fonctionnelle")
        verbose_name_plural = _("boîtes fonctionnelles")

    def __str__(self) -> str:
        return self.name
