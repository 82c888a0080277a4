"""``{% help_hint "slug" %}`` and ``{% article_url "slug" %}``: see ``web.helplinks``."""

from __future__ import annotations

from django import template

from academail.help.articles import article_title
from academail.web import helplinks as links

register = template.Library()


@register.simple_tag
def article_url(slug: str) -> str:
    return links.article_url(slug)


@register.simple_tag
def assistance_url(category: str) -> str:
    return links.assistance_url(category)


@register.filter
def help_slug(extra_tags: str) -> str:
    """``{{ message.extra_tags|help_slug }}``: see ``web.helplinks.message_tag``."""
    return links.slug_of_message_tags(extra_tags)


@register.inclusion_tag("help/partials/hint.html")
def help_hint(slug: str, lead: str = "") -> dict[str, str]:
    """One line under an error: "Comment résoudre ce problème : <title>"."""
    return {"url": links.article_url(slug), "title": article_title(slug), "lead": lead}
