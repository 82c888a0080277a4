"""The background job runner: claiming (oldest first, leases), one active job
per account and kind, failures reported in French, a job that keeps killing
its worker given up, and the ``academail jobs`` command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from academail.config.cli import main
from academail.jobs import runner
from academail.jobs.models import Job, JobState

CALLS: list[int] = []


def counting_handler(job: Job) -> str:
    CALLS.append(job.pk)
    with runner.step(job):
        job.done = job.total
    return "Terminé sans rien changer"


def failing_handler(job: Job) -> str:
    raise RuntimeError("disque plein")


@pytest.fixture(autouse=True)
def _handlers(monkeypatch):
    CALLS.clear()
    monkeypatch.setitem(runner.HANDLERS, "test.count", "tests.jobs.test_runner.counting_handler")
    monkeypatch.setitem(runner.HANDLERS, "test.fail", "tests.jobs.test_runner.failing_handler")


@pytest.fixture
def person(make_account):
    return make_account("Julie", "Martin")


def test_jobs_run_oldest_first_and_finish(person):
    first = runner.do_queue("test.count", person.pk, params={}, total=3)
    second = runner.do_queue("test.count", None, params={}, total=1)
    assert runner.run_pending() == 2
    assert CALLS == [first.pk, second.pk]
    first.refresh_from_db()
    assert first.state == JobState.DONE and first.done == 3 and first.percent == 100
    assert first.result == "Terminé sans rien changer" and first.finished_at and first.lease_until is None


def test_one_active_job_per_account_and_kind(person, make_account):
    runner.do_queue("test.count", person.pk, params={})
    with pytest.raises(runner.JobAlreadyActive, match="déjà en cours"):
        runner.do_queue("test.count", person.pk, params={})
    runner.do_queue("test.fail", person.pk, params={})  # another kind
    runner.do_queue("test.count", make_account("Paul", "Durand").pk, params={})  # another account
    with pytest.raises(ValueError):
        runner.do_queue("inconnu", person.pk, params={})


def test_a_leased_job_is_not_taken_until_its_lease_ends(person):
    job = runner.do_queue("test.count", person.pk, params={})
    now = timezone.now()
    assert runner.claim(now, "a").pk == job.pk
    assert runner.claim(now + timedelta(seconds=5), "b") is None
    taken = runner.claim(now + runner.LEASE + timedelta(seconds=1), "b")
    assert taken is not None and taken.lease_owner == "b" and taken.attempts == 2


def test_a_failing_job_says_what_to_do(person):
    job = runner.do_queue("test.fail", person.pk, params={})
    runner.run_pending()
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "Relancez-le" in job.result
    assert "disque plein" in job.error
    runner.do_queue("test.fail", person.pk, params={})  # a failed job does not block a new one


def test_a_job_that_keeps_killing_its_worker_is_given_up(person):
    job = runner.do_queue("test.count", person.pk, params={})
    Job.objects.filter(pk=job.pk).update(attempts=runner.MAX_ATTEMPTS)
    runner.run_pending()
    job.refresh_from_db()
    assert job.state == JobState.FAILED and CALLS == []


def test_access_job_is_per_account(person, make_account):
    job = runner.do_queue("test.count", person.pk, params={})
    assert runner.access_job(person.pk, job.pk) == job
    with pytest.raises(runner.JobNotFound):
        runner.access_job(make_account("Paul", "Durand").pk, job.pk)


def test_command_runs_and_lists(person, capsys):
    runner.do_queue("test.count", person.pk, params={}, total=2)
    assert main(["jobs", "run"]) == 0
    assert "1 traitement(s) exécuté(s)" in capsys.readouterr().out
    assert main(["jobs", "list"]) == 0
    assert "test.count" in capsys.readouterr().out
