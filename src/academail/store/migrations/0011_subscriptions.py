"""Subscriptions become their own list of names (RFC 3501 §6.3.6), so DELETE can
keep them (§6.3.4); the subscribed mailboxes of today are copied into it."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def copy_subscriptions(apps, schema_editor):  # type: ignore[no-untyped-def]
    Mailbox = apps.get_model("store", "Mailbox")
    Subscription = apps.get_model("store", "Subscription")
    rows = Mailbox.objects.filter(subscribed=True).values_list("account_id", "name").iterator(chunk_size=5000)
    batch = []
    for account_id, name in rows:
        batch.append(Subscription(account_id=account_id, name=name))
        if len(batch) >= 5000:
            Subscription.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    Subscription.objects.bulk_create(batch, ignore_conflicts=True)


def copy_back(apps, schema_editor):  # type: ignore[no-untyped-def]
    Mailbox = apps.get_model("store", "Mailbox")
    Subscription = apps.get_model("store", "Subscription")
    Mailbox.objects.update(subscribed=False)
    for account_id, name in Subscription.objects.values_list("account_id", "name").iterator(chunk_size=5000):
        Mailbox.objects.filter(account_id=account_id, name=name).update(subscribed=True)


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0010_search_text"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Subscription",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=512)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("account", "name"), name="subscription_unique_name")],
            },
        ),
        migrations.RunPython(copy_subscriptions, copy_back),
        migrations.RemoveField(model_name="mailbox", name="subscribed"),
    ]
