"""The web second factor (RFC 6238): enrolment with a QR code, the second
step of the sign-in, throttled wrong codes, single-use recovery codes,
enrolment forced on the administrator and support roles before anything else
is reachable, the administrator's reset; IMAP and SMTP never ask for it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time

import pytest
from django.test import Client
from django.urls import reverse

from academail.accounts import totp
from academail.accounts.models import (
    Account,
    EventKind,
    JournalEntry,
    RecoveryCode,
    Role,
    Status,
    TotpDevice,
)
from academail.accounts.services import authenticate, check_create_account
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")
STEP2 = reverse("accounts:second_factor")
ENROL = reverse("accounts:totp_enrol")
SECURITY = reverse("accounts:security")


def code_for(secret_b32: str, offset: int = 0) -> str:
    """An independent RFC 6238 computation (not ``accounts.totp``'s)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time() + offset) // 30), hashlib.sha1).digest()
    o = mac[-1] & 15
    return f"{(struct.unpack('>I', mac[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def test_rfc6238_vectors():
    # RFC 6238 Appendix B, SHA-1, 8 digits; and RFC 4226 Appendix D.
    key = b"12345678901234567890"
    assert totp.hotp(key, 59 // 30, digits=8) == "94287082"
    assert totp.hotp(key, 1111111109 // 30, digits=8) == "07081804"
    assert [totp.hotp(key, c) for c in (0, 1, 9)] == ["755224", "287082", "520489"]


def password_step(identifier: str = "jmartin", addr: str = "127.0.0.1") -> tuple[Client, object]:
    client = Client(REMOTE_ADDR=addr)
    return client, client.post(LOGIN, {"identifier": identifier, "password": PASSWORD, "next": SECURITY})


def enrol(client: Client) -> tuple[str, list[str]]:
    page = client.get(ENROL).content.decode()
    secret = client.session["totp_pending"]["secret"]
    shown = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert shown == secret and "<svg" in page
    assert client.post(ENROL, {"code": "000000" if code_for(secret) != "000000" else "111111"}).status_code == 200
    response = client.post(ENROL, {"code": code_for(secret)})
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.content.decode())
    assert len(codes) == 10 and "ne seront plus jamais affichés" in response.content.decode()
    return secret, codes


def enrolled_person(person) -> tuple[str, list[str]]:
    client = Client()
    client.force_login(person)
    return enrol(client)


def test_otpauth_uri_has_issuer_and_identifier(person):
    uri = totp.otpauth_uri(b"12345678901234567890", person)
    assert uri.startswith("otpauth://totp/Acad%C3%A9mie%3Ajmartin?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
    assert "issuer=Acad%C3%A9mie" in uri


def test_enrolment_then_second_step(person):
    secret, _ = enrolled_person(person)
    row = TotpDevice.objects.get(account=person)
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) not in bytes(row.secret_ciphertext)
    assert RecoveryCode.objects.filter(account=person).count() == 10
    assert JournalEntry.objects.filter(account=person, kind=EventKind.TOTP_ENABLED).exists()

    client, response = password_step()
    assert response.url == STEP2
    assert client.get(SECURITY).status_code == 302  # not signed in yet
    # The password alone cannot enrol another app in place of the second step.
    assert client.get(ENROL).url == LOGIN and "totp_pending" not in client.session
    assert client.post(STEP2, {"code": code_for(secret, 30)}).url == SECURITY
    assert client.get(SECURITY).status_code == 200
    # The same code is never accepted twice (RFC 6238 §5.2).
    again, _ = password_step()
    page = again.post(STEP2, {"code": code_for(secret, 30)})
    assert page.status_code == 200 and "Code incorrect" in page.content.decode()


def test_imap_and_smtp_never_ask_for_it(person):
    enrolled_person(person)
    for protocol in ("imap", "smtp"):
        assert authenticate("jmartin", PASSWORD, protocol=protocol, remote_addr="198.51.100.7") == person


def test_wrong_codes_are_throttled(person):
    secret, _ = enrolled_person(person)
    client, _ = password_step()
    wrong = "123456" if code_for(secret, 30) != "123456" else "654321"
    for _ in range(5):
        assert "Code incorrect" in client.post(STEP2, {"code": wrong}).content.decode()
    refused = client.post(STEP2, {"code": code_for(secret, 30)}).content.decode()
    assert "Trop de tentatives" in refused
    assert client.get(SECURITY).status_code == 302
    assert JournalEntry.objects.filter(account=person, kind=EventKind.TOTP_FAILED).count() == 5
    # A fresh browser elsewhere, with the password, gets no more guesses: the bucket is the account's.
    other, _ = password_step(addr="203.0.113.9")
    assert "Trop de tentatives" in other.post(STEP2, {"code": code_for(secret, 30)}).content.decode()


def test_recovery_code_single_use(person):
    _, codes = enrolled_person(person)
    client, _ = password_step()
    response = client.post(STEP2, {"code": codes[3].upper()}, follow=True)
    assert "il vous en reste 9" in response.content.decode()
    assert client.get(SECURITY).status_code == 200
    client2, _ = password_step()
    assert "Code incorrect" in client2.post(STEP2, {"code": codes[3]}).content.decode()
    assert JournalEntry.objects.filter(account=person, kind=EventKind.RECOVERY_CODE_USED).count() == 1


def test_staff_may_disable_it(person):
    secret, codes = enrolled_person(person)
    client, _ = password_step()
    client.post(STEP2, {"code": code_for(secret, 30)})
    # (The next TOTP code is 30 s away; a recovery code proves the factor as well.)
    client.post(reverse("accounts:totp_disable"), {"code": codes[0]})
    assert not TotpDevice.objects.filter(account=person).exists()
    assert password_step()[1].url == SECURITY  # no second step any more


def make_role(role: str) -> Account:
    account = check_create_account(first_name="Ada", last_name="Lovelace", numen="11E9501234ABE",
                                   role=role, status=str(Status.ACTIVE))
    account.set_password(PASSWORD)
    account.save()
    return account


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPPORT])
def test_admin_and_support_must_enrol_before_anything(role):
    account = make_role(str(role))
    client, response = password_step(account.identifier)
    assert response.url == ENROL
    assert "_auth_user_id" not in client.session  # nobody is signed in
    for url in (SECURITY, reverse("admin:index"), reverse("accounts:app_passwords")):
        assert client.get(url).status_code == 302, url
    secret, codes = enrol(client)
    assert client.get(SECURITY).status_code == 200
    if role == Role.ADMIN:
        assert client.get(reverse("admin:index")).status_code == 200
    # Next time: the usual second step.
    client2, response = password_step(account.identifier)
    assert response.url == STEP2
    assert client2.post(STEP2, {"code": code_for(secret, 30)}).status_code == 302
    client2.post(reverse("accounts:totp_disable"), {"code": codes[0]})
    assert TotpDevice.objects.filter(account=account).exists()  # required: cannot be turned off


