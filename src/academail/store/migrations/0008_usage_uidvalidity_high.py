"""Usage.uidvalidity_high: the highest UIDVALIDITY an account ever handed out, so
a mailbox deleted and re-created within the same second gets a new one
(RFC 3501 §2.3.1.1). Existing rows start from the account's current maximum."""

from __future__ import annotations

from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def fill_high(apps, schema_editor):  # type: ignore[no-untyped-def]
    Usage = apps.get_model("store", "Usage")
    Mailbox = apps.get_model("store", "Mailbox")
    highest = (
        Mailbox.objects.filter(account_id=OuterRef("account_id")).values("account_id")
        .annotate(m=Max("uidvalidity")).values("m")
    )
    Usage.objects.update(uidvalidity_high=Coalesce(Subquery(highest[:1]), Value(0)))


class Migration(migrations.Migration):
    dependencies = [("store", "0007_content_sent_day")]

    operations = [
        migrations.AddField(
            model_name="usage", name="uidvalidity_high", field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(fill_high, migrations.RunPython.noop),
    ]
