"""Every refusal a person can meet links to the help article that resolves it
(web.helplinks): NUMEN typos, throttled sign-in (with the wait), a weak password,
a nearly or completely full mailbox, a forward refused by the policy, a
message held or refused by the sending limits."""

from __future__ import annotations

import pytest
from django.urls import reverse

from academail.web.helplinks import Articles, article_url
from tests.conftest import build_message
from tests.webmail.conftest import PASSWORD, deliver

pytestmark = pytest.mark.django_db


def links_to(html: str, slug: str) -> bool:
    return f'href="{article_url(slug)}"' in html


def test_numen_typo_on_first_connection_links_to_the_numen_article(client, make_account):
    from academail.accounts.models import Status

    make_account("Paul", "Durand", status=Status.PENDING)
    page = client.post(reverse("accounts:activation_start"), {"identifier": "pdurand", "numen": "1IE9501234ABC"})
    html = page.content.decode()
    assert "fr-error-text" in html  # the precise typo message of accounts.numen
    assert links_to(html, Articles.NUMEN)


def test_wrong_numen_on_forgotten_password_links_to_the_numen_article(client, person):
    page = client.post(reverse("accounts:reset_request"), {"identifier": "jmartin", "numen": "11E"})
    assert links_to(page.content.decode(), Articles.NUMEN)


def test_no_help_link_on_a_page_without_error(client):
    assert not links_to(client.get(reverse("accounts:activation_start")).content.decode(), Articles.THROTTLED)


def test_throttled_sign_in_says_how_long_to_wait_and_links_to_the_article(client, person, settings):
    settings.THROTTLE_FREE_FAILURES = 1
    settings.THROTTLE_BASE_DELAY = 60
    for _ in range(2):
        client.post(reverse("accounts:login"), {"identifier": person.identifier, "password": "faux"})
    html = client.post(reverse("accounts:login"), {"identifier": person.identifier,
                                                   "password": PASSWORD}).content.decode()
    assert "Patientez" in html and "minute" in html
    assert links_to(html, Articles.THROTTLED)


def test_wrong_password_links_to_the_sign_in_article(client, person):
    html = client.post(reverse("accounts:login"), {"identifier": person.identifier, "password": "faux"}).content.decode()
    assert "Identifiant ou mot de passe incorrect." in html
    assert links_to(html, Articles.SIGN_IN)


def test_weak_password_links_to_the_password_rules(client, person):
    client.force_login(person)
    html = client.post(reverse("accounts:change_password"), {
        "current": PASSWORD, "password1": "motdepasse", "password2": "motdepasse",
    }).content.decode()
    assert "fr-error-text" in html
    assert links_to(html, Articles.PASSWORD_RULES)


@pytest.mark.parametrize(("percent", "text"), [(85, "Votre boîte se remplit"), (96, "presque pleine"), (100, "Boîte pleine")])
def test_quota_nearly_or_completely_full_links_to_the_full_mailbox_article(client, person, percent, text):
    from academail.accounts.models import Account

    deliver(person, build_message(body="x" * 20_000))
    from academail.store.webmail import folder_pane

    used = folder_pane(person.pk).quota.used
    Account.objects.filter(pk=person.pk).update(quota_bytes=used * 100 // percent)
    client.force_login(person)
    html = client.get(reverse("webmail:index"), follow=True).content.decode()
    assert text in html
    assert links_to(html, Articles.FULL_MAILBOX)


def test_forward_refused_by_the_policy_links_to_the_forwarding_article(client, person):
    client.force_login(person)
    html = client.post(reverse("forwarding:index"), {"action": "save", "target": "julie@exemple.com"}).content.decode()
    assert "fr-alert--error" in html
    assert links_to(html, Articles.FORWARDING)


def _send(client, **fields):
    data = {"to": "", "cc": "", "bcc": "", "subject": "Essai", "body": "Bonjour", **fields}
    return client.post(reverse("webmail:write"), data)


def test_message_held_by_the_sending_limits_links_to_the_article(client, person, make_account, settings):
    settings.SEND_LIMIT_SOFT_HOUR = 1
    other = make_account("Paul", "Durand")
    client.force_login(person)
    response = _send(client, to=f"{other.address}, ami@exemple.org")
    html = client.get(response.url, follow=True).content.decode()
    assert "Message retenu" in html
    assert links_to(html, Articles.SENDING_LIMITS)
    assert "fr-alert--warning" in html  # the message's level still styles the box


def test_message_refused_by_the_sending_limits_links_to_the_article(client, person, make_account, settings):
    settings.SEND_LIMIT_SOFT_HOUR = settings.SEND_LIMIT_HARD_HOUR = 1
    other = make_account("Paul", "Durand")
    client.force_login(person)
    assert _send(client, to=other.address).status_code == 302
    html = _send(client, to=other.address).content.decode()
    assert "fr-alert--error" in html
    assert links_to(html, Articles.SENDING_LIMITS)


def test_guided_tour_follows_activation_and_can_be_skipped_at_each_step(client, person):
    client.force_login(person)
    for step in range(1, 5):
        page = client.get(reverse("help:tour", args=[step]))
        assert page.status_code == 200
        html = page.content.decode()
        assert f"étape {step} sur 4" in html
        assert f'href="{reverse("webmail:index")}"' in html  # skip (or finish) goes to the inbox
        if step < 4:
            assert f'href="{reverse("help:tour", args=[step + 1])}"' in html
    assert f'href="{reverse("accounts:security")}"' in client.get(reverse("help:tour", args=[4])).content.decode()
    assert client.get(reverse("help:tour", args=[5])).status_code == 404


def test_guided_tour_needs_to_be_signed_in(client):
    response = client.get(reverse("help:tour", args=[1]))
    assert response.status_code == 302 and reverse("accounts:login") in response.url


@pytest.mark.django_db(transaction=True)
def test_phishing_warning_links_to_the_article_that_explains_the_warnings(client, person):
    from pathlib import Path

    from academail.delivery.route import deliver as door_deliver
    from academail.store.models import Message

    raw = (Path(__file__).resolve().parent.parent / "data" / "protection" / "lure-assistance-numen.eml").read_bytes()
    (outcome,) = door_deliver(raw, [person.address], screen=True)
    message = Message.objects.filter(mailbox__account=person).latest("pk")
    client.force_login(person)
    html = client.get(f"/courrier/message/{message.mailbox_id}/{message.uid}/").content.decode()
    assert "prot-warnings" in html
    assert links_to(html, Articles.SPAM_PHISHING)
    article = client.get(article_url(Articles.SPAM_PHISHING)).content.decode()
    assert "Demande d&#x27;identifiants" in article or "Demande d'identifiants" in article