def test_enrolment_flow_expires_without_password(person):
    assert Client().get(ENROL).status_code == 302
    assert Client().get(STEP2).status_code == 302


def test_admin_resets_a_second_factor(person):
    admin = make_role(str(Role.ADMIN))
    admin.is_superuser = True
    admin.save()
    secret = totp.new_secret()
    totp.check_enrol(admin, secret, totp.totp(secret), remote_addr="")
    enrolled_person(person)
    client, _ = password_step(admin.identifier)
    client.post(STEP2, {"code": totp.hotp(secret, totp.counter_at() + 1)})
    page = client.get(reverse("admin:accounts_account_change", args=[person.pk])).content.decode()
    assert "activée" in page
    client.post(reverse("admin:accounts_account_changelist"),
                {"action": "reset_second_factor", "_selected_action": [person.pk]})
    assert not TotpDevice.objects.filter(account=person).exists()
    assert not RecoveryCode.objects.filter(account=person).exists()
    entry = JournalEntry.objects.get(account=person, kind=EventKind.TOTP_RESET)
    assert entry.detail == f"par {admin.identifier}"
    assert password_step()[1].url == SECURITY  # staff: optional, so no second step now


def test_first_connection_of_a_support_agent_ends_in_enrolment(client):
    from django.core import mail

    from tests.accounts.conftest import code_in

    agent = check_create_account(first_name="Paul", last_name="Durand", numen="11E9501234ABD",
                                 role=str(Role.SUPPORT))
    client.post(reverse("accounts:activation_start"), {"identifier": agent.identifier, "numen": "11E9501234ABD"})
    client.post(reverse("accounts:activation_password"), {"password1": PASSWORD, "password2": PASSWORD})
    client.post(reverse("accounts:activation_secondary"), {"address": "paul@exemple.fr"})
    response = client.post(reverse("accounts:activation_code"), {"code": code_in(mail.outbox[0])})
    assert response.url == ENROL and "_auth_user_id" not in client.session
    enrol(client)
    assert client.get(SECURITY).status_code == 200


def test_promotion_to_support_signs_out_until_enrolled(person):
    from academail.accounts.services import check_update_account

    client, _ = password_step()
    assert client.get(SECURITY).status_code == 200
    check_update_account(person, role=str(Role.SUPPORT))
    assert client.get(SECURITY).status_code == 302
    assert password_step()[1].url == ENROL
