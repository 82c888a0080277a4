"""Uploading an import in pieces, so that a 2 GB mbox survives a phone
switching networks or a proxy's body limit (issue 15 §4, "chunked for large
files").

The page's script (``archive/upload.js``) declares the file (name, size),
then sends it ``IMPORT_CHUNK_BYTES`` at a time, each piece saying at which
offset it starts. The rule is the one of the tus protocol's core (tus.io,
``Upload-Offset``): a piece is taken only at the offset the server already
has, otherwise the answer is 409 with that offset, and the script asks for
it (``received``) and goes on from there. A piece is written, flushed and
fsynced before the row says it is there; bytes past ``received`` (a crash
between the two) are cut off before the next piece. Once whole, the file is
moved, not copied, into the import job (``importing.check_and_queue_staged_import``).

Why not a tus server library: the Python ones are ASGI apps of their own
(asgi-tus, tussi) that would need our session, CSRF, account scope and
quota rules added around them, and django-tus stopped at Django 3.2; the
part of the protocol needed here is these few functions (docs/design.md).

Limits: ``MAX_OPEN`` unfinished uploads per account, ``MAX_TOTAL`` octets per
file (the zip-bomb bound of the import), unfinished uploads removed after
``KEEP`` (the daily housekeeping).
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from django.db import transaction
from django.utils.translation import gettext as _

from academail.archive.importing import (
    MAX_TOTAL,
    ImportError_,
    check_and_queue_staged_import,
    upload_dir,
)
from academail.archive.models import ImportUpload
from academail.jobs.models import Job

MAX_OPEN = 3
KEEP = timedelta(days=1)
_READ = 64 * 1024


class UploadNotFound(Exception):
    """No such upload for this account (404, nothing told)."""


class OffsetMismatch(Exception):
    """A piece for another offset than the one the server has (409)."""

    def __init__(self, received: int) -> None:
        super().__init__(received)
        self.received = received


def _path(upload: ImportUpload) -> Path:
    return upload_dir() / "parts" / f"{upload.key}.part"


def do_start_upload(account_id: int, filename: str, size: int) -> ImportUpload:
    """Declare a file to come. Raises ImportError_ (French) for an empty or
    too large file, or when the account has ``MAX_OPEN`` uploads unfinished."""
    if size <= 0:
        raise ImportError_(_("Ce fichier est vide : choisissez-en un autre."))
    if size > MAX_TOTAL:
        raise ImportError_(_("Ce fichier dépasse 20 Go : découpez-le (par exemple un fichier par dossier)."))
    if ImportUpload.objects.filter(account_id=account_id).count() >= MAX_OPEN:
        raise ImportError_(_(
            "Vous avez déjà %(n)d envois de fichier inachevés : terminez-les ou attendez demain qu'ils soient effacés."
        ) % {"n": MAX_OPEN})
    upload = ImportUpload.objects.create(
        account_id=account_id, key=secrets.token_urlsafe(24), filename=filename[:200] or "import", size=size,
    )
    path = _path(upload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return upload


def access_upload(account_id: int, key: str) -> ImportUpload:
    """The account's upload with this key (unique index); else UploadNotFound."""
    found = ImportUpload.objects.filter(key=key[:43], account_id=account_id).first()
    if found is None:
        raise UploadNotFound(key)
    return found


def do_append(upload: ImportUpload, offset: int, body: BinaryIO, length: int) -> int:
    """Add the piece starting at ``offset`` (``length`` octets read from
    ``body``); return the octets now received. Raises OffsetMismatch (not
    where the file stands) or ImportError_ (longer than declared)."""
    with transaction.atomic():
        row = ImportUpload.objects.select_for_update().filter(pk=upload.pk).first()
        if row is None:
            raise UploadNotFound(upload.pk)
        if offset != row.received:
            raise OffsetMismatch(row.received)
        if length <= 0 or row.received + length > row.size:
            raise ImportError_(_("Ce morceau dépasse la taille annoncée du fichier : recommencez l'envoi."))
        path = _path(row)
        with path.open("r+b") as handle:
            handle.truncate(row.received)  # what a crash may have left past the last piece counted
            handle.seek(row.received)
            left = length
            while left:
                chunk = body.read(min(_READ, left))
                if not chunk:
                    raise ImportError_(_("L'envoi de ce morceau a été interrompu : il va être renvoyé."))
                handle.write(chunk)
                left -= len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        row.received += length
        row.save(update_fields=["received", "updated_at"])
    upload.received = row.received
    return row.received


def do_finish(upload: ImportUpload, *, mailbox_id: int | None, new_folder: str, spread: bool = False) -> Job:
    """Queue the import of the whole file (``check_and_queue_staged_import``'s
    errors) and forget the upload."""
    if upload.received != upload.size:
        raise ImportError_(_("Le fichier n'est pas encore arrivé en entier : attendez la fin de l'envoi."))
    job = check_and_queue_staged_import(
        int(upload.account_id), _path(upload), upload.filename, mailbox_id=mailbox_id, new_folder=new_folder,
        spread=spread,
    )
    ImportUpload.objects.filter(pk=upload.pk).delete()
    return job


def do_purge_uploads(now: datetime) -> int:
    """Remove uploads left unfinished for ``KEEP`` (daily housekeeping)."""
    removed = 0
    for upload in ImportUpload.objects.filter(updated_at__lt=now - KEEP).iterator():
        _path(upload).unlink(missing_ok=True)
        ImportUpload.objects.filter(pk=upload.pk).delete()
        removed += 1
    return removed


__all__ = [
    "MAX_OPEN", "OffsetMismatch", "UploadNotFound", "access_upload", "do_append", "do_finish", "do_purge_uploads",
    "do_start_upload",
]
