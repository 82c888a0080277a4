"""The first helpdesk form's requests become tickets when the helpdesk
arrives (accounts.AssistanceRequest -> assistance.Ticket)."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

OLD = [("accounts", "0004_alter_journalentry_kind"), ("assistance", "0001_initial")]
NEW = [("accounts", "0005_helpdesk_moves_to_assistance"), ("assistance", "0002_from_accounts_requests")]


def test_requests_become_tickets(migrator):
    executor = MigrationExecutor(connection)
    executor.migrate(OLD)
    old_apps = executor.loader.project_state(OLD).apps
    Account = old_apps.get_model("accounts", "Account")
    Request = old_apps.get_model("accounts", "AssistanceRequest")
    account = Account.objects.create(identifier="jmartin", first_name="Julie", last_name="Martin",
                                     address="julie.martin@ac-demo.fr", quota_bytes=1, password="!")
    created = timezone.now()
    Request.objects.create(reason="numen", identifier="jmartin", account=account, numen_verified=True,
                           name="Julie Martin", contact="06 12 34 56 78", message="NUMEN perdu", created_at=created)
    Request.objects.create(reason="other", name="Paul", contact="Paul@Exemple.fr", created_at=created,
                           handled_at=created)
    executor = MigrationExecutor(connection)
    executor.migrate(NEW)
    new_apps = executor.loader.project_state(NEW).apps
    Ticket = new_apps.get_model("assistance", "Ticket")
    first, second = Ticket.objects.order_by("id")
    assert first.category == "numen-perdu" and first.account_id == account.pk and first.identity_verified
    assert first.contact_phone == "06 12 34 56 78" and first.status == "new" and first.due_at is not None
    assert new_apps.get_model("assistance", "Entry").objects.get(ticket_id=first.pk).body == "NUMEN perdu"
    assert second.status == "closed" and second.contact_email == "paul@exemple.fr"
    assert new_apps.get_model("assistance", "CannedAnswer").objects.count() >= 5
