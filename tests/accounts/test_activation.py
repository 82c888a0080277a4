"""First connection: identifier + NUMEN -> password -> secondary address
verified by a 6-digit code -> active and signed in."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from academail.accounts.models import Account, EventKind, JournalEntry, Status
from tests.accounts.conftest import PASSWORD, code_in

pytestmark = pytest.mark.django_db
START = reverse("accounts:activation_start")


def start(client, identifier="pdurand", numen="11E9501234ABD"):
    return client.post(START, {"identifier": identifier, "numen": numen})


def choose_password(client, password=PASSWORD):
    return client.post(reverse("accounts:activation_password"), {"password1": password, "password2": password})


def test_whole_flow(client, pending):
    assert start(client, " PDurand ", "11 e 950-1234 abd").url == reverse("accounts:activation_password")
    page = client.get(reverse("accounts:activation_password")).content.decode()
    assert 'autocomplete="new-password"' in page and "premières lettres d&#x27;une phrase" in page
    assert choose_password(client).url == reverse("accounts:activation_secondary")
    response = client.post(reverse("accounts:activation_secondary"), {"address": "Paul.Perso@Exemple.fr"})
    assert response.url == reverse("accounts:activation_code")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["paul.perso@exemple.fr"]
    code_page = client.get(reverse("accounts:activation_code")).content.decode()
    assert 'autocomplete="one-time-code"' in code_page
    assert "envoyé à Paul.Perso@Exemple.fr." in code_page  # where to look, as typed (issue 20)
    response = client.post(reverse("accounts:activation_code"), {"code": code_in(message)})
    assert response.url == reverse("help:tour", args=[1])  # the guided tour of a first sign-in
    account = Account.objects.get(pk=pending.pk)
    assert account.status == Status.ACTIVE
    assert (account.secondary_address, account.secondary_verified) == ("paul.perso@exemple.fr", True)
    assert account.check_password(PASSWORD)
    assert JournalEntry.objects.filter(account=account, kind=EventKind.ACTIVATED).exists()
    assert client.get(reverse("accounts:security")).status_code == 200  # signed in


@pytest.mark.parametrize(("numen", "message"), [
    ("11E95O1234AB", "13 caractères ; vous en avez saisi 12"),
    ("IIE9501234ABD", "lettre I au lieu du chiffre 1"),
    ("11E9501234AB/", "n&#x27;est pas autorisé dans un NUMEN"),
])
def test_malformed_numen_gets_precise_advice(client, pending, numen, message):
    page = start(client, numen=numen).content.decode()
    assert message in page
    assert 'id="id_numen-error"' in page and 'aria-describedby="id_numen-hint id_numen-error"' in page


def test_wrong_pair_reveals_nothing(client, pending):
    unknown_identifier = start(client, identifier="nobody").content.decode()
    wrong_numen = start(client, numen="11E0000000000").content.decode()
    for page in (unknown_identifier, wrong_numen):
        assert "Identifiant ou NUMEN incorrect." in page


def test_already_active_account(client, person):
    page = start(client, "jmartin", "11E9501234ABC").content.decode()
    assert "déjà activé" in page


def test_the_policy_applies(client, pending):
    start(client)
    page = choose_password(client, "Paul-Durand2024!").content.decode()
    assert "ni votre nom" in page and "date" in page
    assert "Les deux mots de passe ne sont pas identiques." in client.post(
        reverse("accounts:activation_password"), {"password1": PASSWORD, "password2": PASSWORD + "x"}
    ).content.decode()


@pytest.mark.parametrize("address", ["paul.durand@ac-demo.fr", "Paul.Durand@AC-DEMO.FR", "pas-une-adresse"])
def test_secondary_address_must_be_outside_and_valid(client, pending, address):
    start(client)
    choose_password(client)
    page = client.post(reverse("accounts:activation_secondary"), {"address": address}).content.decode()
    assert "fr-error-text" in page
    assert not mail.outbox


def test_wrong_codes_then_the_code_is_spent(client, pending):
    start(client)
    choose_password(client)
    client.post(reverse("accounts:activation_secondary"), {"address": "paul@exemple.fr"})
    good = code_in(mail.outbox[0])
    bad = "000000" if good != "000000" else "111111"
    url = reverse("accounts:activation_code")
    assert "Il vous reste 4 essais" in client.post(url, {"code": bad}).content.decode()
    for _ in range(4):
        client.post(url, {"code": bad})
    assert "expiré" in client.post(url, {"code": good}).content.decode()
    assert Account.objects.get(pk=pending.pk).status == Status.PENDING


def test_steps_cannot_be_skipped(client, pending):
    assert client.get(reverse("accounts:activation_password")).url == START
    start(client)
    assert client.get(reverse("accounts:activation_code")).url == START


def test_numen_guessing_is_throttled(client, pending):
    for n in range(5):
        start(client, numen=f"11E000000000{n}")
    assert "Trop de tentatives" in start(client).content.decode()
