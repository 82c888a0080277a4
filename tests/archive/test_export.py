"""Exports: a folder, a date range or the whole mailbox as a zip of .eml or of
mboxrd files, flags and dates kept (headers and manifest), a SHA-256 list, a
background job that resumes after a crash, the download with HTTP Range,
the mail announcing it, "exporter puis supprimer"."""

from __future__ import annotations

import csv
import hashlib
import io
import mailbox
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from academail.accounts.models import EventKind, JournalEntry
from academail.archive import export as exporting
from academail.archive.export import ExportRequest, check_and_queue_export, export_path
from academail.jobs.models import JobState
from academail.jobs.runner import LEASE, claim, run_pending
from academail.store.mailboxes import do_create_mailbox
from academail.store.messages import do_append
from academail.store.models import Flag, Message, Usage
from tests.conftest import build_message
from tests.webmail.conftest import box_of


class Crash(Exception):
    pass


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"


FROM_BODY = "Bonjour,\n\nFrom the minutes of the meeting:\n>From earlier\nFin.\n"


@pytest.fixture
def filled(person):
    """INBOX: three messages (one read and flagged, one answered with a keyword,
    one with "From " lines in its body); Projets/2026: one old message."""
    inbox = box_of(person, "inbox")
    when = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    first = do_append(person.pk, inbox.pk, build_message(subject="Conseil", to=person.address),
                      flags=Flag.SEEN | Flag.FLAGGED, internaldate=when)
    second = do_append(person.pk, inbox.pk, build_message(subject="Sortie", to=person.address),
                       flags=Flag.ANSWERED, keywords="$Important", internaldate=when + timedelta(days=30))
    third = do_append(person.pk, inbox.pk, build_message(subject="Compte rendu", body=FROM_BODY, to=person.address),
                      internaldate=when + timedelta(days=60))
    projects = do_create_mailbox(person.pk, "Projets/2026")
    old = do_append(person.pk, projects.pk, build_message(subject="Ancien projet", to=person.address),
                    flags=Flag.SEEN, internaldate=datetime(2019, 6, 1, 12, 0, tzinfo=UTC))
    return {"inbox": inbox, "projects": projects, "messages": [first, second, third, old]}


def _run(export):
    assert run_pending() == 1
    export.refresh_from_db()
    export.job.refresh_from_db()
    assert export.job.state == JobState.DONE, export.job.error
    return zipfile.ZipFile(export_path(export))


def _manifest(archive):
    return list(csv.DictReader(io.TextIOWrapper(archive.open("manifest.csv"), encoding="utf-8")))


def test_whole_mailbox_as_eml_zip(person, filled):
    export = check_and_queue_export(person.pk, ExportRequest(format="eml"))
    archive = _run(export)
    names = set(archive.namelist())
    assert {"Boîte de réception/1.eml", "Boîte de réception/2.eml", "Boîte de réception/3.eml",
            "Projets/2026/1.eml", "manifest.csv", "SHA256SUMS"} <= names
    # Same bytes as a client reads.
    stored = Message.objects.select_related("content").get(mailbox=filled["inbox"], uid=3)
    from academail.store.messages import read_raw

    assert archive.read("Boîte de réception/3.eml") == read_raw(stored)
    # SHA256SUMS checks every file.
    for line in archive.read("SHA256SUMS").decode().splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    rows = {(r["folder"], r["uid"]): r for r in _manifest(archive)}
    assert rows[("Boîte de réception", "1")]["flags"] == "\\Seen \\Flagged"
    assert rows[("Boîte de réception", "2")]["flags"] == "\\Answered $Important"
    assert rows[("Projets/2026", "1")]["internaldate"].startswith("2019-06-01T12:00:00")
    assert archive.getinfo("Projets/2026/1.eml").date_time[:3] == (2019, 6, 1)
    assert export.messages == 4
    assert export.expires_at - export.ready_at == timedelta(days=7)
    # Announced by mail, journaled.
    notice = Message.objects.filter(mailbox=filled["inbox"], content__subject="Votre export de messages est prêt")
    assert notice.count() == 1
    assert JournalEntry.objects.filter(account=person, kind=EventKind.EXPORT_READY).exists()


def test_folder_as_mbox_opens_in_python_mailbox(person, filled, tmp_path):
    export = check_and_queue_export(person.pk, ExportRequest(format="mbox", mailbox_id=filled["inbox"].pk))
    archive = _run(export)
    assert set(archive.namelist()) == {"Boîte de réception.mbox", "manifest.csv", "SHA256SUMS"}
    path = tmp_path / "inbox.mbox"
    path.write_bytes(archive.read("Boîte de réception.mbox"))
    box = mailbox.mbox(str(path))
    found = {m["Subject"]: m for m in box}
    assert set(found) == {"Conseil", "Sortie", "Compte rendu"}
    assert set(found["Conseil"].get_flags()) == {"R", "O", "F"}
    assert set(found["Sortie"].get_flags()) == {"O", "A"}
    assert found["Conseil"]["X-Mozilla-Status"] == "0005"
    assert found["Sortie"]["X-Mozilla-Keys"] == "$Important"
    assert found["Conseil"].get_from().endswith("Mon Mar  2 08:30:00 2026")
    # mboxrd: the "From " lines of the body are quoted once more, so no message was split.
    body = found["Compte rendu"].get_payload(decode=True)
    assert b">From the minutes" in body and b">>From earlier" in body
    digest, name = archive.read("SHA256SUMS").decode().split("  ")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest and name.strip() == "Boîte de réception.mbox"


