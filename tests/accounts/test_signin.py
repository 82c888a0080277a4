"""The sign-in page: one global error, identifiers trimmed, case-insensitive and
NFKC-folded, look-alikes refused, safe redirects, device cookie, headers."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from academail.accounts.models import EventKind, JournalEntry, WebSession
from tests.accounts.conftest import PASSWORD, without_csrf

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")


def post(client, identifier, password, **extra):
    return client.post(LOGIN, {"identifier": identifier, "password": password, **extra})


def test_page_has_fields_links_and_autocomplete(client):
    page = client.get(LOGIN)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'autocomplete="username"' in html and 'autocomplete="current-password"' in html
    for text in ("Première connexion", "Mot de passe oublié", "Contacter l'assistance"):
        assert text in html
    assert page["Content-Security-Policy"].startswith("default-src 'self'")
    assert page["Cache-Control"] == "no-store"
    assert page["X-Frame-Options"] == "DENY"


def test_right_password_signs_in_and_remembers_browser(client, person):
    response = post(client, "  JMartin ", PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("webmail:index")
    assert settings.DEVICE_COOKIE_NAME in response.cookies
    cookie = response.cookies[settings.DEVICE_COOKIE_NAME]
    assert cookie["httponly"] and cookie["max-age"] == settings.DEVICE_COOKIE_AGE
    assert WebSession.objects.filter(account=person, device__isnull=False).count() == 1
    assert JournalEntry.objects.filter(account=person, kind=EventKind.SIGNIN, protocol="web").exists()


@pytest.mark.parametrize("variant", ["ｊｍａｒｔｉｎ", "\u02b2martin", "JMARTIN\u00a0"])
def test_compatibility_forms_are_folded(client, person, variant):
    # Full-width letters, a modifier letter j, a trailing no-break space: NFKC.
    assert post(client, variant, PASSWORD).status_code == 302


@pytest.mark.parametrize("lookalike", ["jm\u0430rtin", "jmartin\u200b", "jmart\u0456n", "jmartın"])
def test_unicode_lookalikes_are_refused(client, person, lookalike):
    # Cyrillic а, a zero-width space, Ukrainian і, Turkish dotless ı: not
    # ASCII after NFKC, so refused rather than guessed.
    response = post(client, lookalike, PASSWORD)
    assert response.status_code == 200
    assert "Identifiant ou mot de passe incorrect." in response.content.decode()


def test_one_error_for_unknown_identifier_and_wrong_password(client, person):
    unknown = post(client, "personne", "Quelconque1!")
    wrong = post(client, "jmartin", "Quelconque1!")
    assert unknown.status_code == wrong.status_code == 200
    assert without_csrf(unknown.content).replace("personne", "X") == without_csrf(wrong.content).replace("jmartin", "X")
    html = without_csrf(wrong.content)
    assert html.count("Identifiant ou mot de passe incorrect.") == 1
    assert 'aria-describedby="global-error"' in html and 'aria-invalid="true"' in html
    # The identifier is kept, the password is not.
    assert 'value="jmartin"' in html and "Quelconque1!" not in html


def test_pending_account_cannot_sign_in(client, pending):
    pending.set_password(PASSWORD)
    pending.save()
    assert post(client, "pdurand", PASSWORD).status_code == 200


def test_next_is_followed_only_on_this_site(client, person):
    assert post(client, "jmartin", PASSWORD, next="/compte/sessions/").url == "/compte/sessions/"
    client.logout()
    assert post(client, "jmartin", PASSWORD, next="https://evil.example/").url == reverse("webmail:index")


def test_logout_needs_post(client, person):
    client.force_login(person)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("accounts:security")).status_code == 302


def test_csrf_is_enforced(person):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(LOGIN, {"identifier": "jmartin", "password": PASSWORD}).status_code == 403


def test_admin_signs_in_through_the_same_page(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url.startswith(LOGIN + "?next=")


def test_forged_device_cookie_is_ignored(client, person):
    client.cookies[settings.DEVICE_COOKIE_NAME] = "forged:value"
    response = post(client, "jmartin", PASSWORD)
    assert response.status_code == 302
    assert response.cookies[settings.DEVICE_COOKIE_NAME].value != "forged:value"
