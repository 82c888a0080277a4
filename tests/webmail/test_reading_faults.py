"""Reading faults found by the staff walk-through (issue 20, item 9): inline
data: images, tel: links and in-page anchors survive the sanitiser."""

from __future__ import annotations

import re

from django.urls import reverse

from tests.webmail.conftest import deliver, html_message

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def _frame(web, message, query: str = "") -> str:
    response = web.get(reverse("webmail:message_frame", args=[message.mailbox_id, message.uid]) + query)
    assert response.status_code == 200
    return response.content.decode()


def test_data_images_tel_and_anchor_links_are_kept(web, person):
    markup = (
        f'<p><a href="#agenda">Aller à l\'agenda</a></p><img alt="logo" src="data:image/png;base64,{PNG}">'
        '<p>Standard : <a href="tel:+33123456789">01 23 45 67 89</a></p>'
        '<h2 id="agenda">Agenda</h2><a href="https://www.education.gouv.fr/">site</a>'
    )
    frame = _frame(web, deliver(person, html_message(markup)))
    assert f'src="data:image/png;base64,{PNG}"' in frame
    assert re.search(r'<a href="tel:\+33123456789" target="_blank"', frame)
    # The anchor scrolls the frame itself; other links open a new tab.
    assert re.search(r'<a href="#agenda" target="_self"', frame)
    assert '<h2 id="agenda">' in frame
    assert re.search(r'<a href="https://www.education.gouv.fr/" target="_blank"', frame)


def test_data_images_other_than_raster_are_dropped(web, person):
    markup = (
        '<img alt="a" src="data:image/svg+xml;base64,PHN2Zz4=">'
        '<img alt="b" src="data:text/html;base64,PHNjcmlwdD4=">'
        '<a href="data:image/png;base64,AAAA">lien</a>'
    )
    frame = _frame(web, deliver(person, html_message(markup)))
    assert "data:" not in frame.split("<body", 1)[1]


def _mixed(parts: list[tuple[str, str]], *, subtype: str = "mixed", extra: str = "") -> bytes:
    body = "".join(
        f"--b\r\nContent-Type: {ctype}\r\n\r\n{text}\r\n" for ctype, text in parts
    )
    return (
        "From: Secretariat <secretariat@college-exemple.fr>\r\nTo: julie.martin@ac-demo.fr\r\n"
        "Subject: Plusieurs parties\r\nDate: Thu, 26 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/{subtype}; boundary="b"{extra}\r\n\r\n{body}--b--\r\n'
    ).encode()


def test_every_text_part_of_a_mixed_message_is_shown_in_order(web, person):
    raw = _mixed([
        ("text/plain; charset=utf-8", "Premier paragraphe."),
        ("text/plain; charset=utf-8", "Deuxième partie, ajoutée par la liste."),
        ("text/plain; charset=utf-8", "Troisième partie."),
    ])
    message = deliver(person, raw)
    page = web.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode()
    first, second, third = (page.find(t) for t in ("Premier paragraphe", "Deuxième partie", "Troisième partie"))
    assert 0 < first < second < third


def test_text_parts_beside_html_all_reach_the_frame(web, person):
    raw = _mixed([("text/plain; charset=utf-8", "Avant la lettre."), ("text/html; charset=utf-8", "<p>La lettre</p>"),
                  ("text/plain; charset=utf-8", "Pied de page de la liste.")])
    frame = _frame(web, deliver(person, raw))
    assert 0 < frame.find("Avant la lettre") < frame.find("<p>La lettre</p>") < frame.find("Pied de page")


DSN = (
    "Reporting-MTA: dns; mx.college-exemple.fr\r\n\r\n"
    "Final-Recipient: rfc822; inconnu@college-exemple.fr\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <inconnu@college-exemple.fr>: Recipient address rejected\r\n"
)


def test_a_bounce_is_summarised_in_french(web, person):
    raw = _mixed(
        [("text/plain; charset=utf-8", "Votre message n'a pas pu être remis."), ("message/delivery-status", DSN),
         ("text/rfc822-headers", "Subject: Conseil de classe\r\n")],
        subtype="report", extra="; report-type=delivery-status",
    )
    message = deliver(person, raw)
    page = web.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode()
    assert "Destinataire : inconnu@college-exemple.fr" in page
    assert "État : 5.1.1 (échec définitif" in page
    assert "Diagnostic du serveur : 550 5.1.1 &lt;inconnu@college-exemple.fr&gt;: Recipient address rejected" in page
    # Summarised, not listed as an opaque attachment.
    assert "delivery-status" not in page


def test_no_thumbnail_for_a_file_that_is_not_the_image_it_claims(web, person):
    from tests.webmail.test_reading_more import _sections, outer_with_attachment

    message = deliver(person, outer_with_attachment())
    page = web.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode()
    sections = _sections(page)
    fake = reverse("webmail:preview", args=[message.mailbox_id, message.uid, sections["faux.png"]])
    assert web.get(fake).status_code == 404
    assert fake not in page  # neither a thumbnail nor a link to a preview that refuses
    assert "faux.png" in page  # still listed, for download


def test_a_body_after_ten_thousand_header_fields_is_decoded(web, person):
    # Issue 18 §3: the Content-Transfer-Encoding after 10,000 fields still counts.
    from tests.imap.test_mime_edges import many_fields

    frame = _frame(web, deliver(person, many_fields(10_000)))
    assert "Café du matin, décodé." in frame and "=C3=A9" not in frame
