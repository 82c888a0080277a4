"""The helpdesk's records: tickets (whatever channel brought them), their
thread of entries (the requester's messages, the helpdesk's answers, internal
notes and the trace of each action taken on the account), attachments, the
follow-up links of signed-out requesters, agents' canned answers, the audit
log of every agent and secretariat action, and the per-day counters the
dashboard reads.

Only ``assistance`` writes these tables. Secrets of links are stored as
SHA-256 digests, never in clear.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """Slugs are part of the public URL ``/assistance/nouvelle/?categorie=<slug>``
    (the help centre links to it): never rename one."""

    FIRST_SIGNIN = "premiere-connexion", _("Première connexion")
    PASSWORD = "mot-de-passe-oublie", _("Mot de passe oublié")
    SECONDARY = "adresse-de-secours", _("Adresse de secours inaccessible")
    NUMEN = "numen-perdu", _("NUMEN perdu")
    SETUP = "configuration", _("Configuration du téléphone ou de la messagerie")
    FULL = "boite-pleine", _("Boîte pleine")
    SPAM = "indesirables-hameconnage", _("Indésirables ou hameçonnage")
    FORWARDING = "transfert", _("Transfert")
    OTHER = "autre", _("Autre question")


class TicketStatus(models.TextChoices):
    UNCONFIRMED = "unconfirmed", _("En attente de confirmation")
    NEW = "new", _("Nouvelle")
    OPEN = "open", _("En cours")
    WAITING = "waiting", _("En attente du demandeur")
    CLOSED = "closed", _("Résolue")
    MERGED = "merged", _("Fusionnée")
    # Mail to the helpdesk that the spam filter judged junk: kept, never
    # queued nor answered; agents find it with the status filter.
    JUNK = "junk", _("Indésirable")


# Statuses a ticket counts in the queue and the backlog with.
OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.WAITING)


class Channel(models.TextChoices):
    WEB = "web", _("Formulaire")
    MAIL = "mail", _("Courriel")
    PHONE = "phone", _("Téléphone")


class Ticket(models.Model):
    category = models.CharField(_("catégorie"), max_length=32, choices=Category.choices)
    status = models.CharField(_("statut"), max_length=16, choices=TicketStatus.choices,
                              default=TicketStatus.NEW)
    channel = models.CharField(_("canal"), max_length=8, choices=Channel.choices, default=Channel.WEB)
    subject = models.CharField(_("objet"), max_length=200)
    # Who the ticket is about. ``account`` is set when the identifier (or the
    # signed-in requester, or the agent on the phone) names one; the requester
    # is never told whether it did.
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    identifier_given = models.CharField(_("identifiant saisi"), max_length=64, blank=True)
    name = models.CharField(_("nom et prénom"), max_length=200)
    establishment = models.CharField(_("établissement"), max_length=200, blank=True)
    contact_email = models.CharField(_("adresse pour vous répondre"), max_length=254, blank=True)
    contact_phone = models.CharField(_("téléphone"), max_length=40, blank=True)
    identity_verified = models.BooleanField(_("identité vérifiée"), default=False)
    fields = models.JSONField(_("précisions"), default=dict, blank=True)
    signed_in = models.BooleanField(_("déposée en étant connecté"), default=False)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("ouverte le"), default=timezone.now)
    queued_at = models.DateTimeField(_("dans la file depuis"), null=True, blank=True)
    due_at = models.DateTimeField(_("échéance"), null=True, blank=True)
    # ``due_at`` while the ticket is open, else NULL (kept by ``save``): the
    # queue's sort key, so its indexes hold the open tickets only in order.
    open_due = models.DateTimeField(null=True, blank=True, editable=False)
    first_answer_at = models.DateTimeField(_("première réponse"), null=True, blank=True)
    closed_at = models.DateTimeField(_("résolue le"), null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # Seconds from entering the queue to the first answer and to resolution,
    # kept at those moments so the dashboard's percentiles read one column.
    first_answer_seconds = models.PositiveIntegerField(null=True, blank=True)
    resolution_seconds = models.PositiveIntegerField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True)
    # The short secret that threads mail replies into this ticket
    # ("[Assistance n° 12-k3x9f2]" or assistance+12-k3x9f2@...).
    mail_key = models.CharField(max_length=12)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    confirm_hash = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        verbose_name = _("demande d'assistance")
        verbose_name_plural = _("demandes d'assistance")
        indexes = [
            # The queue: open tickets by due time, with or without a filter,
            # read in ``open_due`` order straight off these indexes (never
            # sorted, whatever the number of closed tickets).
            models.Index(fields=["open_due", "id"], name="ticket_queue_open"),
            models.Index(fields=["category", "open_due", "id"], name="ticket_queue_category"),
            models.Index(fields=["assigned_to", "open_due", "id"], name="ticket_queue_agent"),
            models.Index(fields=["establishment", "open_due", "id"], name="ticket_queue_school"),
            # One status chosen in the filter (closed, unconfirmed, junk...).
            models.Index(fields=["status", "due_at", "id"], name="ticket_queue"),
            models.Index(fields=["account", "-id"], name="ticket_account"),
            models.Index(fields=["contact_email", "created_at"], name="ticket_contact_rate"),
            models.Index(fields=["remote_addr", "created_at"], name="ticket_addr_rate"),
            models.Index(fields=["closed_at"], name="ticket_closed"),
        ]

    def __str__(self) -> str:
        return f"n° {self.pk} — {self.subject}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.open_due = self.due_at if self.status in OPEN_STATUSES else None
        fields = kwargs.get("update_fields")
        if fields is not None:
            kwargs["update_fields"] = {*fields, "open_due"}
        super().save(*args, **kwargs)

    @property
    def number(self) -> str:
        return str(self.pk)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class EntryKind(models.TextChoices):
    REQUESTER = "requester", _("Message du demandeur")
    ANSWER = "answer", _("Réponse de l'assistance")
    NOTE = "note", _("Note interne")
    ACTION = "action", _("Action sur le compte")
    EVENT = "event", _("Suivi")


# What the requester sees of a ticket's thread (never notes nor actions' details).
PUBLIC_KINDS = (EntryKind.REQUESTER, EntryKind.ANSWER)


class Entry(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")
    author_name = models.CharField(max_length=200, blank=True)
    body = models.TextField(max_length=20000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["ticket", "id"], name="entry_ticket")]


class Attachment(models.Model):
    """A file sent with an entry (web upload or mail part). Served with the
    webmail's download rules: attachment disposition, nosniff, sandbox CSP."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    data = models.BinaryField()


