"""A message's own ``<style>`` rules, kept safely for the sandboxed frame.

Newsletters lay themselves out with class selectors and ``@media`` queries in
``<style>`` blocks; dropping them (as nh3 does with the element) breaks them on
a phone. Here the CSS itself is parsed with tinycss2 (the maintained CSS
Syntax Level 3 parser) and written back from its tokens, keeping only:

- qualified rules whose declarations use the same property allow-list as
  ``style`` attributes (``render.ALLOWED_CSS``: nothing that positions over
  the page, such as ``position: fixed``, nor any property that takes an image);
- values without ``url()``, ``image-set()``, ``expression()`` or any other
  function that loads or runs something (the frame's CSP blocks loads too:
  two locks);
- ``@media`` blocks whose query is plain words, numbers and brackets; every
  other at-rule (``@import``, ``@font-face``, ``@namespace``, ``@keyframes``…)
  is dropped.

Every selector is scoped to the message's container (``main``, a tag messages
cannot use, see ``render.ALLOWED_TAGS``): a rule for ``body`` or ``*`` styles
the message, never the frame around it. The output never contains ``<``
(escaped as ``\\3c``), so it cannot close the ``<style>`` element it goes in.
"""

from __future__ import annotations

from html.parser import HTMLParser

import tinycss2
from tinycss2 import ast

SCOPE = "main"
MAX_STYLE_CHARS = 256 * 1024
MAX_RULES = 5000
# Functions a kept value may call: maths and colours, nothing that fetches.
_SAFE_FUNCTIONS = {"rgb", "rgba", "hsl", "hsla", "calc", "min", "max", "clamp", "var"}
_ROOT_SELECTORS = {"html", "body", ":root"}


class _StyleCollector(HTMLParser):
    """The text of every ``<style>`` element, as the stdlib HTML parser (which
    reads it as raw text, like a browser) finds it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.blocks: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._inside = tag == "style"
        if self._inside:
            self.blocks.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.blocks[-1] += data


def style_blocks(markup: str) -> str:
    """The concatenated ``<style>`` text of an HTML document (bounded)."""
    collector = _StyleCollector()
    collector.feed(markup)
    collector.close()
    return "\n".join(collector.blocks)[:MAX_STYLE_CHARS]


def _value_is_safe(tokens: list[ast.Node]) -> bool:
    for token in tokens:
        if isinstance(token, ast.URLToken):
            return False
        if isinstance(token, ast.FunctionBlock):
            if token.lower_name not in _SAFE_FUNCTIONS or not _value_is_safe(token.arguments):
                return False
        elif isinstance(token, (ast.ParenthesesBlock, ast.SquareBracketsBlock, ast.CurlyBracketsBlock)):
            if not _value_is_safe(token.content):
                return False
        elif isinstance(token, ast.IdentToken) and token.lower_value in {"expression", "javascript"}:
            return False
    return True


def _declarations(content: list[ast.Node], allowed: set[str]) -> str:
    kept = []
    for item in tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True):
        if not isinstance(item, ast.Declaration) or item.lower_name not in allowed:
            continue
        if not _value_is_safe(item.value):
            continue
        value = tinycss2.serialize(item.value).strip()
        kept.append(f"{item.lower_name}: {value}{' !important' if item.important else ''}")
    return "; ".join(kept)


def _scoped(prelude: list[ast.Node]) -> str | None:
    """The selector list with each selector under ``SCOPE``; None if it is empty."""
    selectors = []
    for selector in tinycss2.serialize(prelude).split(","):
        selector = " ".join(selector.split())
        if not selector:
            continue
        head, _, rest = selector.partition(" ")
        if head.lower() in _ROOT_SELECTORS:
            selector = f"{SCOPE} {rest}".strip()
        elif head.lower().startswith(("html.", "body.", "html#", "body#")):
            selector = f"{SCOPE} {rest}".strip()  # the frame's root carries none of the message's classes
        else:
            selector = f"{SCOPE} {selector}"
        selectors.append(selector)
    return ", ".join(selectors) or None


def _media_query_is_plain(prelude: list[ast.Node]) -> bool:
    allowed = (ast.WhitespaceToken, ast.IdentToken, ast.NumberToken, ast.DimensionToken,
               ast.PercentageToken, ast.LiteralToken, ast.ParenthesesBlock)
    for token in prelude:
        if not isinstance(token, allowed):
            return False
        if isinstance(token, ast.ParenthesesBlock) and not _media_query_is_plain(token.content):
            return False
    return True


def _rules(nodes: list[ast.Node], allowed: set[str], budget: list[int]) -> list[str]:
    out = []
    for node in nodes:
        if budget[0] <= 0:
            break
        if isinstance(node, ast.QualifiedRule):
            selector = _scoped(node.prelude)
            body = _declarations(node.content, allowed)
            if selector and body:
                out.append(f"{selector} {{ {body} }}")
                budget[0] -= 1
        elif isinstance(node, ast.AtRule) and node.lower_at_keyword == "media" and node.content is not None:
            if not _media_query_is_plain(node.prelude):
                continue
            inner = _rules(tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True),
                           allowed, budget)
            if inner:
                query = " ".join(tinycss2.serialize(node.prelude).split())
                out.append(f"@media {query} {{ {' '.join(inner)} }}")
        # Every other at-rule (@import, @font-face, @namespace, @keyframes, @page…) is dropped.
    return out


def sanitize_stylesheet(css: str, allowed_properties: set[str]) -> str:
    """The kept rules of ``css``, scoped and re-serialised (``""`` if none)."""
    nodes = tinycss2.parse_stylesheet(css[:MAX_STYLE_CHARS], skip_comments=True, skip_whitespace=True)
    text = "\n".join(_rules(nodes, allowed_properties, [MAX_RULES]))
    # "<" only ever appears inside strings or selectors' attribute values: as a CSS
    # escape it means the same and can never end the <style> element.
    return text.replace("<", "\\3c ")
