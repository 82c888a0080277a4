"""Data migrations of the IMAP sort and search tables: 0016 gives every message
its RFC 5256 §3 DATE sort key (the content's Date header, else INTERNALDATE),
0018 gives every content its SearchIds row, 0019 every message its RFC 5256
§2.2 thread keys, 0020 its §3 FROM key."""

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


def test_existing_contents_get_their_message_id_row(migrator):
    """Migration 0018: SearchIds from SearchText's folded header lines; the
    Message-ID key only for a field that is one plain "<id>"."""
    migrator.migrate([("store", "0017_personal_seen")])
    rows = {
        "c" * 64: "\nsubject: plan\nmessage-id: <a1@x.fr>\nreferences: <r1@x.fr> <r2@x.fr>\nin-reply-to: <r2@x.fr>",
        "d" * 64: "\nmessage-id: <b@x.fr> (ancien)",
        "e" * 64: "",
    }
    from django.db import connection

    ids = {}
    with connection.cursor() as cursor:
        for sha256, headers in rows.items():
            cursor.execute(
                "INSERT INTO store_content (sha256, size, refcount, subject, from_name, from_addr, to_text, cc_text,"
                ' message_id, in_reply_to, "references", preview, has_attachments, thread_key, structure,'
                " parse_defects, created_at) VALUES (%s, 1, 1, '', '', '', '', '', '', '', '', '', FALSE, '', '{}', '[]',"
                " CURRENT_TIMESTAMP) RETURNING id",
                [sha256],
            )
            ids[sha256] = cursor.fetchone()[0]
            if headers:
                cursor.execute(
                    "INSERT INTO store_searchtext (content_id, headers, body) VALUES (%s, %s, '')", [ids[sha256], headers]
                )
    apps = migrator.migrate([("store", "0018_search_ids")])
    SearchIds = apps.get_model("store", "SearchIds")
    got = {
        row["content_id"]: (row["message_id"], row["message_id_key"], row["in_reply_to"], row["references"])
        for row in SearchIds.objects.filter(content_id__in=ids.values()).values()
    }
    assert got == {
        ids["c" * 64]: ("<a1@x.fr>", "<a1@x.fr>", "<r2@x.fr>", "<r1@x.fr> <r2@x.fr>"),
        ids["d" * 64]: ("<b@x.fr> (ancien)", None, "", ""),
        ids["e" * 64]: ("", "", "", ""),
    }


def test_existing_messages_get_their_thread_keys(migrator, make_account):
    """Migration 0019: every message the keys delivery gives its content (the
    Message-ID's, whether the subject is a reply, the References chain, else
    the first In-Reply-To), so THREAD reads the same threads as before it."""
    from academail.store import sortkeys

    account = make_account()
    apps = migrator.migrate([("store", "0018_search_ids")])
    Mailbox = apps.get_model("store", "Mailbox")
    Content = apps.get_model("store", "Content")
    Message = apps.get_model("store", "Message")
    inbox = Mailbox.objects.get(account_id=account.pk, special_use="inbox")
    arrived = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)
    fields = {
        1: ("Plan", "<a@x.fr>", "", ""),
        2: ("RE : Plan", "<b@x.fr>", "<a@x.fr>", "<z@x.fr> <a@x.fr>"),
        3: ("Re: Plan", "<c@x.fr>", "<b@x.fr> <a@x.fr>", ""),
        4: ("", "", "", ""),
    }
    for uid, (subject, message_id, in_reply_to, references) in fields.items():
        content = Content.objects.create(
            sha256=f"{uid:064d}", size=10, refcount=1, subject=subject, message_id=message_id,
            in_reply_to=in_reply_to, references=references,
        )
        Message.objects.create(mailbox=inbox, uid=uid, modseq=1, content=content, size=10, internaldate=arrived)
    apps = migrator.migrate([("store", "0019_thread_keys")])
    Message = apps.get_model("store", "Message")
    got = {
        uid: (msgid, reply, sortkeys.unpack_keys(bytes(refs)).tolist())
        for uid, msgid, reply, refs in Message.objects.filter(mailbox_id=inbox.pk).values_list(
            "uid", "thread_msgid", "thread_reply", "thread_refs"
        )
    }
    key = sortkeys.id_hash
    assert got == {
        1: (key("<a@x.fr>"), False, []),
        2: (key("<b@x.fr>"), True, [key("<z@x.fr>"), key("<a@x.fr>")]),  # References first
        3: (key("<c@x.fr>"), True, [key("<b@x.fr>")]),  # else the first In-Reply-To
        4: (0, False, []),
    }


def test_existing_messages_get_their_from_key(migrator, make_account):
    """Migration 0020: the first From address's local part, ASCII-lowered."""
    account = make_account()
    apps = migrator.migrate([("store", "0019_thread_keys")])
    Mailbox = apps.get_model("store", "Mailbox")
    Content = apps.get_model("store", "Content")
    Message = apps.get_model("store", "Message")
    inbox = Mailbox.objects.get(account_id=account.pk, special_use="inbox")
    arrived = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)
    for uid, address in ((1, "Julie.MARTIN@ac-demo.fr"), (2, ""), (3, "no-domain")):
        content = Content.objects.create(sha256=f"{uid:064d}", size=10, refcount=1, from_addr=address)
        Message.objects.create(mailbox=inbox, uid=uid, modseq=1, content=content, size=10, internaldate=arrived)
    apps = migrator.migrate([("store", "0020_from_sort")])
    Message = apps.get_model("store", "Message")
    keys = dict(Message.objects.filter(mailbox_id=inbox.pk).values_list("uid", "from_sort"))
    assert keys == {1: "julie.martin", 2: "", 3: "no-domain"}
