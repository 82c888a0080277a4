"""A message's own <style> rules (webmail.stylesheet): kept for layout —
class selectors and @media queries — with everything that loads, runs or
positions over the page removed, scoped to the message, and unable to close
the <style> element they are written into."""

from __future__ import annotations

import pytest
from django.urls import reverse

from academail.webmail.render import STYLESHEET_CSS
from academail.webmail.stylesheet import SCOPE, sanitize_stylesheet, style_blocks
from tests.webmail.conftest import deliver, html_message


def clean(css: str) -> str:
    return sanitize_stylesheet(css, STYLESHEET_CSS)


def test_layout_rules_are_kept_and_scoped():
    out = clean(".col{width:48%;display:inline-block} td.x>a:hover{color:#000091 !important}"
                "@media (max-width: 600px) { .col { width: 100% } }")
    assert "main .col { width: 48%; display: inline-block }" in out
    assert "main td.x>a:hover { color: #000091 !important }" in out
    assert "@media (max-width: 600px) { main .col { width: 100% } }" in out


@pytest.mark.parametrize("selector", ["body", "html", ":root", "body.dark", "html#top"])
def test_rules_for_the_document_apply_to_the_message_only(selector):
    assert clean(f"{selector} {{ color: red }}") == f"{SCOPE} {{ color: red }}"


def test_every_selector_of_a_list_is_scoped():
    assert clean("*, p , .a ~ b { margin: 0 }") == "main *, main p, main .a ~ b { margin: 0 }"


@pytest.mark.parametrize("css", [
    "@import url(https://evil.example/x.css);",
    "@import 'https://evil.example/x.css';",
    "@font-face { font-family: f; src: url(https://evil.example/f.woff) }",
    "@namespace x url(https://evil.example/ns);",
    "@media url(https://evil.example/q) { p { color: red } }",
    "@keyframes k { from { color: red } }",
    "@supports (display: grid) { p { color: red } }",
    "p { background: url(https://evil.example/b.png) }",
    "p { background-image: url('https://evil.example/b.png') }",
    "p { width: expression(alert(1)) }",
    "p { color: \\65 xpression(alert(1)) }",
    "p { width: \\75 rl(https://evil.example/e.png) }",
    "p { list-style-image: url(https://evil.example/l.png) }",
    "p { cursor: url(https://evil.example/c.cur), auto }",
    "p { border-image: url(https://evil.example/b.png) 30 }",
    "p::before { content: url(https://evil.example/c.png) }",
    "p { background-color: image-set('https://evil.example/s.png' 1x) }",
    "p { behavior: url(https://evil.example/b.htc) }",
    "p { -moz-binding: url(https://evil.example/b.xml#x) }",
    "p { --u: url(https://evil.example/v.png); background-color: var(--u) }",
    "p { position: fixed; top: 0; z-index: 99999 }",
    "p { color: attr(title) }",
])
def test_what_loads_runs_or_overlays_is_dropped(css):
    out = clean(css)
    for bad in ("url(", "evil.example", "expression", "@import", "@font-face", "position", "image-set",
                "binding", "behavior", "attr(", "@keyframes", "@supports"):
        assert bad not in out.lower(), (css, out)


def test_the_output_cannot_close_its_style_element():
    out = clean('p { font-family: "x</style><script>alert(1)</script>" } q[title="<"] { color: red }')
    assert "<" not in out and "main p" in out and "main q" in out


def test_style_blocks_are_read_as_a_browser_reads_them():
    html = ('<html><head><style>.a{color:red}</style></head><body>'
            '<p>&lt;style&gt;.b{}</p><style>.c{margin:0}</style><textarea><style>.d{}</style></textarea></body></html>')
    blocks = style_blocks(html)
    assert ".a{color:red}" in blocks and ".c{margin:0}" in blocks and ".b" not in blocks


def test_the_frame_carries_the_sanitised_stylesheet(web, person):
    markup = ("<html><head><style>@import url(https://evil.example/x.css);.col{width:50%;"
              "background:url(https://evil.example/b.png)}@media (max-width:600px){.col{width:100%}}</style>"
              '</head><body><div class="col">A</div></body></html>')
    message = deliver(person, html_message(markup))
    frame = web.get(reverse("webmail:message_frame", args=[message.mailbox_id, message.uid])).content.decode()
    head = frame[: frame.index("<body")]
    assert "<style>main .col { width: 50% }" in head and "@media (max-width:600px) { main .col { width: 100% } }" in head
    assert "evil.example" not in frame
    assert '<div class="col">A</div>' in frame  # the class attribute is kept for it
