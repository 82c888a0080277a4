"""The activity journal: what is recorded, who reads it, keyset pages, purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from academail.accounts.journal import PAGE_SIZE, access_journal_page, do_purge_journal, do_record
from academail.accounts.models import EventKind, JournalEntry
from academail.accounts.services import check_create_account, check_sign_in
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_ins_and_failures_are_recorded(person):
    check_sign_in("jmartin", "mauvais", protocol="imap", remote_addr="192.0.2.1", client_name="K-9 Mail")
    check_sign_in("jmartin", PASSWORD, protocol="smtp", remote_addr="2001:db8::1", client_name="Thunderbird")
    kinds = list(JournalEntry.objects.filter(account=person).order_by("id").values_list("kind", "protocol", "remote_addr"))
    assert kinds == [("signin_failed", "imap", "192.0.2.1"), ("signin", "smtp", "2001:db8::1")]
    assert JournalEntry.objects.filter(device__contains="Thunderbird").exists()


def test_security_page_shows_own_journal_paginated(client, person):
    other = check_create_account(first_name="Paul", last_name="Durand", numen="11E9501234ABD")
    do_record(other, EventKind.SIGNIN, protocol="web", remote_addr="203.0.113.99")
    for n in range(PAGE_SIZE + 5):
        do_record(person, EventKind.SIGNIN_FAILED, protocol="imap", remote_addr=f"192.0.2.{n + 1}")
    client.force_login(person)
    first = client.get(reverse("accounts:security")).content.decode()
    assert "Journal d'activité" in first and "203.0.113.99" not in first
    assert "192.0.2.30" in first and "192.0.2.1<" not in first
    page = access_journal_page(person)
    assert len(page.entries) == PAGE_SIZE and page.next_before
    second = client.get(reverse("accounts:security"), {"avant": page.next_before}).content.decode()
    assert "192.0.2.1<" in second and "Plus récents" in second
    assert access_journal_page(person, before=page.next_before).next_before is None


def test_purge_after_twelve_months(person):
    old = do_record(person, EventKind.SIGNIN)
    JournalEntry.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=366))
    recent = do_record(person, EventKind.SIGNIN)
    assert do_purge_journal(timezone.now()) == 1
    assert list(JournalEntry.objects.values_list("pk", flat=True)) == [recent.pk]
