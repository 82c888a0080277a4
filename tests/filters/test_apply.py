""""Appliquer aux messages existants": the job moves and flags the right
messages through real store moves, applies no discard/redirect/vacation,
resumes after a crash without moving twice, one job per account, the page
flow (queue, progress JSON, IDOR) and an IMAP IDLE client seeing the moves."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from academail.accounts.models import JournalEntry
from academail.delivery.models import QueueEntry
from academail.filters import apply
from academail.jobs.models import Job, JobState
from academail.jobs.runner import LEASE, JobAlreadyActive, LeaseLost, claim, run_pending
from academail.store.messages import do_append
from academail.store.models import Flag, Mailbox, Message, Usage
from tests.conftest import build_message
from tests.imap.conftest import PASSWORD, Client, connect, imap  # noqa: F401 (fixtures)

SCRIPT = """require ["fileinto", "mailbox", "imap4flags", "body", "comparator-i;unicode-casemap"];
if header :comparator "i;unicode-casemap" :contains "subject" "réunion" {
    fileinto :create "Réunions";
}
if address :is "from" "parent@famille.fr" {
    addflag "\\\\Flagged";
}
if body :comparator "i;unicode-casemap" :contains "urgent" {
    addflag "\\\\Seen";
}
"""


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def person(make_account):
    return make_account("Julie", "Martin")


def _inbox(account) -> Mailbox:
    return Mailbox.objects.get(account=account, special_use="inbox")


def _put(account, **fields) -> int:
    fields.setdefault("to", account.address)
    return do_append(account.pk, _inbox(account).pk, build_message(**fields)).uid


def _subjects(account, name: str) -> list[str]:
    box = Mailbox.objects.get(account=account, name=name)
    return sorted(Message.objects.filter(mailbox=box).values_list("content__subject", flat=True))


def test_moves_and_flags_the_right_messages(person, with_script):
    _put(person, subject="Réunion de rentrée")
    _put(person, subject="REUNION parents", sender="parent@famille.fr")
    _put(person, subject="Sortie scolaire", sender="parent@famille.fr")
    _put(person, subject="Menu cantine", body="Rien d'URGENT.\n")
    _put(person, subject="Conseil de classe")
    with_script(person, SCRIPT)
    usage = Usage.objects.get(account=person)
    inbox_before = _inbox(person)

    job = apply.check_and_queue(person.pk)
    assert run_pending() == 1
    job.refresh_from_db()

    assert job.state == JobState.DONE and job.done == job.total == 5
    assert job.result == "2 messages déplacés, 3 marqués"
    assert _subjects(person, "Réunions") == ["REUNION parents", "Réunion de rentrée"]
    assert _subjects(person, "INBOX") == ["Conseil de classe", "Menu cantine", "Sortie scolaire"]
    flags = dict(Message.objects.filter(mailbox__account=person).values_list("content__subject", "flags"))
    assert flags["REUNION parents"] & Flag.FLAGGED  # flagged in INBOX, then moved with its flags
    assert flags["Sortie scolaire"] == Flag.FLAGGED
    assert flags["Menu cantine"] == Flag.SEEN
    assert flags["Conseil de classe"] == 0 and flags["Réunion de rentrée"] == 0
    # Real moves: counters, UIDs, MODSEQ and quota as the store keeps them.
    inbox_after = _inbox(person)
    folder = Mailbox.objects.get(account=person, name="Réunions")
    assert inbox_after.messages == 3 and folder.messages == 2 and folder.uidnext == 3
    assert inbox_after.highestmodseq > inbox_before.highestmodseq
    assert inbox_after.unseen == 2
    assert Usage.objects.get(account=person).bytes == usage.bytes  # a move is quota-neutral
    assert Usage.objects.get(account=person).messages == usage.messages
    entry = JournalEntry.objects.filter(account=person, kind="filter_changed").latest("pk")
    assert "2 messages déplacés, 3 marqués" in entry.detail and "existants" in entry.detail


def test_only_fileinto_and_flags_apply_to_existing_mail(person, with_script):
    _put(person, subject="Vieux message", sender="quelqu.un@college-exemple.fr")
    with_script(person, """require ["vacation", "reject"];
        redirect "collegue@ac-demo.fr";
        vacation :days 1 "Je suis absente.";
        discard;
    """)
    apply.check_and_queue(person.pk)
    run_pending()
    assert _subjects(person, "INBOX") == ["Vieux message"]  # not discarded
    assert not QueueEntry.objects.exists()  # nothing re-sent, no out-of-office
    assert Job.objects.get().result == "0 messages déplacés, 0 marqués"


def test_headers_beyond_the_stored_ones_read_the_blob_header(person, with_script):
    raw = build_message(subject="Bulletin", to=person.address).replace(
        b"Subject:", b"List-Id: <parents.college-exemple.fr>\r\nSubject:", 1
    )
    do_append(person.pk, _inbox(person).pk, raw)
    _put(person, subject="Autre")
    with_script(person, """require ["fileinto", "mailbox"];
        if exists "list-id" { fileinto :create "Listes/Parents"; }""")
    apply.check_and_queue(person.pk)
    run_pending()
    assert _subjects(person, "Listes/Parents") == ["Bulletin"]
    assert _subjects(person, "INBOX") == ["Autre"]


def test_messages_arriving_after_the_job_was_queued_are_left_alone(person, with_script):
    _put(person, subject="Réunion 1")
    with_script(person, SCRIPT)
    apply.check_and_queue(person.pk)
    _put(person, subject="Réunion 2")  # delivery would have filtered it; the job must not touch it
    run_pending()
    assert _subjects(person, "Réunions") == ["Réunion 1"]


class Crash(BaseException):
    """The worker process dying mid-batch (not an error the runner catches)."""


def test_resumes_after_a_crash_mid_batch_without_moving_twice(person, with_script, monkeypatch):
    monkeypatch.setattr(apply, "BATCH", 2)
    for i in range(7):
        _put(person, subject=f"Réunion {i}")
    with_script(person, SCRIPT)
    job = apply.check_and_queue(person.pk)
    now = timezone.now()
    claimed = claim(now, "worker-a")
    assert claimed is not None and claimed.pk == job.pk
    program = apply.compile_script(SCRIPT)
    assert apply.run_batch(claimed, program, clock=lambda: now)  # batch 1 commits: UIDs 1-2 moved

    real_copy = apply.do_copy

    def copy_then_die(*args, **kwargs):
        real_copy(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(apply, "do_copy", copy_then_die)
    with pytest.raises(Crash):
        apply.run_batch(claimed, program, clock=lambda: now)  # batch 2 dies before its commit
    monkeypatch.setattr(apply, "do_copy", real_copy)

    job.refresh_from_db()
    assert job.state == JobState.RUNNING and job.checkpoint["uid"] == 2 and job.done == 2
    assert len(_subjects(person, "Réunions")) == 2  # batch 2 rolled back with its checkpoint
    assert run_pending(clock=lambda: now + timedelta(seconds=30)) == 0  # still leased to the dead worker

    later = now + LEASE + timedelta(seconds=1)
    assert run_pending(clock=lambda: later) == 1  # lease over: another worker resumes
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.attempts == 2 and job.done == 7
    assert job.result == "7 messages déplacés, 0 marqués"
    folder = Mailbox.objects.get(account=person, name="Réunions")
    assert _subjects(person, "Réunions") == [f"Réunion {i}" for i in range(7)]
    assert folder.messages == 7 and folder.uidnext == 8  # each moved once
    assert _inbox(person).messages == 0


def test_a_worker_that_lost_its_lease_commits_nothing(person, with_script):
    _put(person, subject="Réunion")
    with_script(person, SCRIPT)
    apply.check_and_queue(person.pk)
    now = timezone.now()
    slow = claim(now, "worker-slow")
    later = now + LEASE + timedelta(seconds=1)
    fast = claim(later, "worker-fast")
    assert slow is not None and fast is not None and fast.pk == slow.pk
    with pytest.raises(LeaseLost):
        apply.run_batch(slow, apply.compile_script(SCRIPT), clock=lambda: later)
    assert _subjects(person, "INBOX") == ["Réunion"]


def test_one_job_per_account(person, make_account, with_script):
    other = make_account("Paul", "Durand")
    for account in (person, other):
        _put(account, subject="Réunion")
        with_script(account, SCRIPT)
    apply.check_and_queue(person.pk)
    with pytest.raises(JobAlreadyActive):
        apply.check_and_queue(person.pk)
    apply.check_and_queue(other.pk)  # another account is not held up
    assert run_pending() == 2
    apply.check_and_queue(person.pk)  # finished: may run again
    assert Job.objects.filter(account=person).count() == 2


def test_without_a_script_nothing_is_queued(person):
    with pytest.raises(apply.ScriptError, match="aucun filtre"):
        apply.check_and_queue(person.pk)
    assert not Job.objects.exists()


# --- the page -------------------------------------------------------------------------

URL = "/courrier/filtres/"
APPLY = "/courrier/filtres/appliquer/"


def test_page_flow_progress_and_idor(person, make_account, with_script, client):
    other = make_account("Paul", "Durand")
    _put(person, subject="Réunion")
    _put(other, subject="Réunion")
    with_script(person, SCRIPT)
    with_script(other, SCRIPT)
    client.force_login(person)

    page = client.get(URL).content.decode()
    assert "Appliquer aux messages existants" in page and 'action="/courrier/filtres/appliquer/"' in page
    assert re.search(r'<script src="/static/academail/js/progress\.[0-9a-f]{12}\.js" defer>', page)

    response = client.post(APPLY)
    assert response.status_code == 302 and response["Location"] == URL + "#flt-apply"
    page = client.get(URL).content.decode()
    assert "Le tri des messages existants a commencé" in page
    assert "En attente de traitement" in page and "<progress" in page and "Actualiser" in page
    job = Job.objects.get(account=person)
    status = client.get(f"{APPLY}{job.pk}/")
    assert status.status_code == 200 and status["Content-Type"] == "application/json"
    assert status.json()["state"] == "queued"
    assert status.json()["total"] == 1 and status.json()["finished"] is False

    second = client.post(APPLY, follow=True).content.decode()
    assert "déjà en cours" in second

    run_pending()
    body = client.get(f"{APPLY}{job.pk}/").json()
    assert body["finished"] and body["done"] == 1 and body["percent"] == 100
    assert body["text"] == "1 messages déplacés, 0 marqués"
    page = client.get(URL).content.decode()
    assert "1 messages déplacés, 0 marqués" in page and "Actualiser" not in page

    # IDOR: another account's job is a 404, like a job that does not exist.
    client.force_login(other)
    assert client.get(f"{APPLY}{job.pk}/").status_code == 404
    assert client.get(f"{APPLY}999999/").status_code == 404


def test_apply_needs_post_with_csrf(person, with_script):
    with_script(person, SCRIPT)
    browser = DjangoClient(enforce_csrf_checks=True)
    browser.force_login(person)
    assert browser.post(APPLY).status_code == 403
    assert browser.get(APPLY).status_code == 405
    assert not Job.objects.exists()
    page = browser.get(URL).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert browser.post(APPLY, {"csrfmiddlewaretoken": token}).status_code == 302
    assert Job.objects.filter(account=person).count() == 1


def test_page_without_script_explains_what_to_do(person, client):
    client.force_login(person)
    page = client.post(APPLY, follow=True).content.decode()
    assert "créez et enregistrez d&#x27;abord une règle" in page


# --- IMAP clients see the moves ---------------------------------------------------------


def test_idle_client_sees_the_moves(imap, connect, make_account, with_script):  # noqa: F811
    person = make_account("Julie", "Martin")
    person.set_password(PASSWORD)
    person.save()
    for subject in ("Réunion A", "Autre", "Réunion B"):
        _put(person, subject=subject)
    with_script(person, SCRIPT)
    session: Client = connect()
    session.login(person)
    assert session.cmd("SELECT INBOX").ok
    session.send(b"i IDLE\r\n")
    assert session.readline().startswith(b"+")

    apply.check_and_queue(person.pk)
    assert run_pending() == 1

    seen: list[bytes] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(b"EXPUNGE" in line for line in seen) < 2:
        seen.append(session.readline())
    session.send(b"DONE\r\n")
    session.read_until("i")
    # Messages 1 and 3 went: EXPUNGE in descending order (RFC 3501 §7.4.1).
    assert [line for line in seen if b"EXPUNGE" in line] == [b"* 3 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n"]
    status = session.cmd('STATUS "R&AOk-unions" (MESSAGES UIDNEXT)')
    assert status.ok and b"MESSAGES 2" in status.untagged[0] and b"UIDNEXT 3" in status.untagged[0]
