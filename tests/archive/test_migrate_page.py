"""The secretariat sees, on an account's page, the migrations from the
previous platform into it: state, totals, last result and the messages in
error; a secretary of another établissement gets a 404."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from academail.archive.models import ImapMigration, MigrationFailure, MigrationFolder

pytestmark = pytest.mark.django_db


def test_the_account_page_shows_the_migration_and_its_errors(secretary_client, claire, make_account):
    page = reverse("assistance:secretariat_account", args=[claire.pk])
    assert "Aucune migration vers ce compte" in secretary_client.get(page).content.decode()

    migration = ImapMigration.objects.create(
        account=claire, source="imap.ancien.fr:993/cmoreau", state="stopped", copied=1234,
        copied_bytes=52_428_800, failed=1, runs=2,
        result="La boîte academail est pleine : augmentez son quota (ou libérez de la place) puis relancez.",
    )
    folder = MigrationFolder.objects.create(migration=migration, source_name="Réunions", target_name="Réunions",
                                            uidvalidity=7, last_uid=1300)
    MigrationFailure.objects.create(folder=folder, uidvalidity=7, uid=812, size=70_000_000,
                                    reason="message trop gros (66 Mo, au plus 64 Mo)")
    html = secretary_client.get(page).content.decode()
    assert "imap.ancien.fr:993/cmoreau — Interrompue" in html
    assert "1234 message(s) copié(s) (50,0\xa0Mio), 1 en erreur, en 2 passage(s)." in html
    assert "augmentez son quota" in html
    assert "<td>Réunions</td><td>812</td><td>message trop gros (66 Mo, au plus 64 Mo)</td>" in html

    elsewhere = make_account("Yves", "Autre", role="secretariat", establishment="Collège Voltaire")
    other = Client()
    other.force_login(elsewhere)
    assert other.get(page).status_code == 404
