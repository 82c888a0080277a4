"""Small frictions found by the staff walk-through (issue 20, item 8)."""

from __future__ import annotations

from django.urls import reverse

from tests.conftest import build_message
from tests.webmail.conftest import box_of, deliver


def test_move_menu_starts_neutral_and_the_notice_names_the_folder(web, person):
    message = deliver(person, build_message(subject="À classer"))
    for url in (reverse("webmail:message", args=[message.mailbox_id, message.uid]),
                reverse("webmail:folder", args=[message.mailbox_id])):
        page = web.get(url).content.decode()
        menu = page[page.index('name="target"'):]
        first_option = menu[menu.index("<option"):menu.index("</option>")]
        assert 'value=""' in first_option and "Choisir un dossier…" in first_option and "selected" in first_option
    actions = reverse("webmail:actions", args=[message.mailbox_id])
    refused = web.post(actions, {"uid": [message.uid], "action": "move", "target": ""}, follow=True).content.decode()
    assert "Choisissez le dossier de destination." in refused
    archive = box_of(person, "archive")
    done = web.post(actions, {"uid": [message.uid], "action": "move", "target": archive.pk}, follow=True).content.decode()
    assert "Déplacé dans « Archives »." in done
