"""Thread keys on every message (``store.sortkeys.thread_keys``): the
Message-ID's key, whether the subject is a reply, the References chain's keys;
and one index (mailbox, date_sort, uid, subject_sort, thread keys) in place
of (mailbox, date_sort, uid), so THREAD REFERENCES and ORDEREDSUBJECT (RFC
5256 §2) and SORT (DATE) each read one index range instead of a wide content
row per message (bench/imap_sort.py). Filled from each content's own
Subject, Message-ID, In-Reply-To and References columns, as delivery does."""

from django.db import migrations, models

BATCH = 2000


def fill(apps, schema_editor):
    from academail.store import sortkeys

    connection = schema_editor.connection
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                'SELECT id, subject, message_id, in_reply_to, "references" FROM store_content'
                " WHERE id > %s ORDER BY id LIMIT %s",
                [last, BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            values = []
            for pk, subject, message_id, in_reply_to, references in rows:
                keys = sortkeys.thread_keys(subject or "", message_id or "", in_reply_to or "", references or "")
                if keys != (0, False, b""):
                    values.append([keys.message_id, keys.reply, keys.references, pk])
            cursor.executemany(
                "UPDATE store_message SET thread_msgid = %s, thread_reply = %s, thread_refs = %s WHERE content_id = %s",
                values,
            )
            last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ('store', '0018_search_ids'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='thread_msgid',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='message',
            name='thread_refs',
            field=models.BinaryField(blank=True, default=b''),
        ),
        migrations.AddField(
            model_name='message',
            name='thread_reply',
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name='message',
            name='message_date_sort',
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['mailbox', 'date_sort', 'uid', 'subject_sort', 'thread_msgid', 'thread_reply', 'thread_refs'], name='message_thread'),
        ),
    ]
