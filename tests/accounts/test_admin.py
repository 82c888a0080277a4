"""The account admin: NUMEN search by hash, never the NUMEN in clear, creation
through the service."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from academail.accounts.models import Account, Alias, Role, Status
from academail.accounts.services import check_create_account

pytestmark = pytest.mark.django_db

NUMEN = "11E9501234ABC"


@pytest.fixture
def admin_client() -> Client:
    admin = Account.objects.create_superuser(
        "admin", "un mot de passe solide", first_name="Ada", last_name="Admin",
        address="admin@ac-demo.fr", quota_bytes=1,
    )
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def julie() -> Account:
    return check_create_account(first_name="Julie", last_name="Martin", numen=NUMEN,
                                establishment="Lycée Victor Hugo")


def changelist(client: Client, q: str) -> str:
    response = client.get(reverse("admin:accounts_account_changelist"), {"q": q})
    assert response.status_code == 200
    return response.content.decode()


def test_search_by_numen_finds_by_hash(admin_client: Client, julie: Account) -> None:
    check_create_account(first_name="Paul", last_name="Durand", numen="11E9501234ABD")
    page = changelist(admin_client, "11 e 950 1234 abc")
    assert "jmartin" in page
    assert "pdurand" not in page
    assert NUMEN not in page.replace("11 e 950 1234 abc", "")


def test_search_by_name_and_address(admin_client: Client, julie: Account) -> None:
    assert "jmartin" in changelist(admin_client, "Martin")
    assert "jmartin" in changelist(admin_client, "julie.martin@")
    assert "jmartin" not in changelist(admin_client, "Durand")


def test_change_page_never_shows_the_numen(admin_client: Client, julie: Account) -> None:
    response = admin_client.get(reverse("admin:accounts_account_change", args=[julie.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "renseigné" in page
    assert NUMEN not in page and NUMEN[2:] not in page
    assert "jmartin" in page


def test_add_goes_through_the_service(admin_client: Client, julie: Account) -> None:
    response = admin_client.post(
        reverse("admin:accounts_account_add"),
        {"first_name": "Julie", "last_name": "Martin", "numen": "11E9501234ABE",
         "role": Role.STAFF, "status": Status.PENDING, "establishment": "",
         "secondary_address": "", "quota_bytes": ""},
    )
    assert response.status_code == 302, response.content.decode()
    created = Account.objects.get(identifier="jmartin1")
    assert created.address == "julie.martin1@ac-demo.fr"
    assert created.mailboxes.exists()


def test_add_refuses_a_used_or_bad_numen(admin_client: Client, julie: Account) -> None:
    for numen, message in [(NUMEN, "déjà attribué"), ("11E9501234AB", "vous en avez saisi 12")]:
        response = admin_client.post(
            reverse("admin:accounts_account_add"),
            {"first_name": "Paul", "last_name": "Durand", "numen": numen,
             "role": Role.STAFF, "status": Status.PENDING},
        )
        assert response.status_code == 200
        assert message in response.content.decode()
    assert Account.objects.count() == 2


def test_alias_inline_refuses_a_taken_address(admin_client: Client, julie: Account) -> None:
    paul = check_create_account(first_name="Paul", last_name="Durand", numen=None)
    url = reverse("admin:accounts_account_change", args=[paul.pk])
    page = admin_client.get(url).content.decode()
    assert "aliases-TOTAL_FORMS" in page
    data = {
        "first_name": "Paul", "last_name": "Durand", "establishment": "", "quota_bytes": paul.quota_bytes,
        "secondary_address": "", "role": Role.STAFF, "status": Status.PENDING,
        "aliases-TOTAL_FORMS": "1", "aliases-INITIAL_FORMS": "0",
        "aliases-MIN_NUM_FORMS": "0", "aliases-MAX_NUM_FORMS": "1000",
        "aliases-0-address": "Julie.Martin@ac-demo.fr", "aliases-0-id": "", "aliases-0-account": paul.pk,
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "déjà utilisée" in response.content.decode()
    data["aliases-0-address"] = "P.Durand@ac-demo.fr"
    response = admin_client.post(url, data)
    assert response.status_code == 302
    assert Alias.objects.get(account=paul).address == "p.durand@ac-demo.fr"


def test_admin_french_agrees_with_our_model_names(admin_client: Client) -> None:
    """Django's French admin agrees in gender with names it cannot know
    ("Supprimer les limitations de connexion sélectionnés"): config/admin_locale
    words it without agreement; our own messages are real plurals, not "(s)";
    every plural name is a plural."""
    from academail.accounts.models import JournalEntry, Throttle
    from academail.delivery.models import CapturedMessage

    Throttle.objects.create(key="ip:192.0.2.1", failures=7)
    Throttle.objects.create(key="ip:192.0.2.2", failures=9)
    url = reverse("admin:accounts_throttle_changelist")
    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Supprimer la sélection (limitations de connexion)" in page
    assert "sélectionnés" not in page
    one = admin_client.post(url, {"action": "clear", "_selected_action": [Throttle.objects.first().pk]}, follow=True)
    assert "1 limitation levée." in one.content.decode()
    Throttle.objects.create(key="ip:192.0.2.3", failures=7)
    two = admin_client.post(url, {"action": "clear", "_selected_action": list(Throttle.objects.values_list("pk", flat=True))},
                            follow=True)
    assert "2 limitations levées." in two.content.decode() and "(s)" not in two.content.decode()
    missing = admin_client.get(reverse("admin:accounts_throttle_change", args=[999999]), follow=True).content.decode()
    assert "Aucun objet « limitation de connexion » n’a l’identifiant « 999999 »" in missing
    assert str(JournalEntry._meta.verbose_name_plural) == "entrées du journal"
    assert str(CapturedMessage._meta.verbose_name_plural) == "courriers sortants retenus"


def test_admin_column_titles_follow_the_language(admin_client: Client, julie: Account) -> None:
    """Our own column titles, values and actions go through gettext: French,
    and English from the catalogue."""
    url = reverse("admin:accounts_account_changelist")
    french = admin_client.get(url).content.decode()
    assert "Nom complet" in french and "Full name" not in french
    assert "Réinitialiser la double authentification (téléphone perdu)" in french
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the language selector's choice
    english = admin_client.get(url).content.decode()
    assert "Full name" in english and "Nom complet" not in english
    assert "Reset two-factor authentication (lost phone)" in english
    change = admin_client.get(reverse("admin:accounts_account_change", args=[julie.pk])).content.decode()
    assert "Recovery" in change and "Récupération" not in change and "on file" in change
    from django.utils import timezone

    from academail.delivery.models import HeldMessage
    HeldMessage.objects.create(created_at=timezone.now(), account_id=julie.pk, identifier=julie.identifier,
                               origin="webmail", recipients=["a@example.org"], reason="limite", raw=b"x")
    held = admin_client.get(reverse("admin:delivery_heldmessage_changelist")).content.decode()
    assert "Recipients" in held and "Release (send) the selected messages" in held
