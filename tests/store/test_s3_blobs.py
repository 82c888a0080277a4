"""Blobs in S3-compatible object storage (issue 21), against moto's real S3
server (tests/s3.py): content-addressed keys, delivery and reading back,
ranged GETs, the bounded read cache, the collector, the health probe, faults
(an upload cut half-way, 500, no answer) and ``academail blobs migrate``."""

from __future__ import annotations

import hashlib
import logging
import os
from datetime import timedelta

import pytest
from django.db import transaction

from academail.config.cli import main as academail
from academail.delivery.door import Recipient, do_deliver_prepared, prepare
from academail.operations.blobmigration import do_migrate_blobs
from academail.operations.health import check_health
from academail.store import mailboxes as mb
from academail.store import messages as ms
from academail.store.blobs import BlobStore, BlobStoreError, blob_store, open_blob_store
from academail.store.gc import do_collect
from academail.store.models import Content, Flag, Message
from academail.store.s3blobs import BlobCache, S3BlobStore
from tests.conftest import build_message
from tests.s3 import SECRET_KEY, new_bucket

pytestmark = pytest.mark.django_db


def deliver(raw: bytes, *accounts) -> list:
    prepared = prepare(raw)
    with transaction.atomic():
        return do_deliver_prepared(prepared, [Recipient(a.address, a.pk) for a in accounts])


def test_the_configured_store_is_the_bucket(s3_blobs):
    store = blob_store()
    assert isinstance(store, S3BlobStore)
    assert store.describe() == s3_blobs.url


def test_delivered_message_is_one_content_addressed_object_and_reads_back(s3_blobs, make_account, settings):
    a, b = make_account("Julie", "Martin"), make_account("Paul", "Durand")
    raw = build_message(subject="Circulaire de rentrée", attachment=b"%PDF-1.4 " + os.urandom(20000))
    deliver(raw, a, b)
    sha = hashlib.sha256(raw).hexdigest()
    assert s3_blobs.keys() == [f"mail/{sha[:2]}/{sha[2:4]}/{sha}"]  # once for both
    assert not BlobStore(settings.BLOB_DIR).exists(sha)  # nothing went to the file store
    message = Message.objects.get(mailbox__account=a)
    whole = ms.read_raw(message)
    assert whole.endswith(raw)


def test_ranged_get_reads_a_part_without_the_whole_object(s3_blobs):
    store = blob_store()
    data = b"Subject: grand\r\n\r\n" + os.urandom(300_000)
    sha = store.put(data)
    store.cache.discard(sha)
    assert store.read_range(sha, 10, 5000) == data[10:5000]
    assert store.cache.get(sha) is None  # the range did not download and keep the whole object
    assert store.read_range(sha, len(data) - 3, len(data) + 100) == data[-3:]
    assert store.read_range(sha, len(data) + 10, len(data) + 20) == b""
    assert store.get(sha) == data
    assert store.cache.get(sha) == data  # a whole read is kept for the next one


def test_missing_blob_is_file_not_found(s3_blobs):
    with pytest.raises(FileNotFoundError):
        blob_store().get("0" * 64)
    assert not blob_store().exists("0" * 64)
    assert blob_store().mtime("0" * 64) is None


def test_read_cache_stays_within_its_bound(tmp_path):
    cache = BlobCache(tmp_path / "cache", limit=100_000)
    for n in range(60):
        data = bytes([n]) * 5_000
        cache.add(hashlib.sha256(data).hexdigest(), data)
    assert cache.size() <= 100_000
    newest = bytes([59]) * 5_000
    assert cache.get(hashlib.sha256(newest).hexdigest()) == newest  # the oldest went first
    assert cache.get(hashlib.sha256(bytes([0]) * 5_000).hexdigest()) is None


def test_gc_deletes_released_objects_and_orphans(s3_blobs, make_account):
    account = make_account()
    deliver(build_message(subject="éphémère"), account)
    sha = Content.objects.get().sha256
    box = mb.special_mailbox(account.pk, "inbox")
    ms.do_set_flags(account.pk, box.pk, [(1, 1)], mode="add", flags=Flag.DELETED)
    ms.do_expunge(account.pk, box.pk)
    orphan = blob_store().put(b"Subject: crash between upload and commit\r\n\r\n.")
    assert do_collect(timedelta(hours=1), sweep_orphans=True).blobs == 0  # within the grace period
    assert blob_store().exists(orphan)
    report = do_collect(timedelta(seconds=-60), sweep_orphans=True)
    assert (report.contents, report.blobs, report.orphans) == (1, 1, 1)
    assert s3_blobs.keys() == []
    assert not blob_store().exists(sha)


def test_gc_keeps_an_object_whose_row_exists(s3_blobs, make_account):
    deliver(build_message(subject="gardé"), make_account())
    assert do_collect(timedelta(seconds=-60), sweep_orphans=True).orphans == 0
    assert len(s3_blobs.keys()) == 1


