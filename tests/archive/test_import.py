"""Import: our own export (mbox and .eml zips) back with the same bytes,
flags and dates; duplicates skipped; bad input reported, never a crash;
a full mailbox stops the import with a clear report."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from academail.archive import importing
from academail.archive.export import ExportRequest, check_and_queue_export, export_path
from academail.archive.importing import check_and_queue_import, report_of
from academail.jobs.models import Job, JobState
from academail.jobs.runner import LEASE, claim, run_pending
from academail.store.mailboxes import do_create_mailbox
from academail.store.messages import do_append, read_raw
from academail.store.models import Flag, Mailbox, Message, Usage
from tests.conftest import build_message
from tests.webmail.conftest import box_of

FROM_BODY = "Bonjour,\n\nFrom the minutes of the meeting:\n>From earlier\nFin.\n"


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def filled(person):
    inbox = box_of(person, "inbox")
    when = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    return [
        do_append(person.pk, inbox.pk, build_message(subject="Conseil", to=person.address),
                  flags=Flag.SEEN | Flag.FLAGGED, internaldate=when),
        do_append(person.pk, inbox.pk, build_message(subject="Sortie", to=person.address),
                  flags=Flag.ANSWERED, keywords="$Important", internaldate=when + timedelta(days=30)),
        do_append(person.pk, inbox.pk, build_message(subject="Compte rendu", body=FROM_BODY, to=person.address),
                  internaldate=datetime(2019, 6, 1, 12, 0, tzinfo=UTC)),
    ]


def _export(person, fmt):
    inbox = box_of(person, "inbox")
    export = check_and_queue_export(person.pk, ExportRequest(format=fmt, mailbox_id=inbox.pk))
    assert run_pending() == 1
    export.refresh_from_db()
    return export_path(export)


def _import(account, data: bytes, name: str, **where):
    job = check_and_queue_import(account.pk, io.BytesIO(data), name, **where)
    assert run_pending() == 1
    job.refresh_from_db()
    assert job.state == JobState.DONE, job.error
    return job


def _as_stored(box):
    rows = Message.objects.filter(mailbox=box).select_related("content").order_by("uid")
    return [(read_raw(m), m.flags, m.keywords, m.internaldate) for m in rows]


@pytest.mark.parametrize("fmt", ["mbox", "eml"])
def test_round_trip_same_bytes_flags_dates_then_nothing_twice(person, other, filled, fmt):
    originals = _as_stored(box_of(person, "inbox"))
    path = _export(person, fmt)
    job = _import(other, path.read_bytes(), path.name, mailbox_id=None, new_folder="Restauré")
    box = Mailbox.objects.get(account=other, name="Restauré")
    assert sorted(_as_stored(box), key=lambda r: r[3]) == sorted(originals, key=lambda r: r[3])
    report = report_of(job)
    assert (report.imported, report.skipped, report.refused) == (3, 0, 0)
    assert job.result.startswith("3 importé(s), 0 déjà présent(s), 0 refusé(s)")
    # Again: the same file brings nothing twice.
    again = _import(other, path.read_bytes(), path.name, mailbox_id=box.pk)
    assert (report_of(again).imported, report_of(again).skipped) == (0, 3)
    assert Message.objects.filter(mailbox=box).count() == 3


@pytest.mark.parametrize("block", [3, 4 * 1024 * 1024])  # 3: every boundary straddles two reads
def test_mbox_quoting_line_endings_and_truncation(person, monkeypatch, block):
    monkeypatch.setattr(importing, "_READ", block)
    crlf = build_message(subject="CRLF").replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
    mixed = b"From: a@b.fr\r\nSubject: mixte\nMessage-ID: <m@b.fr>\r\n\r\nligne\n>From la\n>>From deux\n"
    data = (
        b"From a@b.fr Mon Mar  2 08:30:00 2026\n" + crlf + b"\n"
        + b"From a@b.fr Tue Mar  3 09:00:00 2026\n" + mixed.replace(b">From", b">>From") + b"\n"
        + b"From a@b.fr Wed Mar  4 10:00:00 2026\nFrom: a@b.fr\nSubject: coupe\n\ndebut sans fin"
    )
    job = _import(person, data, "vieux.mbox", mailbox_id=box_of(person, "inbox").pk)
    report = report_of(job)
    assert (report.imported, report.refused) == (2, 1)
    assert "tronqué" in report.reasons[0][1] and "message 3" in report.reasons[0][0]
    stored = _as_stored(box_of(person, "inbox"))
    assert stored[0][0] == crlf
    assert stored[0][3] == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert stored[1][0] == mixed


def test_mbox_message_too_large_is_measured_and_the_next_one_read(monkeypatch):
    monkeypatch.setattr(importing, "_READ", 7)
    monkeypatch.setattr(importing, "MAX_MESSAGE", 200)
    data = (b"From a Mon Mar  2 08:30:00 2026\nSubject: gros\n\n" + b"ligne\n" * 100
            + b"\nFrom b Mon Mar  2 08:30:00 2026\nSubject: petit\n\nbonjour\n")
    big, small = importing.read_mbox(io.BytesIO(data), "f.mbox")
    assert "trop gros" in big.refused and not big.raw
    assert small.raw == b"Subject: petit\n\nbonjour\n" and not small.refused


def test_not_mail_and_not_mbox_are_refused(person):
    inbox = box_of(person, "inbox").pk
    report = report_of(_import(person, b"%PDF-1.4 binary stuff\n", "photo.eml", mailbox_id=inbox))
    assert report.refused == 1 and "pas un message" in report.reasons[0][1]
    bad_zip = b"PK\x03\x04 cut short"
    assert "zip" in report_of(_import(person, bad_zip, "a.zip", mailbox_id=inbox)).reasons[0][1]


def test_zip_bomb_bounds(person, monkeypatch):
    monkeypatch.setattr(importing, "MAX_TOTAL", 1000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.eml", b"From: a@b.fr\n\n" + b"0" * 5000)
    report = report_of(_import(person, buffer.getvalue(), "b.zip", mailbox_id=box_of(person, "inbox").pk))
    assert (report.imported, report.refused) == (0, 1)
    assert "trop gros" in report.reasons[0][1]
    monkeypatch.setattr(importing, "MAX_MEMBERS", 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.eml", build_message())
        archive.writestr("b.eml", build_message())
    report = report_of(_import(person, buffer.getvalue(), "c.zip", mailbox_id=box_of(person, "inbox").pk))
    assert "trop de fichiers" in report.reasons[0][1]
    assert Message.objects.filter(mailbox__account=person).count() == 0


def test_full_mailbox_stops_with_a_clear_report(person):
    inbox = box_of(person, "inbox")
    one = build_message()
    person.quota_bytes = len(one) * 2 + 10
    person.save(update_fields=["quota_bytes"])
    Usage.objects.filter(account=person).update(bytes=0)
    data = b"".join(b"From a@b.fr Mon Mar  2 08:30:00 2026\n" + build_message() + b"\n" for _ in range(4))
    job = _import(person, data, "gros.mbox", mailbox_id=inbox.pk)
    report = report_of(job)
    assert report.imported == 2
    assert "boîte est pleine" in job.result


class Crash(Exception):
    pass


def test_crash_between_batches_resumes_without_duplicates_and_a_right_report(person, monkeypatch):
    """Batches of 3, each stored while the next one is read and prepared; a
    message repeated in the next batch (not committed yet when that batch is
    checked), refusals in each batch; the worker dies storing the third
    batch, the resumed job goes on from the second batch's checkpoint."""
    monkeypatch.setattr(importing, "BATCH", 3)
    inbox = box_of(person, "inbox")
    first = build_message(subject="Premier")

    def mbox(raw: bytes) -> bytes:
        return b"From a@b.fr Mon Mar  2 08:30:00 2026\n" + raw + b"\n"

    garbage = b"pas un message\n"
    messages = [first, build_message(subject="Deux"), garbage,  # batch 1
                first, garbage, build_message(subject="Trois"),  # batch 2: "first" again
                build_message(subject="Quatre"), garbage, build_message(subject="Cinq"),  # batch 3
                first, build_message(subject="Six")]  # batch 4
    job = check_and_queue_import(person.pk, io.BytesIO(b"".join(mbox(m) for m in messages)), "a.mbox",
                                 mailbox_id=inbox.pk)
    now = timezone.now()
    claimed = claim(now, "worker-a")
    real = importing.do_store_many
    calls = []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            real(*args, **kwargs)  # stored in the transaction that the crash rolls back
            raise Crash
        return real(*args, **kwargs)

    monkeypatch.setattr(importing, "do_store_many", dying)
    with pytest.raises(Crash):
        importing.run_import(claimed)
    claimed.refresh_from_db()
    assert claimed.state == JobState.RUNNING and claimed.done == 6
    assert report_of(claimed).imported == 3 and report_of(claimed).skipped == 1 and report_of(claimed).refused == 2
    later = now + LEASE + timedelta(seconds=1)
    assert run_pending(clock=lambda: later) == 1
    job.refresh_from_db()
    assert job.state == JobState.DONE
    report = report_of(job)
    assert (report.imported, report.skipped, report.refused) == (6, 2, 3)
    subjects = sorted(Message.objects.filter(mailbox=inbox).values_list("content__subject", flat=True))
    assert subjects == ["Cinq", "Deux", "Premier", "Quatre", "Six", "Trois"]


