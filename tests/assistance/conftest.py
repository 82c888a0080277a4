from __future__ import annotations

import re

import pytest
from django.test import Client

PASSWORD = "Vache-Rouge7!Orage"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PUBLIC_URL = "http://testserver"


@pytest.fixture
def agent(make_account):
    account = make_account("Sophie", "Agent", role="support", establishment="Rectorat")
    account.set_password(PASSWORD)
    account.save()
    return account


@pytest.fixture
def other_agent(make_account):
    return make_account("Marc", "Renfort", role="support", establishment="Rectorat")


@pytest.fixture
def agent_client(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


@pytest.fixture
def claire(make_account):
    """A primary-school teacher who lost her NUMEN and no longer reaches her
    secondary address."""
    account = make_account("Claire", "Moreau", numen="11E1234567ABC", establishment="École Jean Jaurès",
                           secondary_address="claire.ancienne@exemple.fr")
    account.secondary_verified = True
    account.set_password("Ancien-Mot-de-passe-2025!")
    account.save()
    return account


@pytest.fixture
def secretary(make_account):
    account = make_account("Nadia", "Secretaire", role="secretariat", establishment="École Jean Jaurès")
    return account


@pytest.fixture
def secretary_client(secretary) -> Client:
    client = Client()
    client.force_login(secretary)
    return client


def links_in(message) -> list[str]:
    return re.findall(r"https?://\S+", message.body)


def ticket_form(**fields) -> dict:
    data = {
        "category": "numen-perdu", "subject": "", "message": "J'ai perdu mon NUMEN et je ne peux plus me connecter.",
        "name": "Claire Moreau", "identifier": "cmoreau", "establishment": "École Jean Jaurès",
        "numen": "", "contact_email": "claire.nouvelle@exemple.fr", "contact_phone": "",
    }
    data.update(fields)
    return data
