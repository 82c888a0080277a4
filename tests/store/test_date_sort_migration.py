"""Migration 0016 gives every stored message its RFC 5256 §3 DATE sort key:
the content's Date header, else the message's INTERNALDATE (a message without
a usable Date sorts by its arrival)."""

from __future__ import annotations

import datetime as dt

OLD = [("store", "0015_search_fields")]
NEW = [("store", "0016_date_sort")]


def test_existing_messages_get_their_date_sort_key(migrator, make_account):
    account = make_account()
    apps = migrator.migrate(OLD)
    Mailbox = apps.get_model("store", "Mailbox")
    Content = apps.get_model("store", "Content")
    Message = apps.get_model("store", "Message")
    inbox = Mailbox.objects.get(account_id=account.pk, special_use="inbox")
    sent = dt.datetime(2026, 11, 30, 9, 15, tzinfo=dt.UTC)
    arrived = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)
    dated = Content.objects.create(sha256="a" * 64, size=10, refcount=1, date=sent)
    undated = Content.objects.create(sha256="b" * 64, size=10, refcount=1, date=None)
    for uid, content in ((1, dated), (2, undated)):
        Message.objects.create(mailbox=inbox, uid=uid, modseq=1, content=content, size=10, internaldate=arrived)
    apps = migrator.migrate(NEW)
    Message = apps.get_model("store", "Message")
    keys = dict(Message.objects.filter(mailbox_id=inbox.pk).values_list("uid", "date_sort"))
    assert keys == {1: sent, 2: arrived}
