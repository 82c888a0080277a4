"""Rich text from the compose editor: the server keeps a small allow-list
whatever the browser sends (named attack: XSS through the editor's HTML), and
the message goes out as multipart/alternative with a faithful text/plain."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from academail.webmail.richtext import clean_html, html_to_text

HOSTILE = [
    '<script>alert(1)</script>',
    '<img src=x onerror="alert(1)">',
    '<svg><animate onbegin="alert(1)" attributeName="x"/></svg>',
    '<math><mtext><img src=x onerror=alert(1)></mtext></math>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<form action="https://evil.example"><input name=p></form>',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<style>body{background:url(https://evil.example/x)}</style>',
    '<p style="background:url(https://evil.example/x)">x</p>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<template><img src=x onerror=alert(1)></template>',
    '<b onclick="alert(1)">x</b>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
]


@pytest.mark.parametrize("markup", HOSTILE)
def test_hostile_markup_is_neutralised(markup):
    cleaned = clean_html(markup).lower()
    for bad in ("<script", "onerror", "onbegin", "onclick", "javascript:", "<svg", "<math", "<iframe",
                "srcdoc", "<form", "<input", "<base", "<meta", "<style", "style=", "<img", "<object",
                "<embed", "<link", "data:", "<template", "<noscript"):
        assert bad not in cleaned, (markup, cleaned)


def test_allowed_formatting_is_kept():
    cleaned = clean_html(
        '<div>Bonjour <b>tous</b> et <i>toutes</i>,</div><ul><li>un</li></ul><ol><li>deux</li></ol>'
        '<blockquote>cité</blockquote><p><a href="https://www.education.gouv.fr/" title="t">lien</a>'
        '<a href="mailto:julie.martin@ac-demo.fr">écrire</a></p>'
    )
    for kept in ("<b>tous</b>", "<i>toutes</i>", "<ul><li>un</li></ul>", "<ol><li>deux</li></ol>",
                 "<blockquote>cité</blockquote>", 'href="https://www.education.gouv.fr/"', 'href="mailto:'):
        assert kept in cleaned
    assert 'rel="noopener noreferrer"' in cleaned
    assert "title=" not in cleaned


def test_plain_text_alternative():
    text = html_to_text(clean_html(
        '<div>Bonjour <b>tous</b>,</div><div><br></div><ul><li>un</li><li>deux</li></ul>'
        '<ol><li>premier</li><li>second</li></ol><blockquote>cité<br>ligne 2</blockquote>'
        '<p>Voir <a href="https://www.ac-demo.fr/">le site</a>.</p>'
    ))
    assert text == (
        "Bonjour *tous*,\n\n- un\n- deux\n1. premier\n2. second\n> cité\n> ligne 2\n"
        "Voir le site <https://www.ac-demo.fr/>.\n"
    )


def test_rich_text_is_sent_as_multipart_alternative(web, person, other):
    from academail.store.models import Message

    response = web.post("/courrier/ecrire/", {
        "to": other.address, "subject": "Ordre du jour", "body": "ignored when rich",
        "format": "html",
        "body_html": '<div>Points : <b>budget</b></div><ul><li>sorties</li></ul><img src=x onerror=alert(1)>',
    })
    assert response.status_code == 302
    received = Message.objects.select_related("content").get(
        mailbox__account=other, mailbox__special_use="inbox")
    from academail.store.messages import read_raw

    parsed = message_from_bytes(read_raw(received), policy=default)
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert "Points : *budget*" in plain and "- sorties" in plain and "ignored" not in plain
    assert "<b>budget</b>" in html and "<ul><li>sorties</li></ul>" in html
    assert "onerror" not in html and "<img" not in html


def test_plain_text_stays_the_default(web, person, other):
    from academail.store.messages import read_raw
    from academail.store.models import Message

    web.post("/courrier/ecrire/", {"to": other.address, "subject": "Simple", "body": "Texte <b>brut</b>",
                                   "body_html": "<b>ignored</b>"})
    received = Message.objects.get(mailbox__account=other, mailbox__special_use="inbox")
    parsed = message_from_bytes(read_raw(received), policy=default)
    assert parsed.get_content_type() == "text/plain"
    assert "Texte <b>brut</b>" in parsed.get_content()
