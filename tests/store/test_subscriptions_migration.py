"""Migration 0011 copies the subscribed mailboxes into the subscription list."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from academail.store.mailboxes import subscribed_names

OLD = [("store", "0010_search_text")]
NEW = [("store", "0011_subscriptions")]


def test_subscribed_mailboxes_become_subscriptions(make_account, migrator):
    account = make_account()  # provisioned with today's code: INBOX, Envoyés...
    executor = MigrationExecutor(connection)
    executor.migrate(OLD)
    old_apps = executor.loader.project_state(OLD).apps
    Mailbox = old_apps.get_model("store", "Mailbox")
    Mailbox.objects.filter(account_id=account.pk).update(subscribed=True)
    Mailbox.objects.create(account_id=account.pk, name="Projets", uidvalidity=7, subscribed=True)
    Mailbox.objects.create(account_id=account.pk, name="Brouillons perso", uidvalidity=8, subscribed=False)
    executor = MigrationExecutor(connection)
    executor.migrate(NEW)
    names = subscribed_names(account.pk)
    assert "Projets" in names and "INBOX" in names and "Brouillons perso" not in names
