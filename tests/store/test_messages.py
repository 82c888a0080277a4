"""The store API: delivery to many, UIDs and MODSEQs, flags, expunge, copy, move,
quota, keyset pages, single-instance blobs."""

from __future__ import annotations

import pytest
from django.db import transaction

from academail.delivery.door import Recipient, do_deliver_prepared, prepare
from academail.store import mailboxes as mb
from academail.store import messages as ms
from academail.store.blobs import blob_store
from academail.store.errors import ProtectedMailbox, QuotaExceeded
from academail.store.models import Content, Expunged, Flag, Mailbox, Message, Usage
from tests.conftest import build_message

pytestmark = pytest.mark.django_db


def deliver(raw: bytes, *accounts) -> list:
    prepared = prepare(raw)
    with transaction.atomic():
        return do_deliver_prepared(prepared, [Recipient(a.address, a.pk) for a in accounts])


def inbox(account) -> Mailbox:
    return mb.special_mailbox(account.pk, "inbox")


def test_new_account_has_french_special_folders(make_account):
    account = make_account()
    names = {b.special_use: b.name for b in mb.list_mailboxes(account.pk)}
    assert names == {
        "inbox": "INBOX", "sent": "Envoyés", "drafts": "Brouillons",
        "trash": "Corbeille", "junk": "Indésirables", "archive": "Archives",
    }
    validities = [b.uidvalidity for b in mb.list_mailboxes(account.pk)]
    assert len(set(validities)) == len(validities)


def test_circular_is_stored_once_and_counted_for_each(make_account):
    a, b = make_account("Julie", "Martin"), make_account("Paul", "Durand")
    raw = build_message(attachment=b"%PDF-1.4 " + b"x" * 5000)
    outcomes = deliver(raw, a, b)
    assert [o.uid for o in outcomes] == [1, 1]
    content = Content.objects.get()
    assert content.refcount == 2 and content.size == len(raw)
    assert blob_store().get(content.sha256) == raw
    for account in (a, b):
        assert Usage.objects.get(account=account).bytes == len(raw)
        box = inbox(account)
        assert (box.messages, box.unseen, box.uidnext) == (1, 1, 2)


def test_uids_and_modseq_strictly_increase(make_account):
    account = make_account()
    uids = [deliver(build_message(subject=f"n°{i}"), account)[0].uid for i in range(5)]
    assert uids == [1, 2, 3, 4, 5]
    modseqs = list(Message.objects.filter(mailbox=inbox(account)).order_by("uid").values_list("modseq", flat=True))
    assert modseqs == sorted(set(modseqs))


def test_flags_move_counters_and_modseq(make_account):
    account = make_account()
    for i in range(3):
        deliver(build_message(subject=f"m{i}"), account)
    box = inbox(account)
    before = box.highestmodseq
    changes = ms.do_set_flags(account.pk, box.pk, [(1, 2)], mode="add", flags=Flag.SEEN, keywords=["$Important"])
    assert [c.uid for c in changes] == [1, 2]
    box.refresh_from_db()
    assert box.unseen == 1 and box.highestmodseq == before + 1
    assert Message.objects.get(mailbox=box, uid=1).keywords == "$Important"
    # Setting what is already set changes nothing, not even HIGHESTMODSEQ.
    assert ms.do_set_flags(account.pk, box.pk, [(1, 2)], mode="add", flags=Flag.SEEN) == []
    box.refresh_from_db()
    assert box.highestmodseq == before + 1
    # CONDSTORE: a message modified after UNCHANGEDSINCE is left alone.
    assert ms.do_set_flags(account.pk, box.pk, [(1, 3)], mode="add", flags=Flag.FLAGGED, unchanged_since=before) == [
        ms.FlagChange(3, Flag.FLAGGED, "", before + 2)
    ]


def test_expunge_releases_quota_and_leaves_tombstones(make_account):
    account = make_account()
    sizes = [len(build_message()) for _ in range(1)]
    for i in range(3):
        deliver(build_message(subject=f"m{i}"), account)
    box = inbox(account)
    ms.do_set_flags(account.pk, box.pk, [(2, 3)], mode="add", flags=Flag.DELETED)
    assert ms.do_expunge(account.pk, box.pk) == [2, 3]
    box.refresh_from_db()
    assert box.messages == 1 and box.unseen == 1
    assert list(Expunged.objects.filter(mailbox=box).values_list("uid", flat=True).order_by("uid")) == [2, 3]
    usage = Usage.objects.get(account=account)
    assert usage.messages == 1 and usage.bytes == Message.objects.get(mailbox=box).size
    assert sorted(Content.objects.values_list("refcount", flat=True)) == [0, 0, 1]
    assert sizes


def test_uid_expunge_only_touches_given_uids(make_account):
    account = make_account()
    for i in range(3):
        deliver(build_message(subject=f"m{i}"), account)
    box = inbox(account)
    ms.do_set_flags(account.pk, box.pk, [(1, 3)], mode="add", flags=Flag.DELETED)
    assert ms.do_expunge(account.pk, box.pk, [(2, 2)]) == [2]


