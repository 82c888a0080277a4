"""The forwarding page with Django's client: the policy's French refusal
before any link is sent, the confirmation link (hashed, single use, 48 h, only
for the target it was sent to), turning off at once, the journal, another
person's token (IDOR) and CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from academail.accounts.models import JournalEntry
from academail.forwarding.models import ConfirmationToken, Forwarding

URL = "/courrier/transfert/"


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.FORWARD_ALLOWED_DOMAINS = ["education.gouv.fr"]
    settings.FORWARD_OUTSIDE = "refuse"
    settings.OUTBOUND_CAPTURE = True


@pytest.fixture
def person(make_account):
    return make_account("Julie", "Martin")


@pytest.fixture
def web(client, person):
    client.force_login(person)
    return client


def link_sent_to(target: str) -> str:
    mails = [m for m in reversed(mail.outbox) if target in m.to]
    assert mails, f"no link sent to {target}"
    assert mails[0].subject == "Confirmez le transfert du courrier de julie.martin@ac-demo.fr" or "Confirmez" in mails[0].subject
    return re.search(r"https?://\S+/courrier/transfert/confirmer/[\w-]+/", mails[0].body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def save(client, target: str, keep_copy: bool = True, capture=None):
    data = {"action": "save", "target": target}
    if keep_copy:
        data["keep_copy"] = "1"
    with capture(execute=True):
        return client.post(URL, data)


def journal(account) -> list[str]:
    return list(JournalEntry.objects.filter(account=account, kind="forwarding_changed").order_by("id")
                .values_list("detail", flat=True))


def test_page_explains_the_rules(web):
    page = web.get(URL).content.decode()
    assert "Transfert du courrier" in page and "Aucun transfert" in page
    assert "ac-demo.fr, education.gouv.fr" in page and "[DIFFUSION RESTREINTE]" in page
    assert "Conserver une copie dans ma boîte" in page


def test_outside_target_refused_with_french_reason_and_nothing_sent(web, person, django_capture_on_commit_callbacks):
    response = save(web, "julie.perso@gmail.example", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Le transfert vers julie.perso@gmail.example n&#x27;est pas autorisé" in page
    assert "ac-demo.fr, education.gouv.fr" in page
    assert Forwarding.objects.count() == 0 and ConfirmationToken.objects.count() == 0
    assert mail.outbox == []
    assert journal(person) == []


def test_unknown_or_own_academie_address_refused(web, person, make_account, django_capture_on_commit_callbacks):
    from academail.accounts.models import Alias

    Alias.objects.create(account=person, address="secretariat@ac-demo.fr")
    for target, words in [("personne.inconnue@ac-demo.fr", "n&#x27;existe pas"),
                          ("secretariat@ac-demo.fr", "vos propres adresses"),
                          (person.address, "tournerait en rond")]:
        response = save(web, target, capture=django_capture_on_commit_callbacks)
        assert response.status_code == 400 and words in response.content.decode()
    assert Forwarding.objects.count() == 0


def test_confirmation_flow(web, person, django_capture_on_commit_callbacks):
    response = save(web, "julie.martin@education.gouv.fr", keep_copy=False, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 302
    forwarding = Forwarding.objects.get(account=person)
    assert forwarding.confirmed_at is None and not forwarding.keep_copy
    assert "En attente" in web.get(URL).content.decode()
    url = link_sent_to("julie.martin@education.gouv.fr")
    token = ConfirmationToken.objects.get()
    assert url.rsplit("/", 2)[1] not in token.token_hash  # only the hash is stored
    assert token.expires_at - token.created_at == timedelta(hours=48)

    stranger = Client()  # the target's owner, not signed in
    shown = stranger.get(path_of(url))
    assert shown.status_code == 200 and shown["Referrer-Policy"] == "same-origin"
    assert "julie.martin@ac-demo.fr" in shown.content.decode()
    forwarding.refresh_from_db()
    assert forwarding.confirmed_at is None, "opening the link (a scanner) confirms nothing"
    done = stranger.post(path_of(url))
    assert done.status_code == 200 and "est confirmé : le courrier de julie.martin@ac-demo.fr" in done.content.decode()
    forwarding.refresh_from_db()
    assert forwarding.confirmed_at is not None
    assert stranger.post(path_of(url)).status_code == 410, "single use"
    assert "Vos messages sont transférés" in web.get(URL).content.decode()
    assert journal(person) == [
        "Transfert vers julie.martin@education.gouv.fr demandé (en attente de confirmation)",
        "Transfert vers julie.martin@education.gouv.fr confirmé par le destinataire",
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(URL, {"action": "disable"})
    assert response.status_code == 302 and Forwarding.objects.count() == 0
    assert journal(person)[-1] == "Transfert vers julie.martin@education.gouv.fr désactivé"


def test_expired_link_refused(web, django_capture_on_commit_callbacks):
    save(web, "paul@education.gouv.fr", capture=django_capture_on_commit_callbacks)
    url = link_sent_to("paul@education.gouv.fr")
    ConfirmationToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().post(path_of(url))
    assert response.status_code == 410 and "48 heures" in response.content.decode()
    assert Forwarding.objects.get().confirmed_at is None


def test_link_for_an_earlier_target_confirms_nothing(web, django_capture_on_commit_callbacks):
    save(web, "ancien@education.gouv.fr", capture=django_capture_on_commit_callbacks)
    old_url = link_sent_to("ancien@education.gouv.fr")
    save(web, "nouveau@education.gouv.fr", capture=django_capture_on_commit_callbacks)
    assert Client().post(path_of(old_url)).status_code == 410
    forwarding = Forwarding.objects.get()
    assert forwarding.target == "nouveau@education.gouv.fr" and forwarding.confirmed_at is None


def test_another_persons_token_confirms_only_what_it_was_sent_for(
    client, person, make_account, django_capture_on_commit_callbacks
):
    """IDOR: Paul, signed in, uses Julie's link: it confirms Julie's forward to
    the address it was sent to (the link is the target's consent), never
    anything of Paul's; and Paul cannot reach Julie's forward from his page."""
    paul = make_account("Paul", "Durand")
    julie_web, paul_web = Client(), Client()
    julie_web.force_login(person)
    paul_web.force_login(paul)
    save(julie_web, "cible.julie@education.gouv.fr", capture=django_capture_on_commit_callbacks)
    save(paul_web, "cible.paul@education.gouv.fr", capture=django_capture_on_commit_callbacks)
    julie_url = link_sent_to("cible.julie@education.gouv.fr")

    assert paul_web.post(path_of(julie_url)).status_code == 200
    assert Forwarding.objects.get(account=paul).confirmed_at is None
    assert Forwarding.objects.get(account=person).target == "cible.julie@education.gouv.fr"

    # Paul's page acts on Paul's forward only, whatever ids he adds.
    with django_capture_on_commit_callbacks(execute=True):
        paul_web.post(URL, {"action": "disable", "account": person.pk, "id": Forwarding.objects.get(account=person).pk})
    assert Forwarding.objects.filter(account=person).exists()
    assert not Forwarding.objects.filter(account=paul).exists()
    assert "cible.julie" not in paul_web.get(URL).content.decode()
    # A made-up token is just invalid.
    assert Client().get("/courrier/transfert/confirmer/" + "A" * 43 + "/").status_code == 410


def test_csrf_is_required(person, django_capture_on_commit_callbacks):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(person)
    assert strict.post(URL, {"action": "save", "target": "paul@education.gouv.fr"}).status_code == 403
    assert Forwarding.objects.count() == 0
    page = strict.get(URL)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        ok = strict.post(URL, {"action": "save", "target": "paul@education.gouv.fr", "csrfmiddlewaretoken": token})
    assert ok.status_code == 302 and Forwarding.objects.count() == 1
    url = link_sent_to("paul@education.gouv.fr")
    assert Client(enforce_csrf_checks=True).post(path_of(url)).status_code == 403
    assert Forwarding.objects.get().confirmed_at is None


def test_sign_in_required(client):
    response = client.get(URL)
    from django.urls import reverse

    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_keep_copy_change_on_a_confirmed_forward_is_journaled(web, person, django_capture_on_commit_callbacks):
    save(web, "paul@education.gouv.fr", capture=django_capture_on_commit_callbacks)
    Client().post(path_of(link_sent_to("paul@education.gouv.fr")))
    sent_before = len(mail.outbox)
    save(web, "paul@education.gouv.fr", keep_copy=False, capture=django_capture_on_commit_callbacks)
    forwarding = Forwarding.objects.get()
    assert forwarding.confirmed_at is not None and not forwarding.keep_copy
    assert len(mail.outbox) == sent_before, "no new link for the same confirmed target"
    assert journal(person)[-1] == "Copie conservée : non"


def test_local_target_gets_the_link_in_its_inbox(web, make_account, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "academail.delivery.mailbackend.PlatformEmailBackend"  # the real path, the one door
    from academail.store.messages import read_raw
    from academail.store.models import Message

    paul = make_account("Paul", "Durand")
    save(web, paul.address, capture=django_capture_on_commit_callbacks)
    (message,) = Message.objects.filter(mailbox__account=paul)
    assert b"/courrier/transfert/confirmer/" in read_raw(message).replace(b"=\r\n", b"")


def test_links_per_hour_are_limited(web, django_capture_on_commit_callbacks):
    save(web, "paul@education.gouv.fr", capture=django_capture_on_commit_callbacks)
    for _ in range(6):
        with django_capture_on_commit_callbacks(execute=True):
            web.post(URL, {"action": "resend"})
    assert ConfirmationToken.objects.count() == 5
    # Turning off and on again, or changing the target, does not reset the count.
    with django_capture_on_commit_callbacks(execute=True):
        web.post(URL, {"action": "disable"})
    save(web, "paul@education.gouv.fr", capture=django_capture_on_commit_callbacks)
    save(web, "marie@education.gouv.fr", capture=django_capture_on_commit_callbacks)
    assert ConfirmationToken.objects.count() == 5
    assert not [m for m in mail.outbox if "marie@education.gouv.fr" in m.to]


def test_links_of_a_forward_turned_off_or_changed_back_confirm_nothing(web, django_capture_on_commit_callbacks):
    save(web, "paul@education.gouv.fr", capture=django_capture_on_commit_callbacks)
    first = link_sent_to("paul@education.gouv.fr")
    save(web, "marie@education.gouv.fr", capture=django_capture_on_commit_callbacks)
    save(web, "paul@education.gouv.fr", capture=django_capture_on_commit_callbacks)  # back to Paul: a new link
    assert Client().post(path_of(first)).status_code == 410
    second = link_sent_to("paul@education.gouv.fr")
    with django_capture_on_commit_callbacks(execute=True):
        web.post(URL, {"action": "disable"})
    assert Client().post(path_of(second)).status_code == 410
    assert Forwarding.objects.count() == 0


def test_link_is_written_in_french_for_a_person_reading_in_english(web, person, django_capture_on_commit_callbacks):
    web.cookies["academail_language"] = "en"
    assert web.get(URL).headers["Content-Language"] == "en"
    save(web, "julie.martin@education.gouv.fr", capture=django_capture_on_commit_callbacks)
    (sent,) = [m for m in mail.outbox if "julie.martin@education.gouv.fr" in m.to]
    assert sent.subject == "Confirmez le transfert du courrier de julie.martin@ac-demo.fr"
    assert sent.body.startswith("Bonjour,") and "souhaite que le courrier" in sent.body
