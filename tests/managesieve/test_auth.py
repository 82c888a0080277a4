"""Greeting, CAPABILITY, STARTTLS and signing in (RFC 5804 §1.7, §2.1-2.4,
§2.14): no password before TLS, PLAIN with and without initial response and
as a literal, LOGIN, cancelling, the one sign-in check with its throttling and
journal."""

from __future__ import annotations

import base64

from academail.accounts.models import JournalEntry
from academail.filters.sieve import SUPPORTED_EXTENSIONS
from academail.managesieve import responses as R
from tests.managesieve.conftest import PASSWORD, client_context, literal


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def capabilities(lines: list[bytes]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for line in lines:
        name, _, value = line.rstrip(b"\r\n").partition(b" ")
        found[name.strip(b'"').decode()] = value.strip(b'"').decode() if value else None
    return found


def test_greeting_lists_capabilities_without_sasl_before_tls(connect):
    client = connect()
    assert client.greeting.ok
    caps = capabilities(client.greeting.lines)
    assert caps["IMPLEMENTATION"] == "academail"
    assert caps["VERSION"] == "1.0"
    assert "STARTTLS" in caps and caps["STARTTLS"] is None
    assert caps["SASL"] == ""  # no mechanism where the password would travel in clear
    assert set(caps["SIEVE"].split()) == set(SUPPORTED_EXTENSIONS)
    assert "fileinto" in caps["SIEVE"].split() and "vacation" in caps["SIEVE"].split()


def test_starttls_reissues_capabilities_with_sasl(connect):
    client = connect()
    after = client.starttls()
    assert after.ok
    caps = capabilities(after.lines)
    assert caps["SASL"] == "PLAIN LOGIN"
    assert "STARTTLS" not in caps
    again = client.cmd("CAPABILITY")
    assert again.ok and capabilities(again.lines) == caps
    refused = client.cmd("STARTTLS")
    assert refused.status == "NO"


def test_authenticate_refused_before_starttls(connect, user):
    client = connect()
    reply = client.login(user)
    assert reply.status == "NO" and reply.code == R.CODE_ENCRYPT_NEEDED
    assert not JournalEntry.objects.filter(account=user, kind="signin").exists()
    # Still refused for a command that needs a signed-in user.
    assert client.cmd("LISTSCRIPTS").status == "NO"


def test_plain_with_initial_response(connect, user):
    client = connect()
    client.starttls()
    reply = client.login(user)
    assert reply.ok, reply
    entry = JournalEntry.objects.filter(account=user, kind__in=["signin", "new_device"]).latest("id")
    assert entry.protocol == "sieve"
    caps = capabilities(client.cmd("CAPABILITY").lines)
    assert caps["OWNER"] == user.identifier


def test_plain_with_continuation_and_literal(connect, user):
    client = connect()
    client.starttls()
    client.send(b'AUTHENTICATE "PLAIN"\r\n')
    challenge = client.readline()
    assert challenge == b'""\r\n'
    token = b64(f"\0{user.identifier}\0{PASSWORD}").encode()
    client.send(literal(token) + b"\r\n")
    assert client.read_reply().ok


def test_plain_initial_response_as_literal_and_lowercase_command(connect, user):
    client = connect()
    client.starttls()
    token = b64(f"{user.identifier}\0{user.identifier}\0{PASSWORD}").encode()
    reply = client.cmd(b'authenticate "plain" ' + literal(token))
    assert reply.ok, reply


def test_login_mechanism(connect, user):
    client = connect()
    client.starttls()
    client.send(b'AUTHENTICATE "LOGIN"\r\n')
    assert base64.b64decode(client.readline().strip().strip(b'"')) == b"Username:"
    client.send(f'"{b64(user.identifier)}"\r\n'.encode())
    assert base64.b64decode(client.readline().strip().strip(b'"')) == b"Password:"
    client.send(f'"{b64(PASSWORD)}"\r\n'.encode())
    assert client.read_reply().ok


def test_cancel_and_malformed_responses(connect, user):
    client = connect()
    client.starttls()
    client.send(b'AUTHENTICATE "PLAIN"\r\n')
    client.readline()
    client.send(b'"*"\r\n')
    cancelled = client.read_reply()
    assert cancelled.status == "NO" and "annulée" in cancelled.text
    assert client.cmd('AUTHENTICATE "PLAIN" "pas du base64!"').status == "NO"
    assert client.cmd(f'AUTHENTICATE "PLAIN" "{b64("sans-separateur")}"').status == "NO"
    assert client.cmd('AUTHENTICATE "CRAM-MD5"').status == "NO"
    other = b64(f"quelquun\0{user.identifier}\0{PASSWORD}")
    assert client.cmd(f'AUTHENTICATE "PLAIN" "{other}"').status == "NO"  # no proxy authorisation
    assert client.login(user).ok  # the session is still usable


def test_wrong_password_then_throttled(connect, user):
    client = connect()
    client.starttls()
    replies = [client.login(user, "mauvais-mot-de-passe") for _ in range(6)]
    assert all(r.status == "NO" for r in replies)
    assert replies[0].code == ""
    assert replies[-1].code == R.CODE_TRYLATER and "réessayez dans" in replies[-1].text
    # Throttled: even the right password is not checked now.
    assert client.login(user).code == R.CODE_TRYLATER
    assert JournalEntry.objects.filter(account=user, kind="signin_failed", protocol="sieve").count() >= 5


def test_unknown_identifier_looks_like_a_wrong_password(connect, user):
    client = connect()
    client.starttls()
    unknown = client.cmd(f'AUTHENTICATE "PLAIN" "{b64(chr(0) + "personne" + chr(0) + PASSWORD)}"')
    wrong = client.login(user, "mauvais-mot-de-passe")
    assert unknown.status == wrong.status == "NO" and unknown.text == wrong.text


def test_app_passwords_required_refuses_the_account_password(connect, user, settings):
    settings.REQUIRE_APP_PASSWORDS = True
    client = connect()
    client.starttls()
    assert client.login(user).status == "NO"


def test_unauthenticate_and_logout(session, user):
    assert session.cmd("LISTSCRIPTS").ok
    assert session.cmd("UNAUTHENTICATE").ok
    assert session.cmd("LISTSCRIPTS").status == "NO"
    assert session.login(user).ok  # TLS stays; sign in again
    assert session.cmd("UNAUTHENTICATE").ok
    bye = session.cmd("LOGOUT")
    assert bye.ok
    assert session.file.read() == b""  # the server closed the connection


def test_starttls_discards_commands_pipelined_in_clear_text(connect, user):
    client = connect()
    client.send(b'STARTTLS\r\nAUTHENTICATE "PLAIN" "' + b64(f"\0{user.identifier}\0{PASSWORD}").encode() + b'"\r\n')
    assert client.read_reply().ok
    client.sock = client_context().wrap_socket(client.sock, server_hostname="127.0.0.1")
    client.file = client.sock.makefile("rb")
    assert client.read_reply().ok  # capabilities after TLS
    # The injected AUTHENTICATE was dropped: not signed in.
    assert client.cmd("LISTSCRIPTS").status == "NO"
