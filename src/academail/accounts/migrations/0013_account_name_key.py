"""``Account.name_key``: the first and last names folded (no accents, case,
spaces or hyphens), indexed, so that an outside sender calling itself
"Helene MARTIN" is recognised as Hélène Martin (issue 13). Existing accounts
get their key here, in batches."""

from django.db import migrations, models

BATCH = 2000


def fill_keys(apps, schema_editor):
    from academail.accounts.naming import name_key

    Account = apps.get_model("accounts", "Account")
    last = 0
    while True:
        batch = list(Account.objects.filter(pk__gt=last).order_by("pk").only("pk", "first_name", "last_name")[:BATCH])
        if not batch:
            return
        for account in batch:
            account.name_key = name_key(account.first_name, account.last_name)
        Account.objects.bulk_update(batch, ["name_key"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [("accounts", "0012_alter_journalentry_kind")]

    operations = [
        migrations.AddField(
            model_name="account",
            name="name_key",
            field=models.CharField(blank=True, default="", editable=False, max_length=301),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["name_key"], name="accounts_name_key_idx"),
        ),
    ]