def test_copy_and_move_keep_content_and_allocate_new_uids(make_account):
    account = make_account()
    for i in range(3):
        deliver(build_message(subject=f"m{i}"), account)
    box = inbox(account)
    archive = mb.special_mailbox(account.pk, "archive")
    assert ms.do_copy(account.pk, box.pk, [(1, 2)], archive.pk) == [(1, 1), (2, 2)]
    assert Usage.objects.get(account=account).messages == 5
    assert ms.do_copy(account.pk, box.pk, [(3, 3)], archive.pk, move=True) == [(3, 3)]
    box.refresh_from_db()
    archive.refresh_from_db()
    assert (box.messages, archive.messages, archive.uidnext) == (2, 3, 4)
    assert Usage.objects.get(account=account).messages == 5
    assert Content.objects.get(subject="m0").refcount == 2


def test_quota_refuses_with_grace(make_account, settings):
    settings.QUOTA_GRACE_PERCENT = 10
    raw = build_message(body="x" * 2000)
    account = make_account(quota_bytes=len(raw) * 2)
    assert deliver(raw, account)[0].delivered
    assert deliver(build_message(body="y" * 2000), account)[0].delivered  # exactly at quota
    outcome = deliver(build_message(body="z" * 2000), account)[0]
    assert not outcome.delivered and outcome.refusal.value == "full"
    with pytest.raises(QuotaExceeded):
        ms.do_append(account.pk, inbox(account).pk, build_message(body="w"))


def test_keyset_pages_are_newest_first(make_account):
    account = make_account()
    for i in range(7):
        deliver(build_message(subject=f"m{i}"), account)
    box = inbox(account)
    first = ms.page_messages(box, limit=3)
    assert [m.uid for m in first] == [7, 6, 5]
    second = ms.page_messages(box, before_uid=first[-1].uid, limit=3)
    assert [m.uid for m in second] == [4, 3, 2]
    assert second[0].content.subject == "m3"


@pytest.mark.usefixtures("both_search_paths")
def test_search_ignores_accents_and_case(make_account):
    account = make_account()
    other = make_account("Paul", "Durand")
    deliver(build_message(subject="Réunion parents-professeurs", body="Ordre du jour : élèves de 3eB"), account)
    deliver(build_message(subject="Sortie au musée", body="Autorisation à signer"), account)
    deliver(build_message(subject="Réunion privée"), other)
    found = ms.search_messages(account.pk, "reunion")
    assert [m.content.subject for m in found] == ["Réunion parents-professeurs"]
    assert [m.content.subject for m in ms.search_messages(account.pk, "ELEVES 3eb")] == ["Réunion parents-professeurs"]
    assert ms.search_messages(account.pk, "musee", mailbox_id=inbox(account).pk)[0].content.subject == "Sortie au musée"
    assert ms.search_messages(account.pk, "introuvable") == []
    assert ms.search_messages(account.pk, "  ,;  ") == []


def test_read_raw_is_prefix_plus_unchanged_bytes(make_account):
    account = make_account()
    raw = build_message()
    prepared = prepare(raw)
    with transaction.atomic():
        do_deliver_prepared(prepared, [Recipient(account.address, account.pk)], prefix=b"Received: by test\r\n")
    message = ms.access_message(account.pk, inbox(account).pk, 1)
    assert ms.read_raw(message) == b"Received: by test\r\n" + raw


def test_access_message_checks_the_owner(make_account):
    owner, intruder = make_account(), make_account("Paul", "Durand")
    deliver(build_message(), owner)
    with pytest.raises(ms.MessageNotFound):
        ms.access_message(intruder.pk, inbox(owner).pk, 1)


def test_mailbox_create_rename_delete(make_account):
    account = make_account()
    child = mb.do_create_mailbox(account.pk, "Élèves/3eB")
    assert child.parent.name == "Élèves"
    renamed = mb.do_rename_mailbox(account.pk, child.parent.pk, "Classes")
    assert renamed.name == "Classes"
    assert Mailbox.objects.filter(account=account, name="Classes/3eB").exists()
    deliver(build_message(), account)
    ms.do_copy(account.pk, inbox(account).pk, [(1, 1)], Mailbox.objects.get(account=account, name="Classes/3eB").pk)
    mb.do_delete_mailbox(account.pk, renamed.pk)
    assert not Mailbox.objects.filter(account=account, name__startswith="Classes").exists()
    assert Usage.objects.get(account=account).messages == 1
    with pytest.raises(ProtectedMailbox):
        mb.do_delete_mailbox(account.pk, inbox(account).pk)


@pytest.mark.parametrize("name", ["", "a//b", "/a", "a/", "a/../b", "x%y", "tab\there", "nul\x00"])
def test_bad_mailbox_names_are_refused(make_account, name):
    account = make_account()
    with pytest.raises(mb.InvalidMailboxName):
        mb.do_create_mailbox(account.pk, name)


