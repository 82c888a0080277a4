"""Tables of protection: the spam classifier's token counts (one académie-wide
scope, ``scope=0``, and one per person, ``scope=account id``), each person's
"toujours accepter / toujours refuser" sender lists, and the correspondents a
person wrote to or kept mail from (sender reputation)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ACADEMIE_SCOPE = 0


class TokenCount(models.Model):
    """How many spam and ham messages of a scope held one hashed token
    (a word or a bigram, ``protection.tokens``). Rows are only added or
    incremented; a token seen once never costs more than one row per scope."""

    scope = models.BigIntegerField()  # 0: académie-wide; else the account id
    token = models.BigIntegerField()  # 63-bit hash of the token text
    spam = models.IntegerField(default=0)
    ham = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "token"], name="protection_token_once")]
        # Screening reads (scope, token) -> (spam, ham) for 300 tokens per
        # scope: from this index alone, without a second seek into the table
        # per token (half the cost on SQLite; an index-only scan on PostgreSQL).
        indexes = [models.Index(fields=["scope", "token", "spam", "ham"], name="protection_token_counts")]


class TrainingTotals(models.Model):
    """Messages learned per scope (the denominators of the classifier), and
    the scope's generation: a new random value at every write to its counts,
    in the same statement as its totals (``classifier.do_count``), so a process
    that cached the scope's token counts knows from this row alone whether
    they still hold (``classifier.read_counts``), whichever process learned."""

    scope = models.BigIntegerField(primary_key=True)
    spam = models.IntegerField(default=0)
    ham = models.IntegerField(default=0)
    generation = models.BigIntegerField(default=0)


class SenderRule(models.Model):
    """A person's "Toujours accepter" or "Toujours refuser" entry: an address
    (``prenom.nom@example.org``) or a whole domain (``@example.org``)."""

    class Kind(models.TextChoices):
        ACCEPT = "accept", _("Toujours accepter")
        REFUSE = "refuse", _("Toujours refuser")

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sender = models.CharField(_("expéditeur"), max_length=320)
    kind = models.CharField(_("règle"), max_length=8, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("règle d'expéditeur")
        verbose_name_plural = _("règles d'expéditeur")
        constraints = [models.UniqueConstraint(fields=["account", "sender"], name="protection_sender_rule_once")]


class Correspondent(models.Model):
    """An address the person wrote to, or kept mail from (moved it out of
    Indésirables): its mail never goes to Indésirables unless it fails
    authentication."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=320)
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "address"], name="protection_correspondent_once")]


class Learned(models.Model):
    """What a person taught the classifier about one message content: learning
    the same content again changes nothing, the opposite verdict reverses it."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sha256 = models.CharField(max_length=64)
    spam = models.BooleanField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "sha256"], name="protection_learned_once")]


class ReportedSender(models.Model):
    """An address whose mail the person reported as junk: its next messages
    go to Indésirables too (until the person keeps one of them)."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=320)
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "address"], name="protection_reported_once")]


class MessageWarnings(models.Model):
    """Phishing warnings of one message as delivered: keyed by the content's
    SHA-256 together with our authentication results (the same bytes from a
    forged and from a genuine sender must not share warnings), so a circular
    to 40,000 people is analysed and stored once. Written at delivery only
    when there is something to say; read when a message is opened."""

    key = models.CharField(max_length=64, unique=True)
    level = models.CharField(max_length=8)  # danger, warning, info
    data = models.JSONField(default=dict)  # {"warnings": [...], "links": [...]}
    created_at = models.DateTimeField(default=timezone.now)


class Campaign(models.Model):
    """Phishing reports grouped: the same sender, the same subject or the same
    link host. The security team sees how many mailboxes received it and can
    pull it from all of them."""

    sender = models.CharField(max_length=320, blank=True, db_index=True)
    subject = models.CharField(max_length=500, blank=True, db_index=True)
    url_host = models.CharField(max_length=253, blank=True, db_index=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_count = models.IntegerField(default=0)


class PhishingReport(models.Model):
    """One "Signaler un hameçonnage" by one person."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="reports")
    sha256 = models.CharField(max_length=64)
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    url_host = models.CharField(max_length=253, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "sha256"], name="protection_report_once")]


class DomainHistory(models.Model):
    """What the académie has received from one sender domain (the From's):
    since when, how many messages, how many proved to come from it
    (authentication passed) and how many failed. Read once per message
    from outside (``spam.screen``) and counted in its delivery transaction
    (``domains.do_count``), through the unique index on ``domain``."""

    domain = models.CharField(max_length=253, unique=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    messages = models.BigIntegerField(default=0)
    verified = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
