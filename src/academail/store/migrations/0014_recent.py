"""Mailbox.first_recent_uid for \\Recent (RFC 3501 §2.3.2). Mail already there
was seen by earlier sessions (or by nobody who could tell): nothing becomes
\\Recent at once, only what arrives from now on."""

from django.db import migrations, models


def nothing_recent_yet(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("store", "Mailbox").objects.update(first_recent_uid=models.F("uidnext"))


class Migration(migrations.Migration):
    dependencies = [("store", "0013_grant_ends_at")]

    operations = [
        migrations.AddField(model_name="mailbox", name="first_recent_uid", field=models.BigIntegerField(default=1)),
        migrations.RunPython(nothing_recent_yet, migrations.RunPython.noop),
    ]
