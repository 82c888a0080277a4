"""A successful mail sign-in's record (device sighting, journal line) commits
without waiting for the disk (``accounts.lazycommit``), is visible at once, and
leaves the connection as durable as before for everything else."""

from __future__ import annotations

import pytest
from django.db import connection

from academail.accounts.models import EventKind, JournalEntry
from academail.accounts.services import check_sign_in
from tests.accounts.conftest import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_a_mail_sign_in_is_journaled_and_the_connection_stays_durable(person):
    result = check_sign_in(person.identifier, PASSWORD, protocol="imap", remote_addr="192.0.2.7", client_name="K-9")
    assert result.account == person
    assert JournalEntry.objects.filter(account=person, kind__in=[EventKind.SIGNIN, EventKind.NEW_DEVICE],
                                       protocol="imap").count() == 1
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 2  # FULL, as every connection is opened (config.settings)
        else:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"  # SET LOCAL ended with its transaction