def test_date_range(person, filled):
    export = check_and_queue_export(person.pk, ExportRequest(format="eml", since=date(2026, 3, 15), until=date(2026, 5, 31)))
    archive = _run(export)
    assert [r["uid"] for r in _manifest(archive)] == ["2", "3"]


def test_bad_requests_are_refused_in_french(person, other, filled):
    with pytest.raises(exporting.ExportError, match="date de début"):
        check_and_queue_export(person.pk, ExportRequest(format="eml", since=date(2026, 5, 1), until=date(2026, 4, 1)))
    with pytest.raises(exporting.ExportError):
        check_and_queue_export(person.pk, ExportRequest(format="pdf"))
    from academail.store.errors import MailboxNotFound

    with pytest.raises(MailboxNotFound):
        check_and_queue_export(other.pk, ExportRequest(format="eml", mailbox_id=filled["inbox"].pk))


def test_resumes_after_a_crash_with_each_message_once(person, filled, monkeypatch):
    monkeypatch.setattr(exporting, "BATCH", 1)
    export = check_and_queue_export(person.pk, ExportRequest(format="eml"))
    now = timezone.now()
    job = claim(now, "worker-a")
    calls = []

    def die(current):
        calls.append(current.done)
        if len(calls) == 2:
            raise Crash

    with pytest.raises(Crash):
        exporting.run_export(job, after_batch=die)
    job.refresh_from_db()
    assert job.state == JobState.RUNNING and job.done == 2
    later = now + LEASE + timedelta(seconds=1)
    assert run_pending(clock=lambda: later) == 1
    export.refresh_from_db()
    archive = zipfile.ZipFile(export_path(export))
    eml = [n for n in archive.namelist() if n.endswith(".eml")]
    assert len(eml) == len(set(eml)) == 4
    assert archive.testzip() is None


def test_export_then_delete_frees_the_space(web, person, filled):
    inbox = filled["inbox"]
    before = Usage.objects.get(account=person).bytes
    freed = sum(Message.objects.filter(mailbox=inbox, uid__in=[1, 2]).values_list("size", flat=True))
    response = web.post(reverse("archive:space_actions"),
                        {"action": "export_delete", "format": "eml", "m": [f"{inbox.pk}:1", f"{inbox.pk}:2"]})
    assert response.status_code == 302 and response["Location"] == reverse("archive:exports")
    assert Message.objects.filter(mailbox=inbox, uid__in=[1, 2]).count() == 2  # not before the file is ready
    (export,) = exporting.account_exports(person.pk)
    archive = _run(export)
    assert sorted(n for n in archive.namelist() if n.endswith(".eml")) == ["Boîte de réception/1.eml", "Boîte de réception/2.eml"]
    assert not Message.objects.filter(mailbox=inbox, uid__in=[1, 2]).exists()
    notice = Message.objects.get(mailbox=inbox, content__subject="Votre export de messages est prêt")
    assert Usage.objects.get(account=person).bytes == before - freed + notice.size
    assert "supprimé" in export.job.result


def test_page_download_with_range(web, person, other, filled, client):
    response = web.post(reverse("archive:exports"), {"scope": str(filled["inbox"].pk), "format": "eml"})
    assert response.status_code == 302
    page = web.get(reverse("archive:exports")).content.decode()
    assert "data-running" in page and "<progress" in page
    (export,) = exporting.account_exports(person.pk)
    status = web.get(reverse("archive:export_status", args=[export.pk])).json()
    assert status["state"] == "queued" and not status["finished"]
    _run(export)
    page = web.get(reverse("archive:exports")).content.decode()
    url = reverse("archive:export_download", args=[export.pk])
    assert url in page
    whole = b"".join(web.get(url).streaming_content)
    assert zipfile.ZipFile(io.BytesIO(whole)).testzip() is None
    first = web.get(url, HTTP_RANGE="bytes=0-99")
    assert first.status_code == 206 and first["Content-Range"] == f"bytes 0-99/{len(whole)}"
    rest = web.get(url, HTTP_RANGE="bytes=100-", HTTP_IF_RANGE=first["ETag"])
    assert rest.status_code == 206
    assert b"".join(first.streaming_content) + b"".join(rest.streaming_content) == whole
    assert web.get(url, HTTP_RANGE=f"bytes={len(whole) + 10}-").status_code == 416
    # Journaled once per download started from the first byte (the whole file, then the first part).
    assert JournalEntry.objects.filter(account=person, kind=EventKind.EXPORT_DOWNLOADED).count() == 2
    client.force_login(other)
    assert client.get(url).status_code == 404
    assert client.get(reverse("archive:export_status", args=[export.pk])).status_code == 404


def test_expired_exports_are_removed(person, filled):
    export = check_and_queue_export(person.pk, ExportRequest(format="eml"))
    _run(export)
    path = export_path(export)
    assert exporting.do_purge_exports(timezone.now() + timedelta(days=6)) == 0
    assert exporting.do_purge_exports(timezone.now() + timedelta(days=8)) == 1
    assert not path.exists()


def test_departure_export(person, filled):
    export = exporting.do_prepare_departure_export(person)
    assert export is not None and export.format == "eml"
    archive = _run(export)
    assert len([n for n in archive.namelist() if n.endswith(".eml")]) == 4
