"""Interrupted blob writes (outside review, 2026-12): a crash between
``mkstemp`` and the rename left files in ``blobs/tmp/`` forever. The garbage
collector (and ``academail serve`` at start-up, see
``tests/server/test_single_instance.py``) removes those older than the grace
period, and never a write in progress."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest

from academail.store.blobs import blob_store
from academail.store.gc import do_clean_blob_tmp, do_collect

pytestmark = pytest.mark.django_db


def _leftover(name: str, age_seconds: float) -> str:
    path = blob_store().tmp / name
    path.write_bytes(b"Subject: interrupted\r\n\r\nhalf a message")
    past = time.time() - age_seconds
    os.utime(path, (past, past))
    return str(path)


def test_gc_removes_temporary_files_older_than_the_grace_period():
    old = _leftover("a1b2c3d4e5f6crash", 2 * 3600)
    fresh = _leftover("a1b2c3d4e5f6writing", 5)
    report = do_collect(timedelta(hours=1))
    assert report.tmp == 1
    assert not os.path.exists(old)
    assert os.path.exists(fresh)  # a write in progress is left alone
    os.unlink(fresh)


def test_clean_at_start_up_counts_what_it_removed():
    _leftover("x1", 7200)
    _leftover("x2", 7200)
    assert do_clean_blob_tmp(timedelta(hours=1)) == 2
    assert do_clean_blob_tmp(timedelta(hours=1)) == 0


def test_a_normal_write_leaves_nothing_in_tmp():
    blob_store().put(b"Subject: ok\r\n\r\nbody")
    assert list(blob_store().tmp.iterdir()) == []
