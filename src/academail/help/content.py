"""The starting set of articles shipped with the product (``help/articles/*.md``).

Each file is Markdown after a small header (``title``, ``summary``, ``topic``,
``category``, ``position`` between ``---`` lines). ``do_install_shipped``
creates the articles that do not exist yet, so the set appears after
``migrate`` (a ``post_migrate`` handler, also run after a test database flush);
an upgrade updates the articles nobody has edited, and an article edited in the
browser is never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from academail.help.articles import Draft, check_save_article
from academail.help.models import Article, ArticleRevision

ARTICLES_DIR = Path(__file__).parent / "articles"


@dataclass(frozen=True)
class Shipped:
    slug: str
    position: int
    draft: Draft


def parse(path: Path) -> Shipped:
    text = path.read_text(encoding="utf-8")
    _before, header, body = text.split("---\n", 2)
    meta: dict[str, str] = {}
    for line in header.splitlines():
        key, _sep, value = line.partition(":")
        meta[key.strip()] = value.strip().strip('"')
    draft = Draft(title=meta["title"], summary=meta.get("summary", ""), topic=meta["topic"],
                  category=meta.get("category", "autre"), body=body.lstrip("\n"))
    return Shipped(path.stem, int(meta.get("position", "100")), draft)


def shipped() -> list[Shipped]:
    return [parse(path) for path in sorted(ARTICLES_DIR.glob("*.md"))]


def do_install_shipped() -> int:
    """Create the shipped articles that are missing, and bring up to date those
    nobody has edited in the browser (every revision by the shipped set); an
    article a person edited is never overwritten. Returns how many changed.
    One transaction: the set appears whole or not at all, and with one commit
    (one fsync) instead of two per article; it runs at every ``migrate`` and
    after every flush of a test database."""
    with transaction.atomic():
        return _install_shipped()


def _install_shipped() -> int:
    existing = {a.slug: a for a in Article.objects.all()}
    edited = set(ArticleRevision.objects.filter(author__isnull=False).values_list("article__slug", flat=True))
    changed = 0
    for item in shipped():
        current = existing.get(item.slug)
        if current is None:
            article = check_save_article(None, item.draft, new_slug=item.slug)
        elif item.slug in edited or (current.title, current.summary, current.body, current.topic, current.category) == (
                item.draft.title, item.draft.summary, item.draft.body, item.draft.topic, item.draft.category):
            continue
        else:
            article = check_save_article(None, item.draft, slug=item.slug)
        Article.objects.filter(pk=article.pk).update(position=item.position)
        changed += 1
    return changed


def install_after_migrate(sender: Any, **kwargs: Any) -> None:
    """``post_migrate`` handler: once the help tables exist, install the set."""
    apps = kwargs.get("apps")
    if apps is not None:
        try:
            apps.get_model("help", "Article")
        except LookupError:
            return  # migrating backwards past the help tables
    do_install_shipped()
