"""New-device alerts, sessions and devices, "Ce n'était pas moi ?", and IDOR
on the sessions page."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from academail.accounts.devices import SEEN_INTERVAL
from academail.accounts.models import Device, EventKind, JournalEntry, WebSession
from academail.accounts.services import check_create_account, check_sign_in
from tests.accounts.conftest import PASSWORD, link_in

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def browser(ua=CHROME) -> Client:
    return Client(HTTP_USER_AGENT=ua)


def sign_in(client):
    return client.post(LOGIN, {"identifier": "jmartin", "password": PASSWORD})


def test_first_browser_no_alert_second_browser_alert(person):
    home = browser()
    sign_in(home)
    assert not mail.outbox
    home.post(reverse("accounts:logout"))
    sign_in(home)  # same browser: its cookie is known
    assert not mail.outbox
    sign_in(browser("Mozilla/5.0 (iPhone) Safari/605"))
    assert len(mail.outbox) == 1
    alert = mail.outbox[0]
    assert alert.to == ["julie.martin@ac-demo.fr"]
    assert "Safari sous iPhone" in alert.body and "Ce n'était pas moi ?" in alert.body
    assert JournalEntry.objects.filter(account=person, kind=EventKind.NEW_DEVICE).count() == 1


def test_alerts_can_be_turned_off_or_copied(person):
    sign_in(browser())
    client = browser()
    client.force_login(person)
    client.post(reverse("accounts:alerts"), {"alert_new_device": "on", "alert_copy_secondary": "on"})
    sign_in(browser())
    assert sorted(m.to[0] for m in mail.outbox) == ["julie.martin@ac-demo.fr", "julie.perso@exemple.fr"]
    mail.outbox.clear()
    client.post(reverse("accounts:alerts"), {})
    sign_in(browser())
    assert not mail.outbox


def test_imap_client_on_a_new_network_alerts(person):
    check_sign_in("jmartin", PASSWORD, protocol="imap", remote_addr="192.0.2.1", client_name="Thunderbird")
    check_sign_in("jmartin", PASSWORD, protocol="imap", remote_addr="192.0.2.1", client_name="Thunderbird")
    assert not mail.outbox
    check_sign_in("jmartin", PASSWORD, protocol="imap", remote_addr="198.51.100.4", client_name="Thunderbird")
    assert len(mail.outbox) == 1 and "Thunderbird (IMAP)" in mail.outbox[0].body
    assert settings.PUBLIC_URL in mail.outbox[0].body


def test_known_device_sighting_written_at_most_once_per_interval(person):
    """A phone reconnecting all day: its device row is rewritten only when
    ``SEEN_INTERVAL`` has passed (or its address changed); every sign-in is
    still journalled, and a new device still alerts at its first sign-in."""
    imap = {"protocol": "imap", "client_name": "K-9 Mail"}
    check_sign_in("jmartin", PASSWORD, remote_addr="192.0.2.1", **imap)
    device = Device.objects.get(account=person)
    first = device.last_seen
    with CaptureQueriesContext(connection) as queries:
        result = check_sign_in("jmartin", PASSWORD, remote_addr="192.0.2.1", **imap)
    assert result.account == person and not result.new_device
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("UPDATE", "INSERT", "DELETE"))]
    assert writes == [w for w in writes if "accounts_journalentry" in w] and len(writes) == 1  # the journal line only
    device.refresh_from_db()
    assert device.last_seen == first
    assert JournalEntry.objects.filter(account=person, kind=EventKind.SIGNIN).count() == 2
    Device.objects.filter(pk=device.pk).update(last_seen=first - SEEN_INTERVAL)
    check_sign_in("jmartin", PASSWORD, remote_addr="192.0.2.1", **imap)
    device.refresh_from_db()
    assert device.last_seen > first  # the interval passed: written again
    check_sign_in("jmartin", PASSWORD, remote_addr="198.51.100.4", **imap)  # another network: a new device
    assert len(mail.outbox) == 1 and Device.objects.filter(account=person).count() == 2


def test_sessions_page_lists_and_closes(person):
    laptop, phone = browser(), browser("Mozilla/5.0 (Linux; Android 14) Firefox/128.0")
    sign_in(laptop)
    sign_in(phone)
    page = laptop.get(reverse("accounts:sessions")).content.decode()
    assert "Chrome sous Windows" in page and "Firefox sous Android" in page and "cette session" in page
    phone_link = WebSession.objects.get(label="Firefox sous Android")
    laptop.post(reverse("accounts:session_end", args=[phone_link.pk]))
    assert phone.get(reverse("accounts:security")).status_code == 302
    sign_in(phone)
    laptop.post(reverse("accounts:sessions_end_all"))
    assert phone.get(reverse("accounts:security")).status_code == 302
    assert laptop.get(reverse("accounts:security")).status_code == 200
    assert Device.objects.filter(account=person).count() == 1  # the laptop
    assert JournalEntry.objects.filter(kind=EventKind.ALL_SESSIONS_REVOKED).exists()


def test_nobody_closes_another_persons_session(person):
    other = check_create_account(first_name="Paul", last_name="Durand", numen="11E9501234ABD", status="active")
    victim = browser()
    sign_in(victim)
    link = WebSession.objects.get(account=person)
    device = Device.objects.get(account=person)
    attacker = browser()
    attacker.force_login(other)
    assert attacker.post(reverse("accounts:session_end", args=[link.pk])).status_code == 404
    assert attacker.post(reverse("accounts:device_forget", args=[device.pk])).status_code == 404
    assert victim.get(reverse("accounts:security")).status_code == 200


def test_not_me_link_signs_out_everywhere(person):
    sign_in(browser())
    thief = browser("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    sign_in(thief)
    link = link_in(mail.outbox[0])
    stranger = Client()
    page = stranger.get(link)
    assert page.status_code == 200 and "jmartin" in page.content.decode()
    assert WebSession.objects.filter(account=person).count() == 2  # GET changes nothing
    done = stranger.post(link).content.decode()
    assert "Toutes les sessions sont fermées" in done
    assert thief.get(reverse("accounts:security")).status_code == 302
    assert not Device.objects.filter(account=person).exists()
    assert JournalEntry.objects.filter(kind=EventKind.NOT_ME).exists()
    assert stranger.get(link[:-4] + "xyz/").status_code == 410


def test_change_password_keeps_this_session_only(person):
    here, there = browser(), browser()
    sign_in(here)
    sign_in(there)
    new = "Ciel#Gris-Matin58"
    response = here.post(reverse("accounts:change_password"),
                         {"current": PASSWORD, "password1": new, "password2": new})
    assert response.url == reverse("accounts:security")
    assert here.get(reverse("accounts:security")).status_code == 200
    assert there.get(reverse("accounts:security")).status_code == 302
    assert {m.to[0] for m in mail.outbox} == {"julie.martin@ac-demo.fr", "julie.perso@exemple.fr"}
    wrong = here.post(reverse("accounts:change_password"),
                      {"current": "faux", "password1": new + "x", "password2": new + "x"}).content.decode()
    assert "Le mot de passe actuel est incorrect." in wrong


def test_change_secondary_address_with_code(person):
    client = browser()
    client.force_login(person)
    page = client.post(reverse("accounts:change_secondary"), {"address": "julie.martin@ac-demo.fr"})
    assert "extérieure à la messagerie académique" in page.content.decode()
    client.post(reverse("accounts:change_secondary"), {"address": "julie.nouvelle@exemple.org"})
    code_page = client.get(reverse("accounts:change_secondary_code")).content.decode()
    assert "envoyé à julie.nouvelle@exemple.org." in code_page  # where to look (issue 20)
    from tests.accounts.conftest import code_in

    code = code_in(mail.outbox[-1])
    client.post(reverse("accounts:change_secondary_code"), {"code": code})
    person.refresh_from_db()
    assert person.secondary_address == "julie.nouvelle@exemple.org"
    assert JournalEntry.objects.filter(kind=EventKind.SECONDARY_CHANGED).exists()
    assert {m.to[0] for m in mail.outbox[-2:]} == {"julie.martin@ac-demo.fr", "julie.perso@exemple.fr"}


def test_account_pages_need_sign_in(client):
    for name in ("security", "sessions", "change_password", "change_secondary"):
        response = client.get(reverse(f"accounts:{name}"))
        assert response.status_code == 302 and response.url.startswith(LOGIN)