def test_gc_removes_released_content_and_blob(make_account):
    from datetime import timedelta

    from academail.store.gc import do_collect

    account = make_account()
    deliver(build_message(subject="éphémère"), account)
    box = inbox(account)
    sha = Content.objects.get().sha256
    ms.do_set_flags(account.pk, box.pk, [(1, 1)], mode="add", flags=Flag.DELETED)
    ms.do_expunge(account.pk, box.pk)
    assert do_collect(timedelta(hours=1)).contents == 0  # still within the grace period
    report = do_collect(timedelta(seconds=-60))
    assert report.contents == 1 and report.blobs == 1
    assert not blob_store().exists(sha)
    assert ms.search_messages(account.pk, "ephemere") == []


def test_message_fields_are_the_models_columns_in_order():
    """``do_store_many`` inserts Message rows by hand and builds the objects
    positionally (``Message.from_db``): its column list must be the model's."""
    assert ms.MESSAGE_FIELDS == tuple(field.attname for field in Message._meta.concrete_fields)


def test_a_record_stores_what_the_parse_gives(make_account):
    """An import stores ``ContentRecord``s computed in a worker process
    (``parse_record``) rather than ``PreparedContent``s: the Content and
    Message rows are those of the parse, and the returned Messages are the
    rows as read back."""
    from datetime import UTC, datetime
    from pathlib import Path

    from academail.mime.parse import parse_message
    from academail.store.search import index_rows

    account = make_account()
    box = inbox(account)
    corpus = sorted(Path(__file__).resolve().parent.parent.joinpath("data", "messages").glob("*.eml"))
    raws = [path.read_bytes() for path in corpus]
    requests = []
    for number, raw in enumerate(raws):
        blob_store().put(raw)
        flags = Flag.SEEN if number % 2 else 0
        placement = ms.Placement(account.pk, box.pk, flags, "$Projet" if number % 3 == 0 else "")
        when = datetime(2020, 1, 1 + number % 28, 8, number, tzinfo=UTC)
        requests.append(ms.StoreRequest(ms.parse_record(raw), [placement], internaldate=when))
    with transaction.atomic():
        results = ms.do_store_many(requests)
    stored = {m.pk: m for m in Message.objects.filter(mailbox=box).select_related("content")}
    assert len(stored) == len(raws)
    for raw, request, (result,) in zip(raws, requests, results, strict=True):
        assert isinstance(result, Message) and not result._state.adding
        row = stored[result.pk]
        for name in ms.MESSAGE_FIELDS:
            read, returned = getattr(row, name), getattr(result, name)
            if name in ("prefix", "thread_refs"):  # memoryview on PostgreSQL
                read, returned = bytes(read), bytes(returned)
            assert read == returned, name
        parsed = parse_message(raw)
        content = row.content
        assert content.structure == {"root": parsed.root.to_dict(), "envelope": parsed.envelope.to_dict()}
        assert (content.subject, content.preview, content.message_id, content.thread_key, content.date) == (
            parsed.subject[:10000], parsed.preview[:256], (parsed.message_id or "")[:998], parsed.thread_key[:64],
            parsed.date)
        assert (row.internaldate, row.flags, row.keywords) == (request.internaldate, request.placements[0].flags,
                                                               request.placements[0].keywords)
        assert row.date_sort == (parsed.date or request.internaldate)
        assert request.prepared.index == index_rows(parsed)
    box.refresh_from_db()
    assert box.messages == len(raws) and box.uidnext == len(raws) + 1


def test_a_new_content_and_its_index_rows_take_one_statement_on_postgresql(make_account):
    """A delivery's content is nearly always new: it is inserted first, and on
    PostgreSQL its four index rows go in the same statement (``search.pg_index_with``),
    the usage row is counted up by the statement that inserts the message.
    A content already stored is found by that INSERT and counted up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from academail.store.models import SearchFields, SearchIds, SearchText

    account = make_account()
    box = inbox(account)
    raw = build_message(subject="Réunion parents-professeurs", body="Ordre du jour: bulletins trimestriels")
    prepared = ms.prepare_content(raw)
    placement = ms.Placement(account.pk, box.pk)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), CaptureQueriesContext(connection) as new:
        (first,) = ms.do_store(prepared, [placement])
    with transaction.atomic(), CaptureQueriesContext(connection) as known:
        (second,) = ms.do_store(prepared, [placement])
    # Without BEGIN/COMMIT: quota read, content (+ index rows), mailbox, messages
    # (+ usage), NOTIFY; a known content adds its count-up. SQLite: the index
    # rows and the usage in statements of their own, and no NOTIFY.
    assert (len(new), len(known)) == ((5, 6) if postgres else (9, 6))
    content = Content.objects.get()
    assert first.content_id == second.content_id == content.pk and content.refcount == 2
    assert (first.uid, second.uid) == (1, 2)
    assert SearchFields.objects.get(content_id=content.pk).subject == "reunion parents-professeurs"
    assert "bulletins trimestriels" in SearchText.objects.get(content_id=content.pk).body
    assert SearchIds.objects.filter(content_id=content.pk).count() == 1
    assert sorted(m.uid for m in ms.search_messages(account.pk, "trimestriels")) == [1, 2]
    usage = Usage.objects.get(account=account)
    assert (usage.bytes, usage.messages) == (2 * len(raw), 2)
