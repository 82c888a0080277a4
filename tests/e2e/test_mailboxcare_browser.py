"""Mailbox care in headless Chromium: a teacher at 95 % sees the banner,
opens "Espace utilisé", finds the three videos at the top, exports them
("Exporter puis supprimer"), follows the progress bar until the download
link appears, and is back under 50 %. axe-core finds no serious violation
on the pages, on a desktop and on a phone, and nothing scrolls sideways."""

from __future__ import annotations

import threading

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from tests.e2e.conftest import PASSWORD, SCREENS, make_person, screen_size, sign_in, wait_text
from tests.e2e.pagechecks import PageChecks

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def teacher():
    from django.utils import timezone

    from academail.demo.mailboxcare import seed_full_mailbox

    account = make_person("Claire", "Petit")
    seed_full_mailbox([account], timezone.now())
    account.refresh_from_db()
    return account


def test_space_and_exports_pages_are_accessible(page, live_server, axe_source, teacher):
    from academail.store.space import do_count_space

    do_count_space(teacher.pk)  # the tables by year and by sender are audited too
    sign_in(page, live_server, teacher.identifier, PASSWORD)
    checks = PageChecks(page, axe_source)
    for name, (width, height) in sorted(SCREENS.items()):
        with screen_size(page, width, height):
            for label, path in (("espace", reverse("archive:space")), ("exports", reverse("archive:exports")),
                                ("imports", reverse("archive:imports")), ("ancienne", reverse("archive:migrate"))):
                page.get(live_server.url + path)
                if label == "espace":
                    assert page.find_elements(By.CSS_SELECTOR, "table[aria-labelledby=wm-space-senders] tbody tr")
                checks(f"{label} {name}")
    checks.assert_clean()


def test_the_done_when_story(page, live_server, teacher):
    from academail.jobs.runner import run_pending
    from academail.store.messages import quota_usage

    sign_in(page, live_server, teacher.identifier, PASSWORD)
    wait_text(page, "Votre boîte est utilisée à 95 %")
    page.find_element(By.LINK_TEXT, "Voir ce qui occupe l'espace").click()
    wait_text(page, "Les plus gros messages")
    rows = page.find_elements(By.CSS_SELECTOR, "table[aria-labelledby=wm-space-largest] tbody tr")
    assert all("Vidéo de la sortie" in row.text for row in rows[:3])
    for row in rows[:3]:
        row.find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
    page.find_element(By.CSS_SELECTOR, "button[value=export_delete]").click()
    wait_text(page, "Export lancé")
    assert page.find_elements(By.CSS_SELECTOR, ".wm-export__status progress")
    # The worker runs the job while the page polls its progress.
    worker = threading.Thread(target=run_pending)
    worker.start()
    worker.join(60)
    assert not worker.is_alive()
    wait_text(page, "Télécharger", timeout=20)
    used, limit = quota_usage(teacher.pk)
    assert used * 100 // limit < 50
    from academail.archive.export import account_exports

    (export,) = account_exports(teacher.pk)
    link = page.find_element(By.PARTIAL_LINK_TEXT, "Télécharger").get_attribute("href")
    assert link == live_server.url + reverse("archive:export_download", args=[export.pk])


def test_import_is_sent_in_pieces_then_reported(page, live_server, teacher, settings, tmp_path):
    """A 12-message mbox sent by the page's script in 4 KB pieces (the
    setting, small on purpose: a dozen pieces), into a new folder; the
    report appears once the worker ran."""
    import time as clock
    from unittest import mock

    from academail.archive import uploads
    from academail.archive.models import ImportUpload
    from academail.jobs.runner import run_pending
    from academail.store.models import Mailbox, Message
    from tests.conftest import build_message

    settings.IMPORT_CHUNK_BYTES = 4096
    mbox = tmp_path / "classeur.mbox"
    with mbox.open("wb") as handle:
        for i in range(12):
            raw = build_message(subject=f"Conseil {i}", body="Bonjour,\n\n" + "compte rendu\n" * 300)
            handle.write(f"From direction@exemple.fr {clock.asctime()}\n".encode() + raw.replace(b"\r\n", b"\n") + b"\n")
    assert mbox.stat().st_size > 10 * 4096

    sign_in(page, live_server, teacher.identifier, PASSWORD)
    page.get(live_server.url + reverse("archive:imports"))
    page.find_element(By.ID, "wm-import-file").send_keys(str(mbox))
    page.find_element(By.ID, "wm-import-new-folder").send_keys("Conseils 2019")
    with mock.patch.object(uploads, "do_append", wraps=uploads.do_append) as pieces:
        page.find_element(By.CSS_SELECTOR, "#wm-import-form button[type=submit]").click()
        wait_text(page, "Import lancé", timeout=60)
    assert pieces.call_count >= 10  # sent by the script, piece by piece, not as one form post
    assert not ImportUpload.objects.exists()  # the upload became the job's file
    assert run_pending() == 1
    page.refresh()
    wait_text(page, "12 importé(s)")
    box = Mailbox.objects.get(account=teacher, name="Conseils 2019")
    assert Message.objects.filter(mailbox=box).count() == 12
