"""SearchFields: the five folded fields SEARCH names move from SearchText into a
narrow table of their own, so a FROM/TO/SUBJECT scan reads a few thousand pages
for 100,000 messages instead of one page per message (bench/imap_search.py)."""

import django.db.models.deletion
from django.db import migrations, models

COLUMNS = "content_id, subject, from_field, to_field, cc_field, bcc_field"
BACK = (
    "UPDATE store_searchtext SET subject = f.subject, from_field = f.from_field, to_field = f.to_field,"
    " cc_field = f.cc_field, bcc_field = f.bcc_field FROM store_searchfields f"
    " WHERE f.content_id = store_searchtext.content_id"
)


class Migration(migrations.Migration):

    dependencies = [
        ('store', '0014_recent'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchFields',
            fields=[
                ('content', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='store.content')),
                ('subject', models.TextField(blank=True)),
                ('from_field', models.TextField(blank=True)),
                ('to_field', models.TextField(blank=True)),
                ('cc_field', models.TextField(blank=True)),
                ('bcc_field', models.TextField(blank=True)),
            ],
        ),
        migrations.RunSQL(
            f"INSERT INTO store_searchfields ({COLUMNS}) SELECT {COLUMNS} FROM store_searchtext",  # noqa: S608 (fixed names)
            BACK,
        ),
        migrations.RemoveField(
            model_name='searchtext',
            name='bcc_field',
        ),
        migrations.RemoveField(
            model_name='searchtext',
            name='cc_field',
        ),
        migrations.RemoveField(
            model_name='searchtext',
            name='from_field',
        ),
        migrations.RemoveField(
            model_name='searchtext',
            name='subject',
        ),
        migrations.RemoveField(
            model_name='searchtext',
            name='to_field',
        ),
    ]
