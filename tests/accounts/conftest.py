from __future__ import annotations

import re
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "accounts"
PASSWORD = "Vache-Rouge7!Orage"
OTHER_PASSWORD = "Lune#Bleue42Piano"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """Argon2 at its production cost makes every sign-in ~0.1 s; the policy
    tests that need Argon2 itself switch it back."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def person(db):
    """An active account with a password and a verified secondary address."""
    from academail.accounts.models import Status
    from academail.accounts.services import check_create_account

    account = check_create_account(
        first_name="Julie", last_name="Martin", numen="11E9501234ABC", status=str(Status.ACTIVE),
        secondary_address="julie.perso@exemple.fr",
    )
    account.secondary_verified = True
    account.set_password(PASSWORD)
    account.save()
    return account


@pytest.fixture
def pending(db):
    from academail.accounts.services import check_create_account

    return check_create_account(first_name="Paul", last_name="Durand", numen="11E9501234ABD")


def code_in(message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def without_csrf(html: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html.decode())
