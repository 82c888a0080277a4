"""Rich text written in the webmail: the HTML the browser's small editor sends
is never trusted. ``clean_html`` keeps a small allow-list (paragraphs, line
breaks, bold, italic, lists, links, quotes) with nh3, so whatever a hostile page
or a pasted document put in the editor, only those elements and ``href`` on
links (http, https, mailto) reach the message. ``html_to_text`` derives the
text/plain alternative from the cleaned HTML (lists keep their markers, quotes
their "> ", links their address), so readers without HTML see the same message.
"""

from __future__ import annotations

from html.parser import HTMLParser

import nh3

# The editor's buttons produce these (Chromium's execCommand writes <b>/<i>,
# <div> for new lines); anything else a paste brings is dropped, keeping its text.
TAGS = frozenset({"p", "div", "br", "b", "strong", "i", "em", "ul", "ol", "li", "a", "blockquote"})
# "*": no attribute on every element (ammonia would allow lang and title).
ATTRIBUTES: dict[str, set[str]] = {"a": {"href"}, "*": set()}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
MAX_HTML = 2 * 1024 * 1024  # characters; the message size limit applies after that


def clean_html(markup: str) -> str:
    """The allow-listed HTML of the editor's content (script, style, SVG, event
    attributes, ``javascript:`` links... removed; links get
    ``rel="noopener noreferrer"``)."""
    return nh3.clean(
        markup[:MAX_HTML],
        tags=set(TAGS),
        clean_content_tags={"script", "style"},
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote = 0
        self.lists: list[list[int]] = []  # per open list: [is_ordered, counter]
        self.href: list[str] = []

    def _break(self, *, blank: bool = False) -> None:
        text = "".join(self.current).rstrip()
        self.current = []
        prefix = "> " * self.quote
        if text.strip():
            self.lines.append(prefix + text)
        if blank and self.lines and self.lines[-1].strip("> "):
            self.lines.append(prefix.rstrip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "div", "ul", "ol", "blockquote", "li"):
            self._break()
        if tag == "br":
            text = "".join(self.current).rstrip()
            self.current = []
            self.lines.append(("> " * self.quote + text).rstrip())
        elif tag == "blockquote":
            self.quote += 1
        elif tag in ("ul", "ol"):
            self.lists.append([1 if tag == "ol" else 0, 0])
        elif tag == "li":
            indent = "  " * max(0, len(self.lists) - 1)
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                self.current.append(f"{indent}{self.lists[-1][1]}. ")
            else:
                self.current.append(f"{indent}- ")
        elif tag in ("b", "strong"):
            self.current.append("*")
        elif tag in ("i", "em"):
            self.current.append("_")
        elif tag == "a":
            self.href.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("b", "strong"):
            self.current.append("*")
        elif tag in ("i", "em"):
            self.current.append("_")
        elif tag == "a":
            href = self.href.pop() if self.href else ""
            shown = href.removeprefix("mailto:")
            if href and shown not in "".join(self.current):
                self.current.append(f" <{shown}>")
        elif tag in ("div", "li"):
            self._break()
        elif tag == "p":
            self._break(blank=True)
        elif tag in ("ul", "ol"):
            self._break()
            if self.lists:
                self.lists.pop()
        elif tag == "blockquote":
            self._break()
            self.quote = max(0, self.quote - 1)

    def handle_data(self, data: str) -> None:
        self.current.append(" ".join(data.split()) if not data.strip() else data.replace("\n", " "))

    def text(self) -> str:
        self._break()
        while self.lines and not self.lines[-1].strip("> "):
            self.lines.pop()
        return "\n".join(self.lines) + "\n"


def html_to_text(cleaned: str) -> str:
    """The text/plain alternative of ``clean_html``'s output."""
    parser = _Text()
    parser.feed(cleaned)
    parser.close()
    return parser.text()
