"""Imports uploaded in pieces (archive.uploads): each piece only at the
offset the server has (409 with that offset otherwise), what a crash left
past the last counted piece cut off, the whole file moved into the import
job; another account's upload is a 404; unfinished uploads go after a day."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from academail.archive import uploads
from academail.archive.importing import report_of
from academail.archive.models import ImportUpload
from academail.jobs.models import Job
from academail.jobs.runner import run_pending
from academail.store.models import Message
from tests.conftest import build_message
from tests.webmail.conftest import box_of


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"


def _mbox(count: int) -> bytes:
    out = b""
    for i in range(count):
        raw = build_message(subject=f"Archivé {i}", body="Bonjour,\n\n" + "ligne de texte\n" * 200)
        out += f"From archive@exemple.fr {time.asctime()}\n".encode() + raw.replace(b"\r\n", b"\n") + b"\n"
    return out


def _start(web, name: str, size: int):
    response = web.post(reverse("archive:upload_start"), {"name": name, "size": str(size)})
    return response.status_code, json.loads(response.content)


def _piece(web, url: str, offset: int, data: bytes):
    response = web.post(url, data=data, content_type="application/octet-stream", HTTP_UPLOAD_OFFSET=str(offset))
    return response.status_code, json.loads(response.content)


def test_pieces_in_order_resume_after_a_gap_then_import(web, person):
    data = _mbox(12)
    status, started = _start(web, "archives.mbox", len(data))
    assert status == 201 and started["received"] == 0
    url = started["url"]
    third = len(data) // 3
    assert _piece(web, url, 0, data[:third]) == (200, {"received": third, "size": len(data)})
    # a piece sent for a later offset (the previous one was lost): 409 and where to resume
    assert _piece(web, url, 2 * third, data[2 * third:]) == (409, {"received": third})
    # the same piece again (its answer was lost): 409, nothing written twice
    assert _piece(web, url, 0, data[:third]) == (409, {"received": third})
    assert json.loads(web.get(url).content) == {"received": third, "size": len(data)}
    assert _piece(web, url, third, data[third:2 * third])[0] == 200
    assert _piece(web, url, 2 * third, data[2 * third:])[0] == 200

    inbox = box_of(person, "inbox")
    finished = web.post(url + "terminer/", {"mailbox": str(inbox.pk), "new_folder": ""})
    assert json.loads(finished.content) == {"next": reverse("archive:imports")}
    assert not ImportUpload.objects.exists()
    assert run_pending() == 1
    job = Job.objects.get(kind="archive.import", account=person)
    assert report_of(job).imported == 12
    assert Message.objects.filter(mailbox=inbox, content__subject__startswith="Archivé").count() == 12


def test_bytes_past_the_last_counted_piece_are_cut_off(web, person):
    data = _mbox(3)
    _status, started = _start(web, "a.mbox", len(data))
    _piece(web, started["url"], 0, data[:100])
    upload = ImportUpload.objects.get()
    with uploads._path(upload).open("ab") as handle:  # a crash after writing, before the row was updated
        handle.write(b"garbage that must not stay")
    _piece(web, started["url"], 100, data[100:])
    assert uploads._path(ImportUpload.objects.get()).read_bytes() == data


def test_refusals(web, person, other, client):
    assert _start(web, "vide.mbox", 0) == (400, {"error": "Ce fichier est vide : choisissez-en un autre."})
    _status, started = _start(web, "a.mbox", 10)
    status, body = _piece(web, started["url"], 0, b"x" * 11)
    assert status == 400 and "dépasse la taille annoncée" in body["error"]
    assert _piece(web, started["url"], 0, b"x" * 5) == (200, {"received": 5, "size": 10})
    unfinished = web.post(started["url"] + "terminer/", {"mailbox": str(box_of(person, "inbox").pk)})
    assert "pas encore arrivé en entier" in json.loads(unfinished.content)["error"]
    for _ in range(2):
        _start(web, "b.mbox", 10)
    status, body = _start(web, "c.mbox", 10)
    assert status == 400 and "envois de fichier inachevés" in body["error"]

    client.force_login(other)  # someone else's upload: nothing to see, nothing to add
    assert client.get(started["url"]).status_code == 404
    assert client.post(started["url"], data=b"y", content_type="application/octet-stream",
                       HTTP_UPLOAD_OFFSET="5").status_code == 404
    assert ImportUpload.objects.get(key=started["url"].rstrip("/").rsplit("/", 1)[1]).received == 5


def test_unfinished_uploads_go_after_a_day(web, person):
    _status, started = _start(web, "a.mbox", 10)
    path = uploads._path(ImportUpload.objects.get())
    assert path.exists()
    assert uploads.do_purge_uploads(timezone.now()) == 0
    assert uploads.do_purge_uploads(timezone.now() + timedelta(days=2)) == 1
    assert not path.exists() and not ImportUpload.objects.exists()
