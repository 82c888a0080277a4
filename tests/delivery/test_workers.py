"""Delivery worker processes (delivery/workers.py): the same corpus analysed
inline and in worker processes gives the same parse, the same spam
verdicts and phishing warnings and the same stored rows; a worker that dies
costs its delivery a 451 4.3.0 with nothing stored, and the next delivery
goes through a new pool; a worker reads the classifier's counts over a
read-only connection and writes nothing, and one whose read fails leaves
the reading to the serving process."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import signal
import smtplib
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from academail.delivery.authcheck import Verdict as AuthVerdict
from academail.delivery.dns import FakeResolver
from academail.delivery.door import DeliveryRefused, Recipient, Refusal
from academail.delivery.route import do_route, prepare_route
from academail.delivery.workers import (
    WorkerCrashed,
    Workers,
    _analyse,
    _start_worker,
    read_only,
    shared,
)
from academail.mime.parse import parse_message
from academail.protection import classifier, domains, spam
from academail.protection.authresults import read_auth
from academail.protection.models import ACADEMIE_SCOPE, Correspondent, SenderRule, TrainingTotals
from academail.smtp import codes
from academail.store.models import Content, Message
from tests.conftest import build_message
from tests.smtp.conftest import run_mx

DATA = Path(__file__).resolve().parent.parent / "data"
CORPUS = sorted([*(DATA / "messages").glob("*.eml"), *(DATA / "protection").glob("*.eml")])

# Our own verdicts, as the MX puts them in the prefix: failing and passing
# authentication exercise different rules and warnings.
FAILING = AuthVerdict("fail", "fail", "", "fail", "reject", "exemple.example", "x@exemple.example").header()
PASSING = AuthVerdict("pass", "none", "", "none", "", "exemple.example", "x@exemple.example").header()

# A display name that is a colleague's (the one warning that needs the
# directory, looked up in the serving process) and one that is nobody's.
COLLEAGUE = build_message(sender='"Julie Martin" <julie.martin@messagerie-gratuite.example>', body="Tu as vu ?\n")
STRANGER = build_message(sender='"Zoé Inconnue" <zoe@messagerie-gratuite.example>', body="Bonjour\n")


def run(coroutine):
    return asyncio.new_event_loop().run_until_complete(coroutine)


@pytest.fixture(scope="module")
def workers(django_db_setup):  # the test database made first: the workers read it
    pool = Workers(2)
    run(pool.start())
    yield pool
    pool.close()


def test_the_corpus_analysed_in_workers_is_stored_as_analysed_inline(workers, transactional_db, make_account, settings):
    make_account("Julie", "Martin")
    inline_to, pooled_to = make_account("Paul", "Durand"), make_account("Anne", "Petit")
    messages = [path.read_bytes() for path in CORPUS] + [COLLEAGUE, STRANGER]
    assert len(messages) > 40
    looked_at = refused = 0
    for raw in messages:
        for prefix in (FAILING, PASSING):
            analysis = run(workers.analyse(raw, prefix, screen=True))
            assert analysis is not None
            routes = {}
            for account, given in ((inline_to, None), (pooled_to, analysis)):
                try:
                    routes[account.pk] = prepare_route(
                        raw, [Recipient(account.address, account.pk)], [], mail_from="x@exemple.example",
                        trace=prefix, sign=False, screen=True, analysis=given,
                    )
                except DeliveryRefused as refusal:  # over the reject score: refused at SMTP time
                    routes[account.pk] = refusal.refusal
            inline, pooled = routes[inline_to.pk], routes[pooled_to.pk]
            if isinstance(inline, Refusal) or isinstance(pooled, Refusal):
                assert inline == pooled
                refused += 1
                continue
            assert pooled.prepared.parsed == inline.prepared.parsed
            assert pooled.prepared.index is analysis.index  # folded in the worker, not again here
            assert pooled.prepared.index == inline.prepared.index
            assert pooled.screening.findings == inline.screening.findings
            # The screening differs only by whom it was read for (each one's own counts).
            assert (pooled.screening.reasons, pooled.screening.tokens, pooled.screening.judged.academie) == (
                inline.screening.reasons, inline.screening.tokens, inline.screening.judged.academie)
            looked_at += bool(inline.screening.findings.warnings)
            with transaction.atomic():
                for route in (inline, pooled):
                    assert all(o.delivered for o in do_route(route))
    assert looked_at > 20 and refused  # the corpus did raise warnings, and a refusal
    kept = {}
    for account in (inline_to, pooled_to):
        rows = Message.objects.filter(mailbox__account=account).select_related("mailbox", "content").order_by("pk")
        kept[account.pk] = [
            (m.content.sha256, m.mailbox.special_use, bytes(m.prefix), m.flags, m.keywords, m.size) for m in rows
        ]
    assert kept[inline_to.pk] == kept[pooled_to.pk]
    assert len(kept[inline_to.pk]) == 2 * len(messages) - refused
    assert Content.objects.count() == len({r[0] for r in kept[inline_to.pk]})


def test_a_colleagues_name_is_looked_up_in_the_serving_process(workers, db, make_account, settings):
    make_account("Julie", "Martin")
    for raw, expected in ((COLLEAGUE, "Julie Martin"), (STRANGER, None)):
        analysis = run(workers.analyse(raw, PASSING, screen=True))
        pending = [w for w in analysis.looked.findings.warnings if w.code == "DISPLAY_NAME_STAFF"]
        assert len(pending) == 1  # the worker cannot know: it only says "a name to look up"
        route = prepare_route(raw, [], [], mail_from="x@exemple.example", trace=PASSING, sign=False, screen=True,
                              analysis=analysis, lists=["liste@ac-demo.fr"])
        staff = [w.params["name"] for w in route.screening.findings.warnings if w.code == "DISPLAY_NAME_STAFF"]
        assert staff == ([expected] if expected else [])


def test_a_worker_reads_the_database_and_cannot_write_it(workers, transactional_db, make_account):
    make_account()
    assert run(workers.run(_count_accounts)) == 1
    refused = run(workers.run(_try_to_write))
    assert refused is not None and "read" in refused.lower(), refused  # "readonly" / "read-only transaction"
    assert not TrainingTotals.objects.filter(scope=_NEVER).exists()


def test_a_worker_judges_the_recipients_as_the_serving_process_would(workers, transactional_db, make_account):
    """The worker's ``classifier.judge`` (its own connection, its own cache)
    gives the serving process's probabilities, for the académie and each
    recipient who learned, and says whom it judged."""
    trained, untrained = make_account("Paul", "Durand"), make_account("Anne", "Petit")
    spammy = build_message(subject="Gagnez un iPhone", body="Cliquez vite pour gagner un iPhone gratuit.\n")
    hammy = build_message(subject="Conseil de classe", body="Le conseil de classe aura lieu jeudi en salle 12.\n")
    tokens = {raw: spam.message_tokens(parse_message(raw), PASSING) for raw in (spammy, hammy)}
    with transaction.atomic():
        for _ in range(classifier.MIN_TRAINING):
            classifier.do_count([ACADEMIE_SCOPE, trained.pk], tokens[spammy], spam=1, ham=0)
            classifier.do_count([ACADEMIE_SCOPE, trained.pk], tokens[hammy], spam=0, ham=1)
    accounts = sorted([trained.pk, untrained.pk])
    for raw in (spammy, hammy, spammy):  # the second sight of a message comes from the worker's cache
        analysis = run(workers.analyse(raw, PASSING, screen=True, accounts=accounts))
        judged = analysis.judged
        assert judged == classifier.judge(analysis.looked.tokens, accounts)
        assert judged.accounts == frozenset(accounts) and set(judged.personal) == {trained.pk}
        assert judged.academie is not None and (judged.academie > 0.9) == (raw == spammy)
    assert run(workers.analyse(spammy, PASSING, screen=True)).judged is None  # no recipients given: not judged


def test_a_worker_reads_what_the_screening_needs_and_the_serving_process_reads_nothing(
    workers, transactional_db, make_account,
):
    """Given the recipients, the worker also makes the screening's reads
    (``spam.read``: a colleague's name, the sender domain's history, the
    recipient's lists and correspondents, the classifiers' totals) in one
    statement; the serving process then decides without a query, and
    decides as it would have reading them itself."""
    make_account("Julie", "Martin")
    recipient = make_account("Paul", "Durand")
    sender = "julie.martin@messagerie-gratuite.example"
    with transaction.atomic():
        SenderRule.objects.create(account=recipient, sender=sender, kind=SenderRule.Kind.ACCEPT)
        Correspondent.objects.create(account=recipient, address=sender)
        domains.do_count("messagerie-gratuite.example", read_auth(PASSING))
        for _ in range(classifier.MIN_TRAINING):
            classifier.do_count([ACADEMIE_SCOPE, recipient.pk], spam.message_tokens(parse_message(STRANGER)),
                                spam=1, ham=1)
    analysis = run(workers.analyse(COLLEAGUE, PASSING, screen=True, accounts=[recipient.pk]))
    assert analysis.reads is not None and analysis.reads.accounts == (recipient.pk,)
    assert set(analysis.reads.found) == {"staff", "domain", "totals", "standing"}
    assert analysis.reads == spam.read(parse_message(COLLEAGUE), analysis.looked, [recipient.pk], totals=True)
    local = [Recipient(recipient.address, recipient.pk)]
    with CaptureQueriesContext(connection) as queries:
        pooled = prepare_route(COLLEAGUE, local, [], mail_from=sender, trace=PASSING, sign=False, screen=True,
                               analysis=analysis)
    assert [q["sql"] for q in queries.captured_queries] == []
    inline = prepare_route(COLLEAGUE, local, [], mail_from=sender, trace=PASSING, sign=False, screen=True)
    assert pooled.screening == inline.screening
    staff = [w.params["name"] for w in pooled.screening.findings.warnings if w.code == "DISPLAY_NAME_STAFF"]
    assert staff == ["Julie Martin"]
    # The domain's history was read: not its first message, no DOMAIN_FIRST_SEEN nor NEW_DOMAIN.
    assert not {r.code for r in pooled.screening.reasons} & {"DOMAIN_FIRST_SEEN"}
    assert "NEW_DOMAIN" not in {w.code for w in pooled.screening.findings.warnings}
    (verdict,) = spam.verdicts(pooled.screening, [recipient.pk]).values()
    assert {"USER_ACCEPT"} <= {r.code for r in verdict.reasons}


def test_a_worker_whose_read_fails_leaves_it_to_the_serving_process(tmp_path, transactional_db, make_account):
    """A worker whose database cannot be opened answers without ``judged``;
    the serving process then reads the counts itself (``spam.screen``)."""
    account = make_account()
    missing = read_only({"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "absent.sqlite3"),
                         "OPTIONS": {}, **_DEFAULTS})
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                               initargs=({}, missing))
    try:
        analysis = pool.submit(_analyse, STRANGER, PASSING, True, [account.pk]).result(60)
    finally:
        pool.shutdown()
    assert analysis.looked is not None and analysis.judged is None and analysis.reads is None
    route = prepare_route(STRANGER, [Recipient(account.address, account.pk)], [], mail_from="x@exemple.example",
                          trace=PASSING, sign=False, screen=True, analysis=analysis)
    assert route.screening.judged is not None and route.screening.judged.accounts == {account.pk}


def test_a_database_only_this_process_sees_is_not_given_to_workers():
    assert read_only({"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "OPTIONS": {}}) is None
    kept = read_only({"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/a b.sqlite3",
                      "OPTIONS": {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}})
    assert kept["NAME"] == "file:/srv/a%20b.sqlite3?mode=ro"
    assert kept["OPTIONS"] == {"init_command": "PRAGMA query_only=ON; PRAGMA busy_timeout=30000;"}
    postgres = read_only({"ENGINE": "django.db.backends.postgresql", "NAME": "acad", "OPTIONS": {}})
    assert postgres["OPTIONS"] == {"options": "-c default_transaction_read_only=on"}


_NEVER = -424242
_DEFAULTS = {"ATOMIC_REQUESTS": False, "AUTOCOMMIT": True, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False,
             "TIME_ZONE": None, "USER": "", "PASSWORD": "", "HOST": "", "PORT": "", "TEST": {}}


def _count_accounts() -> int:
    from academail.accounts.models import Account

    return Account.objects.count()


def _try_to_write() -> str | None:
    """A write from a worker: the database's refusal, as text (None: it wrote)."""
    from django.db import DatabaseError

    try:
        TrainingTotals.objects.create(scope=_NEVER, spam=1, ham=1, generation=1)
    except DatabaseError as error:
        return str(error)
    return None


