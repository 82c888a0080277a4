"""Message.from_sort: the RFC 5256 §3 FROM key (the first From address's local
part, ASCII-lowered: ``store.sortkeys.from_key``) with an index (mailbox,
from_sort, uid), so SORT (FROM) is an index range instead of computing the
local part from each message's content row (bench/imap_sort.py). Filled from
each content's ``from_addr``, as delivery does."""

from django.db import migrations, models

BATCH = 2000


def fill(apps, schema_editor):
    from academail.store import sortkeys

    connection = schema_editor.connection
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT id, from_addr FROM store_content WHERE id > %s ORDER BY id LIMIT %s", [last, BATCH]
            )
            rows = cursor.fetchall()
            if not rows:
                return
            values = [[key, pk] for pk, address in rows if (key := sortkeys.from_key(address or ""))]
            cursor.executemany("UPDATE store_message SET from_sort = %s WHERE content_id = %s", values)
            last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ('store', '0019_thread_keys'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='from_sort',
            field=models.CharField(blank=True, default='', max_length=320),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['mailbox', 'from_sort', 'uid'], name='message_from_sort'),
        ),
    ]