class TicketLink(models.Model):
    """A follow-up link for a requester without an account session: only the
    SHA-256 of its secret is kept; each mail to the requester carries a fresh
    one, valid ``ASSISTANCE_LINK_TTL`` seconds."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()


class CannedAnswer(models.Model):
    """An agent's ready-made answer. Placeholders: {prenom}, {nom},
    {identifiant}, {numero}, {adresse}, {lien_assistance}."""

    category = models.CharField(_("catégorie"), max_length=32, choices=Category.choices, blank=True)
    title = models.CharField(_("titre"), max_length=120)
    body = models.TextField(_("texte"), max_length=5000)

    class Meta:
        verbose_name = _("réponse type")
        verbose_name_plural = _("réponses types")
        ordering = ["category", "title"]

    def __str__(self) -> str:
        return self.title


class AuditEntry(models.Model):
    """Who did what to whom from the consoles (agents and secretariat)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_name = models.CharField(max_length=200)
    action = models.CharField(max_length=40)
    ticket = models.ForeignKey(Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("trace d'audit")
        verbose_name_plural = _("journal d'audit")
        indexes = [models.Index(fields=["account", "-id"], name="audit_account")]


class DayStat(models.Model):
    """Per-day, per-category counters kept as tickets move, so the dashboard
    never scans the tickets table: opened, closed, closed within the SLA, and
    the sums of seconds to the first answer and to resolution."""

    day = models.DateField()
    category = models.CharField(max_length=32, choices=Category.choices)
    opened = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    closed_in_sla = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "category"], name="daystat_day_category")]
