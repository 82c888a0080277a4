"""The directory the lists read: UAI code and function come in through the
CSV import (French column names, folded), a bad UAI rejects its line, and a
département list is the range of its UAI codes, served by the index."""

from __future__ import annotations

import pytest
from django.db import connection

from academail.accounts.importer import import_accounts
from academail.accounts.models import Account
from academail.lists.members import directory_accounts
from academail.lists.models import Kind, MailingList

pytestmark = pytest.mark.django_db


def test_import_fills_uai_and_function_and_rejects_a_bad_uai():
    data = (
        "Nom;Prénom;NUMEN;Établissement;UAI;Fonction\n"
        "Durand;Paul;11E0000000101;Collège Jean Moulin;0341234x;Professeur\n"
        "Moreau;Claire;11E0000000102;Collège Jean Moulin;0341234X;Principale\n"
        "Petit;Léa;11E0000000103;Collège Jean Moulin;34-1234;Enseignante\n"
        "Roux;Marc;11E0000000104;Collège Jean Moulin;0341234X;Astronaute\n"
    ).encode()
    report = import_accounts(data)
    assert report.created == 2
    assert [r.line_number for r in report.rejected] == [4, 5]
    assert "n'est pas un code UAI" in report.rejected[0].reason_fr
    assert "Fonction « Astronaute » inconnue" in report.rejected[1].reason_fr
    assert sorted(Account.objects.values_list("last_name", "uai", "function")) == [
        ("Durand", "0341234X", "teacher"), ("Moreau", "0341234X", "principal"),
    ]


def test_departement_list_selects_its_uai_range_through_the_index(make_account):
    make_account("Claire", "Moreau", uai="0341234X", function="principal")
    make_account("Marc", "Roux", uai="0349999Z", function="principal")
    make_account("Paul", "Gard", uai="0301234A", function="principal")  # Gard, another département
    make_account("Léa", "Petit", uai="0341234X", function="teacher")
    principals = MailingList(address="principaux.034@ac-demo.fr", name="Chefs d'établissement de l'Hérault",
                             kind=Kind.DIRECTORY, dir_departement="034", dir_function="principal")
    rows = directory_accounts(principals)
    assert sorted(rows.values_list("last_name", flat=True)) == ["Moreau", "Roux"]
    everyone = MailingList(address="tous.0341234x@ac-demo.fr", name="Tout le collège", kind=Kind.DIRECTORY,
                           dir_uai="0341234X")
    assert sorted(directory_accounts(everyone).values_list("last_name", flat=True)) == ["Moreau", "Petit"]
    if connection.vendor == "sqlite":
        for query, index in ((rows, "accounts_directory_idx"), (directory_accounts(everyone), "accounts_directory_all_idx")):
            with connection.cursor() as cursor:
                sql, params = query.values_list("pk").query.sql_with_params()
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert index in plan, plan
