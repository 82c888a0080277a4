"""The password policy: one validator, every rule, the history, Argon2id, the
live meter's endpoint, and the admin using the same policy."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from academail.accounts.models import Account, PasswordHistory
from academail.accounts.passwords import contains_date, evaluate
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def problems(password, user=None):
    return " ".join(evaluate(password, user).problems)


@pytest.mark.parametrize(("password", "expected"), [
    ("Court1!", "Au moins 12 caractères"),
    ("tout-en-minuscules-42", "une majuscule"),
    ("TOUT-EN-MAJUSCULES-42", "une minuscule"),
    ("Sans-Chiffre-Aucun!", "un chiffre"),
    ("SansSymbole12345abc", "un symbole"),
    ("Azerty123456!", "les plus courants"),
    ("M0tdepasse!!99", "les plus courants"),
    ("Password123!", "les plus courants"),
    ("Aaaaaaaaaaa1!", "trop facile à deviner"),
])
def test_rules(password, expected):
    assert expected in problems(password)


@pytest.mark.parametrize("password", ["Vacances1987!x", "Cle-12/05/1987!", "Zorro#120587ab", "Zorro#12051987ab"])
def test_dates_are_refused(password):
    assert contains_date(password)
    assert "date" in problems(password)


@pytest.mark.parametrize("password", ["Julie-Oiseau42!", "Xx!martin9Zorro", "Jmartin#Vole42", "11e9501234abc!Q"])
def test_personal_data_is_refused(person, password):
    assert "ni votre nom" in problems(password, person)


def test_a_good_password_passes(person):
    assert evaluate("L14j,jpàlmaP!", person).ok
    validate_password(PASSWORD + "x", person)


def test_no_reuse_of_the_last_five(person):
    passwords = [f"Etoile-Filante{n}#Nord" for n in range(6)]
    for password in passwords:
        person.set_password(password)
        person.save()
    assert PasswordHistory.objects.filter(account=person).count() == 5
    for recent in passwords[1:]:
        with pytest.raises(ValidationError, match="déjà utilisé"):
            validate_password(recent, person)
    validate_password(passwords[0], person)  # the sixth back is allowed again


def test_argon2id_is_the_hasher(settings, person):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    person.set_password(PASSWORD)
    person.save()
    assert person.password.startswith("argon2$argon2id$")


def test_strength_endpoint_uses_the_policy_with_the_person(client, person):
    client.force_login(person)
    url = reverse("accounts:password_strength")
    weak = client.post(url, {"password": "Martin-Julie-99!"}).json()
    assert not weak["ok"] and weak["score"] <= 2 and any("nom" in p for p in weak["problems"])
    strong = client.post(url, {"password": "L14j,jpàlmaP!"}).json()
    assert strong == {"score": 4, "label": "Très fort", "ok": True, "problems": []}
    assert client.get(url).status_code == 405


def test_admin_password_forms_apply_the_policy(client):
    admin = Account.objects.create_superuser(
        "admin", PASSWORD, first_name="Ada", last_name="Admin", address="admin@ac-demo.fr", quota_bytes=1,
    )
    client.force_login(admin)
    page = client.post(reverse("admin:password_change"), {
        "old_password": PASSWORD, "new_password1": "admin", "new_password2": "admin",
    }).content.decode()
    assert "Au moins 12 caractères" in page
