"""Migration 0013 gives every existing account its folded name key, so the
phishing check recognises "Helene MARTIN" as Hélène Martin from the start."""

from __future__ import annotations

OLD = [("accounts", "0012_alter_journalentry_kind")]
NEW = [("accounts", "0013_account_name_key")]


def test_existing_accounts_get_their_name_key(migrator):
    apps = migrator.migrate(OLD)
    Account = apps.get_model("accounts", "Account")
    helene = Account.objects.create(identifier="hmartin", address="helene.martin@ac-demo.fr", first_name="Hélène",
                                    last_name="Martin", quota_bytes=1, password="!")
    anne = Account.objects.create(identifier="amdupont", address="anne-marie.dupont@ac-demo.fr",
                                  first_name="Anne-Marie", last_name="DUPONT-LÉGARÉ", quota_bytes=1, password="!")
    apps = migrator.migrate(NEW)
    Account = apps.get_model("accounts", "Account")
    keys = dict(Account.objects.filter(pk__in=[helene.pk, anne.pk]).values_list("identifier", "name_key"))
    assert keys == {"hmartin": "helene martin", "amdupont": "annemarie dupontlegare"}