def test_health_probe_checks_the_object_store(s3_blobs, settings):
    healthy, report = check_health()
    assert healthy and report["blobs"] == "ok", report
    assert s3_blobs.keys() == []  # the probe object is removed
    settings.BLOB_URL = f"s3://{s3_blobs.bucket}-absent/mail"
    settings.S3_ATTEMPTS = 1
    healthy, report = check_health()
    assert not healthy and report["blobs"] == "erreur : BlobStoreError"


@pytest.mark.parametrize("mode", ["cut", "error", "hang"])
def test_store_failure_raises_and_leaves_nothing(s3_faulty, s3_blobs, make_account, mode):
    account = make_account()
    s3_faulty.mode = mode
    raw = build_message(subject="perdu ?", attachment=os.urandom(200_000))
    with pytest.raises(BlobStoreError):
        deliver(raw, account)
    assert s3_faulty.requests >= 2  # retried before giving up
    assert Message.objects.count() == 0
    s3_faulty.mode = "pass"
    assert s3_blobs.keys() == []  # nothing half-written
    deliver(raw, account)  # the retry the sender makes after 451 succeeds
    assert Message.objects.count() == 1


def test_no_secret_in_logs_or_errors(s3_faulty, caplog):
    s3_faulty.mode = "error"
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(BlobStoreError) as raised:
            blob_store().put(b"Subject: x\r\n\r\ny")
        s3_faulty.mode = "pass"
        blob_store().put(b"Subject: x\r\n\r\ny")
    assert SECRET_KEY not in caplog.text
    assert SECRET_KEY not in str(raised.value) and SECRET_KEY not in repr(blob_store())


def test_migrate_files_to_s3_and_back_resumable_and_idempotent(s3_blobs, tmp_path):
    files = BlobStore(tmp_path / "files")
    shas = {files.put(b"Subject: %d\r\n\r\n" % n + os.urandom(2000)) for n in range(40)}
    target = open_blob_store(f"s3://{new_bucket(s3_blobs.endpoint)}/migrated")

    def interrupt(report):
        if report.copied >= 10:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or the machine going down

    with pytest.raises(KeyboardInterrupt):
        do_migrate_blobs(files, target, threads=2, batch_size=5, progress=interrupt)
    done = set(target.iter_shas())
    assert 10 <= len(done) < 40
    assert all(target.get(sha) == files.get(sha) for sha in done)  # whole objects only
    second = do_migrate_blobs(files, target)  # resumes
    assert second.complete and (second.copied, second.present) == (40 - len(done), len(done))
    assert set(target.iter_shas()) == shas
    again = do_migrate_blobs(files, target)
    assert (again.copied, again.present) == (0, 40)  # idempotent
    back = BlobStore(tmp_path / "back")
    report = do_migrate_blobs(target, back)
    assert report.complete and report.copied == 40
    assert all(back.get(sha) == files.get(sha) for sha in shas)


def test_migrate_to_a_failing_store_says_so_and_copies_nothing_half(s3_faulty, settings, tmp_path, capsys):
    files = BlobStore(tmp_path / "files")
    for n in range(5):
        files.put(b"Subject: %d\r\n\r\n." % n)
    s3_faulty.mode = "error"
    assert academail(["blobs", "migrate", "--from", str(tmp_path / "files"), "--to", settings.BLOB_URL]) == 1
    out = capsys.readouterr().out
    assert "0 blob(s) copié(s)" in out and "Relancez la même commande" in out
    s3_faulty.mode = "pass"
    assert academail(["blobs", "migrate", "--from", str(tmp_path / "files"), "--to", settings.BLOB_URL]) == 0
    assert "5 blob(s) copié(s)" in capsys.readouterr().out


def test_migrate_reports_a_damaged_blob_and_does_not_copy_it(s3_blobs, tmp_path):
    files = BlobStore(tmp_path / "files")
    good = files.put(b"Subject: ok\r\n\r\n.")
    bad = files.put(b"Subject: bit rot\r\n\r\n.")
    files.path(bad).write_bytes(b"Subject: bit rut\r\n\r\n.")
    report = do_migrate_blobs(files, blob_store())
    assert report.damaged == [bad] and report.copied == 1
    assert set(blob_store().iter_shas()) == {good}


def test_migrate_command(s3_blobs, settings, tmp_path, capsys):
    files = BlobStore(tmp_path / "files")
    sha = files.put(b"Subject: ligne de commande\r\n\r\n.")
    assert academail(["blobs", "migrate", "--from", f"file://{tmp_path}/files", "--to", s3_blobs.url]) == 0
    assert "1 blob(s) copié(s), 0 déjà présent(s)" in capsys.readouterr().out
    assert blob_store().get(sha) == files.get(sha)
    assert academail(["blobs", "migrate", "--to", f"file://{tmp_path}/out"]) == 0  # from the configured (S3) store
    assert BlobStore(tmp_path / "out").exists(sha)
    assert academail(["blobs", "migrate", "--to", "ftp://nope"]) == 2
