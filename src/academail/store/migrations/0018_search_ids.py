"""SearchIds: the folded Message-ID, In-Reply-To and References of each
Content in a narrow table, with the plain Message-ID indexed, so SEARCH HEADER
on them is an index lookup or a short scan rather than a regular expression
over every header (bench/imap_search.py: 2.8 s at 100,000 messages). Filled
from SearchText's folded header lines, which hold the same text."""

import django.db.models.deletion
from django.db import migrations, models

BATCH = 2000


def fill(apps, schema_editor):
    from academail.store import search

    connection = schema_editor.connection
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT c.id, t.headers FROM store_content c LEFT JOIN store_searchtext t ON t.content_id = c.id"
                " WHERE c.id > %s ORDER BY c.id LIMIT %s",
                [last, BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            values = []
            for pk, headers in rows:
                columns = search.id_columns(headers or "")
                values.append(
                    [pk, columns["message_id"], columns["message_id_key"], columns["in_reply_to"], columns["references"]]
                )
            cursor.executemany(
                'INSERT INTO store_searchids (content_id, message_id, message_id_key, in_reply_to, "references")'
                " VALUES (%s, %s, %s, %s, %s)",
                values,
            )
            last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ('store', '0017_personal_seen'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchIds',
            fields=[
                ('content', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='store.content')),
                ('message_id', models.TextField(blank=True)),
                ('message_id_key', models.CharField(blank=True, db_index=True, max_length=998, null=True)),
                ('in_reply_to', models.TextField(blank=True)),
                ('references', models.TextField(blank=True)),
            ],
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
