"""The lists' tables: a list (its address, how its members are found, who
may post), its hand-managed members (académie accounts or outside
addresses, with their bounce counts), named senders and moderators, and its
posts (held for moderation, distributed: the archive, or refused).

Directory lists store no member: they are a selection on the directory
(``Account.uai``/``Account.function``), resolved at post time
(``lists.members``), so they follow every account change at once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from academail.accounts.models import Function


class Kind(models.TextChoices):
    DIRECTORY = "directory", _("Alimentée par l'annuaire")
    MANUAL = "manual", _("Gérée à la main")


class Posting(models.TextChoices):
    MEMBERS = "members", _("Les membres")
    SENDERS = "senders", _("Les expéditeurs désignés seulement")
    MODERATED = "moderated", _("Tout le monde, après modération")


class MailingList(models.Model):
    address = models.CharField(_("adresse"), max_length=254, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    # Directory lists: every active account of this établissement (UAI) or of
    # this département (the UAI's first three characters), with this function
    # ("" = every function).
    dir_function = models.CharField(
        _("fonction"), max_length=16, choices=Function.choices, blank=True, default=""
    )
    dir_uai = models.CharField(_("établissement (UAI)"), max_length=8, blank=True)
    dir_departement = models.CharField(_("département"), max_length=3, blank=True)
    posting = models.CharField(_("qui peut écrire"), max_length=16, choices=Posting.choices, default=Posting.MEMBERS)
    # An unauthorised sender's post waits for a moderator instead of bouncing.
    moderate_others = models.BooleanField(_("modérer les messages des autres expéditeurs"), default=False)
    allow_unsubscribe = models.BooleanField(_("les membres peuvent se désabonner"), default=False)
    reply_to_list = models.BooleanField(_("les réponses vont à la liste"), default=False)
    # The établissement that owns the list: its secretariat manages it.
    owner_uai = models.CharField(_("établissement gestionnaire (UAI)"), max_length=8, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("liste de diffusion")
        verbose_name_plural = _("listes de diffusion")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class Member(models.Model):
    """A hand-managed list's member: an académie account (``account`` set),
    another list of ours, or an outside address. Outside addresses count
    bounces; past ``LISTS_BOUNCE_THRESHOLD`` they are disabled."""

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="members")
    address = models.CharField(_("adresse"), max_length=254)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    bounces = models.PositiveIntegerField(_("retours en erreur"), default=0)
    last_bounce_at = models.DateTimeField(_("dernier retour en erreur"), null=True, blank=True)
    disabled_at = models.DateTimeField(_("désactivé le"), null=True, blank=True)
    added_at = models.DateTimeField(default=timezone.now)
    # "Un résumé par jour": the member gets the day's posts in one digest
    # (``lists.digests``) instead of each post; ``digest_after`` is the last
    # post a digest (or the switch to digests) already covered.
    digest = models.BooleanField(_("un résumé par jour"), default=False)
    digest_after = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("membre")
        verbose_name_plural = _("membres")
        constraints = [models.UniqueConstraint(fields=["mailing_list", "address"], name="lists_member_unique")]
        # "Which lists contain this address?" (loops, a person's lists); the
        # daily digest round walks only the members who chose it.
        indexes = [models.Index(fields=["address"]),
                   models.Index(fields=["id"], condition=models.Q(digest=True), name="lists_member_digest")]

    def __str__(self) -> str:
        return self.address


class Sender(models.Model):
    """An address allowed to post to the list (besides members, per ``posting``)."""

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="senders")
    address = models.CharField(_("adresse"), max_length=254)

    class Meta:
        verbose_name = _("expéditeur autorisé")
        verbose_name_plural = _("expéditeurs autorisés")
        constraints = [models.UniqueConstraint(fields=["mailing_list", "address"], name="lists_sender_unique")]


class Moderator(models.Model):
    """An account that approves or rejects held posts (and may always post)."""

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="moderators")
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("modérateur")
        verbose_name_plural = _("modérateurs")
        constraints = [models.UniqueConstraint(fields=["mailing_list", "account"], name="lists_moderator_unique")]
        indexes = [models.Index(fields=["account"])]


class PostStatus(models.TextChoices):
    HELD = "held", _("En attente de modération")
    DISTRIBUTED = "distributed", _("Distribué")
    REJECTED = "rejected", _("Refusé")


class Post(models.Model):
    """A message sent to the list. Its content is held in the store
    (``store.messages.do_hold_content``: one blob, shared with the members'
    copies); ``prefix`` is our trace (Received, authentication results) kept
    to distribute it later. Distributed posts are the list's archive."""

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="posts")
    status = models.CharField(max_length=16, choices=PostStatus.choices)
    content_id = models.BigIntegerField()  # store.Content, held while this row lives
    sha256 = models.CharField(max_length=64)
    prefix = models.BinaryField(default=b"")
    mail_from = models.CharField(max_length=320, blank=True)  # the envelope sender: bounces go there
    author = models.CharField(max_length=320, blank=True)  # the From address
    author_name = models.CharField(max_length=256, blank=True)
    subject = models.TextField(blank=True)
    reason = models.CharField(max_length=500, blank=True)  # French: why held or refused
    received_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    local_count = models.PositiveIntegerField(default=0)
    remote_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("message de liste")
        verbose_name_plural = _("messages de liste")
        # The archive and the moderation queue: one list, one status, newest first.
        indexes = [models.Index(fields=["mailing_list", "status", "-id"])]
