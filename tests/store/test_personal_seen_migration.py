"""Migration 0016 adds per-person \\Seen (issue 19) without changing anyone's
"lu": every mailbox keeps the team's shared \\Seen until its manager chooses."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from academail.accounts.services import check_create_functional_account
from academail.store import seen
from academail.store.messages import special_mailbox
from academail.store.models import Flag
from tests.imap.helpers import deliver_to

OLD = [("store", "0016_date_sort")]
NEW = [("store", "0017_personal_seen")]


def test_existing_mailboxes_keep_the_team_seen(make_account, migrator):
    box = check_create_functional_account(name="Collège Jean Moulin", address="ce.0341234x@ac-demo.fr")
    member = make_account()
    deliver_to(box, subject="Inscription en 6e")
    deliver_to(box, subject="Demande de rendez-vous")
    executor = MigrationExecutor(connection)
    executor.migrate(OLD)
    old_apps = executor.loader.project_state(OLD).apps
    old_apps.get_model("store", "Message").objects.filter(uid=1, mailbox__account_id=box.pk).update(flags=Flag.SEEN)
    old_apps.get_model("store", "Mailbox").objects.filter(account_id=box.pk, special_use="inbox").update(unseen=1)
    MigrationExecutor(connection).migrate(NEW)
    inbox = special_mailbox(box.pk, "inbox")
    assert not seen.is_per_person(box.pk)
    assert seen.viewer(member.pk, box.pk) is None
    assert seen.unseen_counts(member.pk, [inbox]) == {}  # the folder's own count applies
    assert inbox.unseen == 1
