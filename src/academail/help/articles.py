"""Help articles: reading, search, feedback and versioned editing.

Search folds accents and case with the store's own ``fold`` (the same rule as
mail search: "reunion" finds "Réunion") and matches every word of the query
against a folded copy of the title, summary and text kept on the row. The
help centre holds hundreds of articles, not millions: a ``LIKE`` over that
column answers in a few milliseconds on SQLite and PostgreSQL alike
(``bench/help.py``), so no separate full-text index is kept.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Max, QuerySet, Value, When
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from academail.accounts.models import Account, Role
from academail.help import markdown
from academail.help.models import Article, ArticleFeedback, ArticleRevision
from academail.store.search import fold, terms

MAX_RESULTS = 30
MAX_BODY = 100_000
HISTORY_LENGTH = 100
EDITOR_ROLES = (Role.SUPPORT, Role.ADMIN)

# Rubrics of the help centre, in the order the index shows them.
TOPICS: tuple[tuple[str, Any], ...] = (
    ("connexion", gettext_lazy("Se connecter et premiers pas")),
    ("securite", gettext_lazy("Mots de passe et sécurité")),
    ("appareils", gettext_lazy("Téléphones et logiciels de messagerie")),
    ("courrier", gettext_lazy("Organiser son courrier")),
    ("indesirables", gettext_lazy("Indésirables et hameçonnage")),
    ("espace", gettext_lazy("Espace et conservation")),
    ("agenda", gettext_lazy("Rendez-vous et formations")),
)
TOPIC_KEYS = tuple(key for key, _label in TOPICS)


class ArticleError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ArticleNotFound(Exception):
    pass


def can_edit(account: Any) -> bool:
    """Helpdesk agents and administrators edit articles."""
    return isinstance(account, Account) and account.is_authenticated and account.role in EDITOR_ROLES


def _visible(reader: Any) -> QuerySet[Article]:
    rows = Article.objects.all()
    return rows if can_edit(reader) else rows.filter(published=True)


def access_article(slug: str, *, reader: Any) -> Article:
    """The article ``slug`` as ``reader`` may see it (unpublished ones: editors only)."""
    article = _visible(reader).filter(slug=slug).first()
    if article is None:
        raise ArticleNotFound(slug)
    return article


def article_title(slug: str) -> str:
    """The title of a published article, for links that name it."""
    title = Article.objects.filter(slug=slug, published=True).values_list("title", flat=True).first()
    return title or _("Aide")


@dataclass(frozen=True)
class Topic:
    key: str
    label: str
    articles: list[Article]
    total: int  # articles in the rubric; ``articles`` may show only the first ones


TOPIC_PREVIEW = 8


def index(*, reader: Any, topic: str = "") -> list[Topic]:
    """The help centre's table of contents, rubric by rubric: the first
    ``TOPIC_PREVIEW`` articles of each, or every article of ``topic``."""
    rows = _visible(reader).only("slug", "title", "summary", "topic", "position", "published")
    if topic:
        rows = rows.filter(topic=topic)
    by_topic: dict[str, list[Article]] = {}
    for row in rows.order_by("position", "title"):
        by_topic.setdefault(row.topic, []).append(row)
    return [Topic(key, str(label), items if topic else items[:TOPIC_PREVIEW], len(items))
            for key, label in TOPICS if (items := by_topic.get(key))]


def search(query: str, *, reader: Any, limit: int = MAX_RESULTS) -> list[Article]:
    """Articles whose title, summary or text hold every word of ``query``
    (accents and case ignored), those matching in the title first."""
    words = terms(query)
    if not words:
        return []
    rows = _visible(reader)
    for word in words:
        rows = rows.filter(search_text__contains=word)
    rank = sum((Case(When(search_title__contains=word, then=Value(1)), default=Value(0),
                     output_field=IntegerField()) for word in words), Value(0))
    return list(rows.annotate(rank=rank).only("slug", "title", "summary", "topic")
                .order_by(-F("rank"), "position", "title")[:limit])


# --- what a reader sees -----------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def personalised_html(article: Article, values: dict[str, str]) -> str:
    """The article's sanitised HTML with ``{{ identifiant }}``-style
    placeholders replaced by the reader's own settings (escaped); an unknown
    placeholder is left as written."""
    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return f"<strong>{escape(value)}</strong>" if value is not None else match.group(0)

    return _PLACEHOLDER.sub(replace, article.body_html)


def do_record_feedback(article: Article, *, voter: str, helpful: bool, comment: str = "") -> None:
    """Record (or change) one reader's answer and keep the article's counters in step."""
    comment = comment.strip()[:500]
    with transaction.atomic():
        locked = Article.objects.select_for_update().get(pk=article.pk)
        previous = ArticleFeedback.objects.filter(article=locked, voter=voter).first()
        if previous is not None:
            if previous.helpful != helpful:
                _count(locked, previous.helpful, -1)
                _count(locked, helpful, +1)
            previous.helpful, previous.comment, previous.at = helpful, comment or previous.comment, timezone.now()
            previous.save(update_fields=["helpful", "comment", "at"])
        else:
            ArticleFeedback.objects.create(article=locked, voter=voter, helpful=helpful, comment=comment)
            _count(locked, helpful, +1)
        locked.save(update_fields=["helpful", "not_helpful"])


def access_feedback_comments(editor: Any, article: Article, *, limit: int = 10) -> list[ArticleFeedback]:
    """The latest readers' comments on an article (editors only; empty otherwise)."""
    if not can_edit(editor):
        return []
    return list(ArticleFeedback.objects.filter(article=article).exclude(comment="").order_by("-at")[:limit])


