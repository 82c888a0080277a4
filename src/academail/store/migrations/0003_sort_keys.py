"""Sort keys on each message (sender, base subject) and the indexes that let the
webmail list a folder sorted by date, sender, subject or size with keyset
pagination. Existing rows get their keys from their content, in batches."""

from django.db import migrations, models

BATCH = 2000


def fill_keys(apps, schema_editor):
    from academail.store.sortkeys import sender_key, subject_key

    Message = apps.get_model("store", "Message")
    last = 0
    while True:
        rows = list(
            Message.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "content__from_name", "content__from_addr", "content__subject")[:BATCH]
        )
        if not rows:
            return
        updates = [
            Message(pk=pk, sender_sort=sender_key(name, addr), subject_sort=subject_key(subject))
            for pk, name, addr, subject in rows
        ]
        Message.objects.bulk_update(updates, ["sender_sort", "subject_sort"])
        last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ("store", "0002_search_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="sender_sort",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.AddField(
            model_name="message",
            name="subject_sort",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["mailbox", "sender_sort", "uid"], name="message_sender_sort"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["mailbox", "subject_sort", "uid"], name="message_subject_sort"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["mailbox", "size", "uid"], name="message_size_sort"),
        ),
    ]
