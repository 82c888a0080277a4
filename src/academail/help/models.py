"""Tables of the help centre and of training sessions.

Articles keep their Markdown source, the sanitised HTML rendered from it (so a
reader's page never runs the Markdown parser) and a folded copy of title and
text for accent-insensitive search. Every save adds an ``ArticleRevision``
(who, when, what). Training sessions count their places through
``Registration`` rows; the sign-up rules live in ``help.training``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Article(models.Model):
    slug = models.SlugField(_("adresse"), max_length=80, unique=True)
    title = models.CharField(_("titre"), max_length=200)
    summary = models.CharField(_("résumé"), max_length=300, blank=True)
    topic = models.CharField(_("rubrique"), max_length=40)
    # The helpdesk category a "Contacter l'assistance" link pre-selects (web.helplinks.CATEGORIES).
    category = models.CharField(_("catégorie d'assistance"), max_length=40, default="autre")
    position = models.PositiveIntegerField(_("ordre"), default=100)
    body = models.TextField(_("texte (Markdown)"))
    body_html = models.TextField(editable=False)
    search_title = models.CharField(max_length=200, editable=False)  # store.search.fold(title)
    search_text = models.TextField(editable=False)  # store.search.fold(title + summary + body)
    published = models.BooleanField(_("publié"), default=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    helpful = models.PositiveIntegerField(default=0)
    not_helpful = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("article d'aide")
        verbose_name_plural = _("articles d'aide")
        indexes = [models.Index(fields=["topic", "position"])]

    def __str__(self) -> str:
        return self.title


class ArticleRevision(models.Model):
    """One saved version of an article: who changed what, and when."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("motif de la modification"), max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="help_revision_number")]


class ArticleFeedback(models.Model):
    """"Cet article vous a-t-il aidé ?": one answer per signed-in person (they
    may change it) or per browser session for people signed out."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    voter = models.CharField(max_length=80)  # "account:<id>" or "session:<hash>"
    helpful = models.BooleanField()
    comment = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "voter"], name="help_feedback_once")]


class Trainer(models.Model):
    """An account allowed to publish training sessions (besides the helpdesk
    and administrators), appointed in the admin."""

    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("formateur")
        verbose_name_plural = _("formateurs")

    def __str__(self) -> str:
        return str(self.account)


class TrainingSession(models.Model):
    title = models.CharField(_("titre"), max_length=200)
    description = models.TextField(_("description"))
    audience = models.CharField(_("public"), max_length=200, blank=True)
    online_url = models.URLField(_("lien de la visioconférence"), blank=True)
    place = models.CharField(_("lieu"), max_length=300, blank=True)
    starts_at = models.DateTimeField(_("début"), db_index=True)
    ends_at = models.DateTimeField(_("fin"))
    capacity = models.PositiveIntegerField(_("nombre de places"))
    trainer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                related_name="+")
    cancelled = models.BooleanField(default=False)
    # Bumped on each change, so invitations carry a growing iCalendar SEQUENCE.
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("session de formation")
        verbose_name_plural = _("sessions de formation")

    def __str__(self) -> str:
        return self.title


class RegistrationState(models.TextChoices):
    CONFIRMED = "confirmed", _("Inscrit")
    WAITING = "waiting", _("En liste d'attente")
    CANCELLED = "cancelled", _("Désinscrit")


class Registration(models.Model):
    session = models.ForeignKey(TrainingSession, on_delete=models.CASCADE, related_name="registrations")
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=RegistrationState.choices)
    created_at = models.DateTimeField(default=timezone.now)  # waiting-list order
    reminded_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            # One live registration per person and session: signing up twice is refused by the database too.
            models.UniqueConstraint(fields=["session", "account"], name="help_registration_once"),
        ]
        indexes = [models.Index(fields=["session", "state", "created_at"])]


class Resource(models.Model):
    """A document or link attached to a training session."""

    session = models.ForeignKey(TrainingSession, on_delete=models.CASCADE, related_name="resources")
    title = models.CharField(_("titre"), max_length=200)
    url = models.URLField(_("lien"), blank=True)
    # Small documents (slides, a PDF guide) live in the row, served by one view that checks access.
    document_name = models.CharField(max_length=200, blank=True)
    document_type = models.CharField(max_length=100, blank=True)
    document = models.BinaryField(null=True, editable=False)
    position = models.PositiveIntegerField(default=0)
