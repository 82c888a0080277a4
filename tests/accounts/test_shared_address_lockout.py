"""Shared-address lockout (outside review, 2026-12): a school puts its whole
staff behind one public address. An attacker there guesses passwords; 30
colleagues then sign in with their right password from devices never seen
before. Nobody is refused, and the attacker's guesses stay bounded: 5 checked
guesses per (address, account) before growing delays, 25 a day, and every
refusal from the address answered late once it is over its ceiling.

Over real sockets for IMAP and SMTP submission (every test connection comes
from 127.0.0.1: that is the shared address), through the Django test client for
the web."""

from __future__ import annotations

import smtplib
import ssl

import pytest
from django.test import Client as WebClient
from django.urls import reverse

from academail.accounts import throttle
from academail.accounts.journal import FailureReason
from academail.accounts.models import EventKind, JournalEntry
from academail.imap import responses as R
from academail.smtp import codes
from tests.accounts.conftest import PASSWORD
from tests.imap.conftest import Client as IMAPClient
from tests.imap.conftest import imap  # noqa: F401  (the real IMAP server fixture)
from tests.smtp.conftest import submission  # noqa: F401  (the real submission server fixture)

SHARED = "127.0.0.1"
COLLEAGUES = 30


@pytest.fixture
def school(make_account, settings):
    """A victim the attacker targets, and 30 colleagues, none with a known device.
    The address ceiling and its delays are scaled down so the test runs in
    seconds; the pair's delay is scaled up so no guess outlasts it."""
    settings.THROTTLE_ADDRESS_FREE_FAILURES = 40
    settings.THROTTLE_ADDRESS_BASE_DELAY = 0.01
    settings.THROTTLE_ADDRESS_MAX_DELAY = 0.05
    # The victim's pair closes for an hour at its 5th failure (2 s by default):
    # on a loaded machine the 7 refusals after it took longer than 2 s on
    # PostgreSQL, and a 6th guess was then rightly checked.
    settings.THROTTLE_BASE_DELAY = 3600
    people = [make_account("Collègue", f"Numéro {chr(65 + n // 26)}{chr(65 + n % 26)}") for n in range(COLLEAGUES + 1)]
    for person in people:
        person.set_password(PASSWORD)
        person.save()
    return people[0], people[1:]


def spray(attempt, victim, colleagues) -> list:
    """What the attacker does from the shared address: one guess at each
    colleague (password spraying), 60 at unknown identifiers, 12 at the victim."""
    replies = [attempt(person.identifier, "Printemps2026!") for person in colleagues]
    replies += [attempt(f"inconnu{n}", "Printemps2026!") for n in range(60)]
    replies += [attempt(victim.identifier, f"Essai-{n}") for n in range(12)]
    return replies


def assert_bounded(victim) -> None:
    # 5 checked guesses at the victim, then refusals without a password check.
    checked = JournalEntry.objects.filter(account=victim, kind=EventKind.SIGNIN_FAILED,
                                          detail=FailureReason.WRONG_PASSWORD)
    assert checked.count() == 5
    assert throttle.retry_after([throttle.pair_key(SHARED, victim.identifier)]) > 0
    # Over its ceiling, the address gets its refusals late (never refused itself).
    assert throttle.slow_down(SHARED) > 0


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_imap_colleagues_behind_an_attacked_address_are_not_refused(imap, school):  # noqa: F811
    victim, colleagues = school
    attacker = IMAPClient(imap.host, imap.tls_port)

    def attempt(identifier: str, password: str):
        return attacker.cmd(f'LOGIN {identifier} "{password}"')

    replies = spray(attempt, victim, colleagues)
    assert all(r.status == "NO" for r in replies)
    wrong, throttled = replies[0].tagged.decode(), replies[-1].tagged.decode()
    assert f"[{R.CODE_AUTHENTICATIONFAILED}]" in wrong
    # RFC 5530: a throttled refusal says so, so the client does not ask for the password again
    # (in 7-bit text: the client did not enable UTF8=ACCEPT, RFC 3501 §9).
    assert f"[{R.CODE_UNAVAILABLE}]" in throttled and "reessayez dans" in throttled
    attacker.close()
    assert_bounded(victim)

    for person in colleagues:
        client = IMAPClient(imap.host, imap.tls_port)
        client.cmd('ID ("name" "Téléphone neuf")')
        assert client.cmd(f'LOGIN {person.identifier} "{PASSWORD}"').ok, person.identifier
        client.cmd("LOGOUT")
        client.close()


def test_smtp_colleagues_behind_an_attacked_address_are_not_refused(submission, school):  # noqa: F811
    victim, colleagues = school
    attacker = smtplib.SMTP_SSL(submission.host, submission.tls_port, timeout=10, context=tls_context())
    attacker.ehlo("pc-salle-info")

    def attempt(identifier: str, password: str):
        try:
            attacker.login(identifier, password)
        except smtplib.SMTPAuthenticationError as error:
            return error.smtp_code, error.smtp_error.decode()
        return 235, ""

    replies = spray(attempt, victim, colleagues)
    assert replies[0] == (int(codes.S535_AUTH_INVALID[:3]), codes.S535_AUTH_INVALID[4:])
    assert replies[-1][0] == 454 and "4.7.0" in replies[-1][1]
    attacker.quit()
    assert_bounded(victim)

    for person in colleagues:
        with smtplib.SMTP_SSL(submission.host, submission.tls_port, timeout=10, context=tls_context()) as client:
            client.ehlo("telephone-neuf")
            code, _ = client.login(person.identifier, PASSWORD)
            assert code == 235, person.identifier


def test_web_colleagues_behind_an_attacked_address_are_not_refused(school):
    victim, colleagues = school
    attacker = WebClient(REMOTE_ADDR=SHARED)
    login = reverse("accounts:login")

    def attempt(identifier: str, password: str):
        return attacker.post(login, {"identifier": identifier, "password": password}).content.decode()

    pages = spray(attempt, victim, colleagues)
    assert "Identifiant ou mot de passe incorrect" in pages[0]
    assert "Trop de tentatives" in pages[-1]
    assert_bounded(victim)

    for person in colleagues:
        browser = WebClient(REMOTE_ADDR=SHARED)  # a new browser: no device cookie yet
        response = browser.post(login, {"identifier": person.identifier, "password": PASSWORD})
        assert response.status_code == 302, person.identifier
        page = browser.get(reverse("webmail:index"), follow=True)
        assert page.status_code == 200 and page.redirect_chain[-1][0].startswith("/courrier/")


def test_web_refusals_from_a_noisy_address_are_answered_late(person, settings, monkeypatch):
    """The web's delay is the middleware's, so it never holds the thread of
    Django's synchronous views under ASGI. Under the test client the chain
    above ServeStatic (async only) runs async too, so it awaits the delay."""
    from types import SimpleNamespace

    from academail.accounts import slowdown

    settings.THROTTLE_ADDRESS_FREE_FAILURES = 3
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr(slowdown.time, "sleep", slept.append)
    monkeypatch.setattr(slowdown, "asyncio", SimpleNamespace(sleep=sleep))
    client = WebClient(REMOTE_ADDR="192.0.2.50")
    for n in range(4):
        client.post(reverse("accounts:login"), {"identifier": f"x{n}", "password": "mauvais"})
    assert slept == [settings.THROTTLE_ADDRESS_BASE_DELAY] * 2
    ok = client.post(reverse("accounts:login"), {"identifier": person.identifier, "password": PASSWORD})
    assert ok.status_code == 302 and len(slept) == 2  # a right password is never slowed
