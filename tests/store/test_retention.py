"""Retention of Corbeille and Indésirables with a fake clock: messages put
there more than 30 days ago are expunged by the daily job (tombstones for
IMAP, quota released), counted from when they were put there; other folders
are never purged; batches resume after a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from academail.jobs.models import Job, JobState
from academail.jobs.runner import LEASE, claim, run_pending
from academail.store import messages as store_messages
from academail.store import retention
from academail.store.models import Expunged, Message, Usage
from academail.store.webmail import do_message_action
from tests.conftest import build_message
from tests.webmail.conftest import box_of, deliver


class Crash(Exception):
    pass


@pytest.fixture
def clock(monkeypatch):
    """A fake clock for the store: ``clock.now`` is what timezone.now() answers."""

    class Clock:
        now = timezone.now()

        def advance(self, **delta):
            self.now = self.now + timedelta(**delta)

    fake = Clock()
    monkeypatch.setattr(store_messages.timezone, "now", lambda: fake.now)
    return fake


@pytest.fixture
def teacher(make_account):
    return make_account("Luc", "Bernard")


def _put(account, use: str, count: int = 1) -> list[int]:
    """Deliver ``count`` messages and move them to the folder ``use``."""
    uids = [deliver(account, build_message(subject=f"Message {i}", to=account.address)).uid for i in range(count)]
    inbox = box_of(account, "inbox")
    if use != "inbox":
        target = box_of(account, use)
        do_message_action(account.pk, inbox.pk, uids, "move", target_id=target.pk)
    return uids


def _purge(now) -> Job:
    job = retention.do_queue_retention(now)
    assert job is not None
    assert run_pending(clock=lambda: now) == 1
    job.refresh_from_db()
    return job


def test_trash_and_junk_purged_after_30_days_other_folders_never(teacher, clock):
    _put(teacher, "trash", 2)
    _put(teacher, "junk", 1)
    _put(teacher, "archive", 1)
    _put(teacher, "inbox", 1)
    usage_before = Usage.objects.get(account=teacher).bytes
    clock.advance(days=29)
    job = _purge(clock.now)
    assert job.state == JobState.DONE and job.done == 0
    assert Message.objects.filter(mailbox__account=teacher).count() == 5
    clock.advance(days=2)
    job = _purge(clock.now)
    assert job.state == JobState.DONE and job.done == 3
    assert box_of(teacher, "trash").messages == 0 and box_of(teacher, "junk").messages == 0
    assert box_of(teacher, "archive").messages == 1 and box_of(teacher, "inbox").messages == 1
    assert Message.objects.filter(mailbox__account=teacher).count() == 2
    assert Expunged.objects.filter(mailbox=box_of(teacher, "trash")).count() == 2  # VANISHED for QRESYNC
    assert Usage.objects.get(account=teacher).bytes < usage_before
    assert Usage.objects.get(account=teacher).messages == 2
    # Years later, the other folders are still there.
    clock.advance(days=3650)
    _purge(clock.now)
    assert Message.objects.filter(mailbox__account=teacher).count() == 2


def test_counted_from_when_the_message_was_put_in_the_trash(teacher, clock):
    uids = _put(teacher, "inbox", 2)
    clock.advance(days=100)  # old messages...
    do_message_action(teacher.pk, box_of(teacher, "inbox").pk, uids, "delete")  # ...deleted today
    clock.advance(days=10)
    _purge(clock.now)
    assert box_of(teacher, "trash").messages == 2  # ten days in the Corbeille: kept
    clock.advance(days=21)
    _purge(clock.now)
    assert box_of(teacher, "trash").messages == 0


def test_batches_resume_after_a_crash_without_purging_twice(teacher, clock, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    _put(teacher, "trash", 5)
    _put(teacher, "junk", 3)
    clock.advance(days=31)
    job = retention.do_queue_retention(clock.now)
    claimed = claim(clock.now, "worker-a")
    assert claimed is not None and claimed.pk == job.pk
    calls = []

    def die_after_two(current):
        calls.append(current.done)
        if len(calls) == 2:
            raise Crash

    with pytest.raises(Crash):
        retention.run_retention(claimed, after_batch=die_after_two)
    job.refresh_from_db()
    assert job.state == JobState.RUNNING and job.done == 4  # two batches committed with their checkpoint
    assert box_of(teacher, "trash").messages == 1
    later = clock.now + LEASE + timedelta(seconds=1)
    assert run_pending(clock=lambda: later) == 1
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.done == 8
    assert "8 messages supprimés" in job.result
    trash, junk = box_of(teacher, "trash"), box_of(teacher, "junk")
    assert trash.messages == 0 and junk.messages == 0
    assert Expunged.objects.filter(mailbox__in=[trash, junk]).count() == 8  # each expunged once


def test_one_purge_job_at_a_time_and_none_when_off(teacher, settings):
    now = timezone.now()
    assert retention.do_queue_retention(now) is not None
    assert retention.do_queue_retention(now) is None  # already waiting
    Job.objects.all().delete()
    settings.RETENTION_DAYS = 0
    assert retention.do_queue_retention(now) is None


def test_the_folders_say_so(client, teacher, settings):
    client.force_login(teacher)
    for use in ("trash", "junk"):
        page = client.get(reverse("webmail:folder", args=[box_of(teacher, use).pk])).content.decode()
        assert "Les messages de plus de 30 jours sont supprimés automatiquement." in page
    page = client.get(reverse("webmail:folder", args=[box_of(teacher, "inbox").pk])).content.decode()
    assert "supprimés automatiquement" not in page
    settings.RETENTION_DAYS = 7
    page = client.get(reverse("webmail:folder", args=[box_of(teacher, "trash").pk])).content.decode()
    assert "Les messages de plus de 7 jours sont supprimés automatiquement." in page
