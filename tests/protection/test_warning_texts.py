"""Warnings are stored as codes and parameters and put into words when a
message is opened, in the reader's language (French first, English
second); rows stored in French only by the earlier version are migrated."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from academail.mime.parse import parse_message
from academail.protection.authresults import Auth
from academail.protection.phishing import analyse
from academail.protection.texts import TEXTS, describe
from academail.protection.warnings import do_remember, for_message
from tests.e2e.test_protection_browser import LURE

OLD = [("protection", "0004_token_counts_index")]
NEW = [("protection", "0005_warnings_as_codes")]

# Two rows as the previous version stored them: French words, no parameters.
LEGACY = {
    "warnings": [
        {"code": "EXTERNAL", "level": "info", "title": "Message venant de l'extérieur de l'académie",
         "detail": "L'expéditeur, assistance@ac-dem0.fr, n'a pas d'adresse de l'académie. Si vous ne le connaissez "
                   "pas, ne cliquez pas sur ses liens et n'ouvrez pas ses pièces jointes sans raison."},
        {"code": "LOOKALIKE_DOMAIN", "level": "danger", "title": "Adresse d'expéditeur qui imite ac-demo.fr",
         "detail": "L'adresse assistance@ac-dem0.fr utilise le domaine ac-dem0.fr, qui ressemble à ac-demo.fr sans "
                   "l'être (lettres changées, ajoutées ou remplacées par des caractères d'autres alphabets). C'est "
                   "une technique courante d'hameçonnage."},
        {"code": "CREDENTIAL_LURE", "level": "danger", "title": "Demande d'identifiants : hameçonnage probable",
         "detail": "Ce message vous parle de « mot de passe », « numen » avec urgence et contient un lien ou un "
                   "formulaire vers l'extérieur. L'académie ne vous demande jamais votre mot de passe ni votre "
                   "NUMEN par message. Ne cliquez pas ; signalez-le."},
        {"code": "ATTACHMENT_EXECUTABLE", "level": "danger", "title": "Pièce jointe exécutable",
         "detail": "« facture.pdf.exe » est un programme ou un script (.exe) : l'ouvrir peut installer un "
                   "logiciel malveillant. Ne l'ouvrez pas."},
        {"code": "REPLY_TO", "level": "warning", "title": "Votre réponse partirait vers une autre adresse",
         "detail": "Texte réécrit à la main, qui ne suit aucun modèle."},
    ],
    "links": ["https://ac-dem0.fr.verif-compte.example/login"],
}


def test_stored_french_rows_become_codes_and_parameters(migrator):
    executor = MigrationExecutor(connection)
    executor.migrate(OLD)
    old = executor.loader.project_state(OLD).apps.get_model("protection", "MessageWarnings")
    old.objects.create(key="k" * 64, level="danger", data=LEGACY)
    executor = MigrationExecutor(connection)
    executor.migrate(NEW)
    new = executor.loader.project_state(NEW).apps.get_model("protection", "MessageWarnings")
    data = new.objects.get(key="k" * 64).data
    assert data["links"] == LEGACY["links"]
    assert data["warnings"] == [
        {"code": "EXTERNAL", "level": "info", "params": {"address": "assistance@ac-dem0.fr"}},
        {"code": "LOOKALIKE_DOMAIN", "level": "danger",
         "params": {"address": "assistance@ac-dem0.fr", "domain": "ac-dem0.fr", "real": "ac-demo.fr"}},
        {"code": "CREDENTIAL_LURE", "level": "danger", "params": {"terms": ["mot de passe", "numen"], "urgent": True}},
        {"code": "ATTACHMENT_EXECUTABLE", "level": "danger", "params": {"name": "facture.pdf.exe", "ext": "exe"}},
        {"code": "REPLY_TO", "level": "warning", "params": {}},  # reworded by hand: the code stays
    ]


@pytest.mark.django_db
def test_one_stored_row_reads_in_french_and_in_english():
    findings = analyse(parse_message(LURE), LURE, Auth(present=True, spf="pass", dmarc="none"))
    stored = findings.to_json()
    assert all(set(w) == {"code", "level", "params"} for w in stored["warnings"])  # no words stored
    do_remember("a" * 64, b"", findings)
    with translation.override("fr"):
        french = {w["code"]: w for w in for_message("a" * 64, b"").warnings}
    with translation.override("en"):
        english = {w["code"]: w for w in for_message("a" * 64, b"").warnings}
    assert french["LOOKALIKE_DOMAIN"]["title"] == "Adresse d'expéditeur qui imite ac-demo.fr"
    assert english["LOOKALIKE_DOMAIN"]["title"] == "Sender address imitating ac-demo.fr"
    assert "ac-dem0.fr" in english["LOOKALIKE_DOMAIN"]["detail"]
    assert english["CREDENTIAL_LURE"]["detail"] != french["CREDENTIAL_LURE"]["detail"]


def test_every_text_is_translated_and_takes_its_parameters():
    for code, texts in TEXTS.items():
        with translation.override("fr"):
            french = [str(t) for t in texts]
        with translation.override("en"):
            english = [str(t) for t in texts]
        for fr, en in zip(french, english, strict=True):
            assert fr != en, f"{code}: « {fr} » is not in the English catalogue"
            assert sorted(re.findall(r"%\((\w+)\)s", fr)) == sorted(re.findall(r"%\((\w+)\)s", en)), code


def test_missing_parameters_and_unknown_codes_never_fail():
    title, detail = describe("LINK_LOOKALIKE", {})
    assert "…" in title and "…" in detail
    assert describe("A_CODE_FROM_A_NEWER_VERSION", {"x": 1})[0]
