"""The starting set of articles shipped with the product (``help/articles/*.md``).

Each file is Markdown after a small header (``title``, ``summary``, ``topic``,
``category``, ``position`` between ``---`` lines). ``do_install_shipped``
creates the articles that do not exist yet, so the set appears after
``migrate`` (a ``post_migrate`` handler, also run after a test database flush)
and an article edited in the browser is never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from academail.help.articles import Draft, check_save_article
from academail.help.models import Article

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
    """Create the shipped articles that are missing; returns how many."""
    existing = set(Article.objects.values_list("slug", flat=True))
    created = 0
    for item in shipped():
        if item.slug in existing:
            continue
        article = check_save_article(None, item.draft, new_slug=item.slug)
        Article.objects.filter(pk=article.pk).update(position=item.position)
        created += 1
    return created


def install_after_migrate(sender: Any, **kwargs: Any) -> None:
    """``post_migrate`` handler: once the help tables exist, install the set."""
    apps = kwargs.get("apps")
    if apps is not None:
        try:
            apps.get_model("help", "Article")
        except LookupError:
            return  # migrating backwards past the help tables
    do_install_shipped()