def test_page_uploads_and_shows_the_report(web, person):
    inbox = box_of(person, "inbox")
    upload = SimpleUploadedFile("un.eml", build_message(subject="Importé"), content_type="message/rfc822")
    response = web.post(reverse("archive:imports"), {"file": upload, "mailbox": inbox.pk})
    assert response.status_code == 302
    assert run_pending() == 1
    page = web.get(reverse("archive:imports"))
    assert "1 importé(s)" in page.content.decode()
    assert Message.objects.filter(mailbox=inbox, content__subject="Importé").count() == 1
    # Another account's folder: 404, nothing queued.
    response = web.post(reverse("archive:imports"), {"file": SimpleUploadedFile("x.eml", build_message()),
                                                     "mailbox": 999999})
    assert response.status_code == 404
    assert Job.objects.filter(kind="archive.import").count() == 1


@pytest.mark.parametrize("fmt", ["mbox", "eml"])
def test_whole_mailbox_export_goes_back_into_its_folders(person, other, filled, fmt, web):
    """The export of a whole mailbox, imported with "chacun dans son dossier
    d'origine": the INBOX messages into the INBOX, Projets/2026 re-created with
    its message, same bytes, flags and dates; through the page as a person
    would choose it."""
    projects = do_create_mailbox(person.pk, "Projets/2026")
    do_append(person.pk, projects.pk, build_message(subject="Ancien projet", to=person.address), flags=Flag.SEEN,
              keywords="$Travail", internaldate=datetime(2019, 6, 1, 12, 0, tzinfo=UTC))
    before = {
        "INBOX": _as_stored(box_of(person, "inbox")),
        "Projets/2026": _as_stored(Mailbox.objects.get(account=person, name="Projets/2026")),
    }  # before the export, whose "ready" notice lands in the INBOX
    export = check_and_queue_export(person.pk, ExportRequest(format=fmt))
    assert run_pending() == 1
    export.refresh_from_db()
    data = export_path(export).read_bytes()
    web.force_login(other)
    response = web.post(reverse("archive:imports"), {
        "file": SimpleUploadedFile(f"export.{fmt}.zip", data, "application/zip"), "mailbox": "dossiers", "new_folder": "",
    })
    assert response.status_code == 302
    assert run_pending() == 1
    for name, stored in before.items():
        target = Mailbox.objects.get(account=other, name=name)
        assert sorted(_as_stored(target), key=lambda r: r[3]) == sorted(stored, key=lambda r: r[3])


@pytest.mark.parametrize(("line", "expected"), [
    (b"From a@b.fr Mon Mar  2 08:30:00 2026\n", datetime(2026, 3, 2, 8, 30, tzinfo=UTC)),
    (b"From MAILER-DAEMON tue mar 03 9:05:07 2026\r\n", datetime(2026, 3, 3, 9, 5, 7, tzinfo=UTC)),
    (b"From a@b.fr Mon Feb 30 08:30:00 2026\n", None),  # no such day: the Date header is used
    (b"From a@b.fr Mon Mar  2 08:30:00 +0100 2026\n", None),
    (b"From a@b.fr Mon Mar  2 08:30 2026\n", None),
    (b"From a@b.fr\n", None),
])
def test_the_from_line_date_is_read_as_asctime_or_not_at_all(line, expected):
    """RFC 4155 §2: the ``From `` line ends with an asctime date (UTC)."""
    assert importing._from_line_date(line) == expected