def test_a_worker_that_dies_costs_one_451_and_the_pool_is_made_anew(transactional_db, make_account):
    account = make_account()
    others = {p.pid for p in multiprocessing.active_children()}
    with run_mx(FakeResolver(), processes=1) as mx:
        before = {p.pid for p in multiprocessing.active_children()} - others
        assert len(before) == 1
        for pid in before:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)  # the pool notices its dead worker
        with smtplib.SMTP(mx.host, mx.port) as client:
            client.ehlo("mta.example")
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail("x@exemple.example", [account.address], build_message(subject="Perdu ?"))
            code, text = codes.S451_LOCAL_ERROR.split(" ", 1)
            assert (refused.value.smtp_code, refused.value.smtp_error.decode()) == (int(code), text)
            assert not Message.objects.filter(mailbox__account=account).exists()
            client.rset()
            client.sendmail("x@exemple.example", [account.address], build_message(subject="Réessayé"))
        stored = Message.objects.filter(mailbox__account=account)
        assert [m.content.subject for m in stored] == ["Réessayé"]
        after = {p.pid for p in multiprocessing.active_children()} - others
        assert len(after) == 1 and not after & before


def test_an_import_parses_in_the_workers_as_inline(transactional_db, make_account, settings):
    """An mbox import (``archive.importing``) with delivery worker processes
    stores each Content as the parse in this process gives it."""
    from academail.archive.importing import check_and_queue_import, report_of
    from academail.jobs.runner import run_pending
    from academail.mime.parse import parse_message
    from academail.store.messages import read_raw

    settings.DELIVERY_WORKERS = 1
    account = make_account()
    messages = [path.read_bytes() for path in CORPUS[:20]]
    mbox = b"".join(
        b"From x@exemple.example Mon Mar  2 08:30:00 2026\n" + raw.replace(b"\nFrom ", b"\n>From ")
        + (b"" if raw.endswith(b"\n") else b"\n") + b"\n"
        for raw in messages
    )
    job = check_and_queue_import(account.pk, io.BytesIO(mbox), "corpus.mbox", mailbox_id=None, new_folder="Import")
    assert run_pending() == 1
    job.refresh_from_db()
    assert report_of(job).imported > 15, job.result
    stored = Message.objects.filter(mailbox__account=account, mailbox__name="Import").select_related("content")
    assert stored.count() == report_of(job).imported
    for message in stored:
        content, parsed = message.content, parse_message(read_raw(message))
        assert content.structure == {"root": parsed.root.to_dict(), "envelope": parsed.envelope.to_dict()}
        assert (content.subject, content.preview, content.message_id, content.thread_key) == (
            parsed.subject[:10000], parsed.preview[:256], (parsed.message_id or "")[:998], parsed.thread_key[:64])
    settings.DELIVERY_WORKERS = 0
    shared().close()


def test_workers_zero_analyse_nothing():
    assert run(Workers(0).analyse(b"Subject: x\r\n\r\nx\r\n")) is None
    assert issubclass(WorkerCrashed, RuntimeError)


def test_default_workers_take_this_process_share_of_the_cores(monkeypatch, settings):
    """One worker per core but one of the process's share: two MX processes
    on 2 cores start none each (not 4 busy processes on 2 cores)."""
    from academail.delivery.workers import default_count

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(2)), raising=False)
    settings.SERVE_PROCESSES = 1
    assert default_count() == 1
    settings.SERVE_PROCESSES = 2
    assert default_count() == 0
    assert Workers(-1).count == 0
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert default_count() == 3
    assert default_count(processes=1) == 7
    assert default_count(processes=16) == 0