def _count(article: Article, helpful: bool, delta: int) -> None:
    if helpful:
        article.helpful = max(0, article.helpful + delta)
    else:
        article.not_helpful = max(0, article.not_helpful + delta)


# --- editing -------------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Draft:
    title: str
    summary: str
    topic: str
    category: str
    body: str
    published: bool = True
    note: str = ""


def check_draft(draft: Draft) -> Draft:
    """Validate what an editor typed; raises ``ArticleError`` naming the field."""
    from academail.web.helplinks import CATEGORIES

    title = " ".join(draft.title.split())
    if not title:
        raise ArticleError(_("Donnez un titre à l'article."), field="title")
    if len(title) > 200:
        raise ArticleError(_("Le titre est trop long (200 caractères au plus)."), field="title")
    if draft.topic not in TOPIC_KEYS:
        raise ArticleError(_("Choisissez une rubrique."), field="topic")
    if draft.category not in CATEGORIES:
        raise ArticleError(_("Choisissez une catégorie d'assistance."), field="category")
    if not draft.body.strip():
        raise ArticleError(_("L'article est vide."), field="body")
    if len(draft.body) > MAX_BODY:
        raise ArticleError(_("L'article est trop long (100 000 caractères au plus)."), field="body")
    return Draft(title, " ".join(draft.summary.split())[:300], draft.topic, draft.category,
                 draft.body.replace("\r\n", "\n"), draft.published, draft.note.strip()[:200])


def preview(draft: Draft) -> str:
    """Sanitised HTML of a draft, exactly as it will be published."""
    return markdown.render(draft.body)


def _fill(article: Article, draft: Draft, editor: Account | None) -> None:
    article.title, article.summary, article.topic = draft.title, draft.summary, draft.topic
    article.category, article.body, article.published = draft.category, draft.body, draft.published
    article.body_html = markdown.render(draft.body)
    article.search_title = fold(draft.title)
    article.search_text = fold("\n".join((draft.title, draft.summary, draft.body)))
    article.updated_at = timezone.now()
    article.updated_by = editor


def check_save_article(editor: Account | None, draft: Draft, *, slug: str | None = None,
                       new_slug: str = "") -> Article:
    """Create (``slug`` None, at ``new_slug``) or change an article and add a
    revision saying who changed what. ``editor`` None is the shipped set
    (fixtures, demo). Raises ``ArticleError``; callers check ``can_edit``."""
    draft = check_draft(draft)
    with transaction.atomic():
        if slug is None:
            if not _SLUG.match(new_slug) or len(new_slug) > 80:
                raise ArticleError(_("L'adresse ne peut contenir que des minuscules sans accent, des "
                                     "chiffres et des tirets (par exemple « boite-pleine »)."), field="slug")
            article = Article(slug=new_slug)
            _fill(article, draft, editor)
            try:
                with transaction.atomic():
                    article.save()
            except IntegrityError:
                raise ArticleError(_("Un article existe déjà à cette adresse."), field="slug") from None
        else:
            article = Article.objects.select_for_update().filter(slug=slug).first()
            if article is None:
                raise ArticleNotFound(slug)
            _fill(article, draft, editor)
            article.save()
        number = (article.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
        ArticleRevision.objects.create(article=article, number=number, title=draft.title, summary=draft.summary,
                                       body=draft.body, author=editor, note=draft.note)
    return article


@dataclass(frozen=True)
class RevisionView:
    """One version and what it changed from the one before (a unified diff)."""

    number: int
    at: Any
    author: Account | None
    title: str
    note: str
    diff: str
    added: int
    removed: int


def access_revisions(editor: Account, slug: str) -> tuple[Article, list[RevisionView]]:
    """An article's history with each version's changes, newest first (editors only)."""
    if not can_edit(editor):
        raise ArticleNotFound(slug)
    article = access_article(slug, reader=editor)
    rows = list(article.revisions.select_related("author").order_by("-number")[:HISTORY_LENGTH + 1])
    views: list[RevisionView] = []
    for row, older in zip(rows, [*rows[1:], None], strict=True):
        if len(views) == HISTORY_LENGTH:
            break
        added = removed = 0
        lines: list[str] = []
        if older is not None:
            before = [f"# {older.title}", *older.body.splitlines()]
            after = [f"# {row.title}", *row.body.splitlines()]
            lines = list(difflib.unified_diff(before, after, lineterm="", n=1))[2:]
            added = sum(1 for line in lines if line.startswith("+"))
            removed = sum(1 for line in lines if line.startswith("-"))
        views.append(RevisionView(row.number, row.at, row.author, row.title, row.note,
                                  "\n".join(lines) if older is not None else "", added, removed))
    return article, views

