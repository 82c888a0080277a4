"""Message.date_sort: the RFC 5256 §3 DATE sort key (the Date header, else
INTERNALDATE) kept on each message with an index (mailbox, date_sort, uid), so
SORT (DATE) is an index range and THREAD orders without reading the contents
(bench/imap_sort.py). Existing rows are filled from their content's date before
the index is built (one pass, cheaper than maintaining the index meanwhile)."""

from django.db import migrations, models

FILL = (
    "UPDATE store_message SET date_sort = COALESCE("
    "(SELECT c.date FROM store_content c WHERE c.id = store_message.content_id), internaldate)"
)


class Migration(migrations.Migration):

    dependencies = [
        ('store', '0015_search_fields'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='date_sort',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['mailbox', 'date_sort', 'uid'], name='message_date_sort'),
        ),
    ]
