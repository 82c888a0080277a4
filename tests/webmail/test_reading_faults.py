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
