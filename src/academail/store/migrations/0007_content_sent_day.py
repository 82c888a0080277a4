"""Content.sent_day: the Date header's own day, for SENTON/SENTBEFORE/SENTSINCE
(RFC 3501 §6.4.4). Existing rows are filled from the envelope's Date string."""

from __future__ import annotations

from email.utils import parsedate_tz

from django.db import migrations, models


def fill_sent_day(apps, schema_editor):  # type: ignore[no-untyped-def]
    import datetime as dt

    Content = apps.get_model("store", "Content")
    batch = []
    rows = Content.objects.filter(date__isnull=False).values_list("id", "structure").iterator(chunk_size=2000)
    for pk, structure in rows:
        raw = ((structure or {}).get("envelope") or {}).get("date")
        parts = parsedate_tz(raw) if isinstance(raw, str) else None
        if not parts:
            continue
        try:
            day = dt.date(parts[0], parts[1], parts[2])
        except ValueError:
            continue
        batch.append(Content(id=pk, sent_day=day))
        if len(batch) >= 2000:
            Content.objects.bulk_update(batch, ["sent_day"])
            batch = []
    if batch:
        Content.objects.bulk_update(batch, ["sent_day"])


class Migration(migrations.Migration):
    dependencies = [("store", "0006_message_saved_at")]

    operations = [
        migrations.AddField(model_name="content", name="sent_day", field=models.DateField(blank=True, null=True)),
        migrations.RunPython(fill_sent_day, migrations.RunPython.noop),
    ]
