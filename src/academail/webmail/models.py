"""What the webmail remembers for each person: preferences (signature, the
conversation view, messages per page) and the senders whose remote images are
shown without asking ("Toujours afficher les images de cet expéditeur").

Only ``webmail.preferences`` writes these tables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

SIGNATURE_MAX = 2000


class Preferences(models.Model):
    """One row per account, created the first time the person saves the form;
    until then the defaults below apply."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="webmail_preferences"
    )
    signature = models.TextField(blank=True, default="", max_length=SIGNATURE_MAX)
    conversations = models.BooleanField(default=False)
    page_size = models.PositiveSmallIntegerField(default=50)
    updated_at = models.DateTimeField(auto_now=True)


class TrustedSender(models.Model):
    """An exact From address (lower case) whose remote images the account shows
    automatically, when the message's authentication did not fail."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=320)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "address"], name="trusted_sender_unique"),
        ]
