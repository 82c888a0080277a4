"""Article Markdown to safe HTML.

markdown-it-py (CommonMark, with tables) renders; raw HTML in the source is not
passed through (``html=False``: it is shown as text), and the output is cleaned
by nh3 with an allow-list of document tags, as mail is in the webmail. So an
editor's ``<script>`` or ``javascript:`` link never reaches a reader, even if a
future option of the renderer let one through.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_TAGS = {
    "h2", "h3", "h4", "p", "br", "hr", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "kbd",
}
_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "ol": {"start"}}
_URL_SCHEMES = {"http", "https", "mailto"}

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render(source: str) -> str:
    """Sanitised HTML of ``source``. Headings start at level 2 (the page's
    title is the one ``h1``); a ``# Title`` in the source becomes ``h2``."""
    html = _renderer.render(source)
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return nh3.clean(
        html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
