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


def test_one_unit_family_for_sizes():
    from django.utils import translation

    from academail.store.sizes import taille

    with translation.override("fr"):
        assert taille(820) == "820\xa0octets"
        assert taille(3 * 1024 + 300) == "3,3\xa0Ko"
        assert taille(int(1.5 * 1024 * 1024)) == "1,5\xa0Mo"
        assert taille(2 * 1024**3) == "2,0\xa0Go"
        assert taille(None) == taille(0)
    with translation.override("en"):
        assert taille(int(1.5 * 1024 * 1024)) == "1.5\xa0MB"


def test_the_mailbox_page_speaks_mo_not_mio(web, person):
    deliver(person, build_message(body="x" * 5000))
    page = web.get(reverse("webmail:index"), follow=True).content.decode()
    assert "Ko" in page or "Mo" in page
    assert "Kio" not in page and "Mio" not in page and "Gio" not in page
