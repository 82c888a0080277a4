""""Configurer mon téléphone" shows the person's last refused IMAP/SMTP
sign-ins, why, and what to change. The failures are real: made by this test
over sockets against the IMAP and submission servers."""

from __future__ import annotations

import smtplib
import ssl

import pytest
from django.urls import reverse

from academail.web.helplinks import Articles, article_url
from tests.imap.conftest import PASSWORD as IMAP_PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture
def teacher(make_account):
    account = make_account("Claire", "Fabre")
    account.set_password(IMAP_PASSWORD)
    account.save()
    return account


def _setup_page(client, account) -> str:
    client.force_login(account)
    page = client.get(reverse("autoconfig:setup"))
    assert page.status_code == 200
    return page.content.decode()


def _imap_login(connect, account, password, *, name="iPhone Mail", tls=True):
    session = connect(tls=tls)
    session.cmd(f'ID ("name" "{name}")')
    response = session.cmd(f'LOGIN {account.identifier} "{password}"')
    session.close()
    return response


def test_account_password_where_an_app_password_is_required(settings, connect, teacher, client):
    settings.REQUIRE_APP_PASSWORDS = True
    response = _imap_login(connect, teacher, IMAP_PASSWORD)
    assert response.status == "NO"
    html = _setup_page(client, teacher)
    assert "iPhone Mail (IMAP)" in html
    assert "Le mot de passe du compte a été utilisé, alors qu&#x27;un mot de passe d&#x27;application est exigé." in html
    assert f'href="{article_url(Articles.APP_PASSWORDS)}"' in html


def test_wrong_password_from_a_mail_program_over_smtp(submission, teacher, client):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP_SSL(submission.host, submission.tls_port, context=context, timeout=10) as smtp:
        smtp.ehlo("portable-claire")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(teacher.identifier, "ancien-mot-de-passe")
    html = _setup_page(client, teacher)
    assert "portable-claire (SMTP)" in html
    assert "Mot de passe incorrect." in html
    assert f'href="{article_url(Articles.PHONE)}"' in html


def test_sign_in_without_encryption_is_explained(connect, teacher, client):
    response = _imap_login(connect, teacher, IMAP_PASSWORD, name="Vieux logiciel", tls=False)
    assert response.status == "NO" and b"PRIVACYREQUIRED" in response.tagged
    html = _setup_page(client, teacher)
    assert "Vieux logiciel (IMAP)" in html
    assert "sans chiffrement" in html and "SSL/TLS" in html


def test_throttled_attempts_are_explained_and_not_journalled_in_a_loop(settings, connect, teacher, client):
    from academail.accounts.models import JournalEntry

    settings.THROTTLE_FREE_FAILURES = 1
    settings.THROTTLE_BASE_DELAY = 60
    for _ in range(2):
        _imap_login(connect, teacher, "faux")
    throttled = [_imap_login(connect, teacher, IMAP_PASSWORD) for _ in range(3)]
    assert all(b"UNAVAILABLE" in r.tagged for r in throttled)
    html = _setup_page(client, teacher)
    assert "trop d&#x27;essais manqués" in html
    assert f'href="{article_url(Articles.THROTTLED)}"' in html
    refusals = JournalEntry.objects.filter(account=teacher, detail__startswith="refusée sans vérification")
    assert refusals.count() == 1  # three refused attempts, one line


def test_a_device_that_signed_in_since_is_shown_as_fixed(connect, teacher, client):
    _imap_login(connect, teacher, "faux")
    assert _imap_login(connect, teacher, IMAP_PASSWORD).ok
    html = _setup_page(client, teacher)
    assert "Réglé depuis" in html


def test_nobody_sees_another_persons_failures(connect, teacher, make_account, client):
    _imap_login(connect, teacher, "faux", name="Téléphone de Claire")
    other = make_account("Paul", "Durand")
    html = _setup_page(client, other)
    assert "Téléphone de Claire" not in html
    assert "Aucune connexion refusée" in html
