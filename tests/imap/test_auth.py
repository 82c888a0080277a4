"""Greeting, capabilities, LOGIN / AUTHENTICATE PLAIN, STARTTLS and the state table."""

from __future__ import annotations

import base64

from academail.imap import responses as R
from tests.imap.conftest import PASSWORD


def test_greeting_advertises_capabilities_over_tls(connect):
    client = connect()
    assert client.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1")
    assert b"AUTH=PLAIN" in client.greeting and b"LOGINDISABLED" not in client.greeting


def test_plain_port_disables_login_until_starttls(connect, user):
    client = connect(tls=False)
    assert b"STARTTLS" in client.greeting and b"LOGINDISABLED" in client.greeting
    response = client.cmd(f"LOGIN {user.identifier} {PASSWORD}")
    assert response.status == "NO" and R.CODE_PRIVACYREQUIRED.encode() in response.tagged
    assert client.cmd("STARTTLS").ok
    from tests.imap.conftest import client_context

    client.sock = client_context().wrap_socket(client.sock)
    client.file = client.sock.makefile("rb")
    caps = client.cmd("CAPABILITY")
    assert b"AUTH=PLAIN" in caps.untagged[0] and b"STARTTLS" not in caps.untagged[0]
    assert client.cmd(f"LOGIN {user.identifier} {PASSWORD}").ok


def test_starttls_discards_commands_pipelined_in_clear_text(connect, user):
    from tests.imap.conftest import client_context

    client = connect(tls=False)
    client.send(f"s STARTTLS\r\nx LOGIN {user.identifier} {PASSWORD}\r\n".encode())
    assert client.read_until("s").ok
    client.sock = client_context().wrap_socket(client.sock)
    client.file = client.sock.makefile("rb")
    # The LOGIN sent in clear text after STARTTLS was dropped: not signed in.
    assert client.cmd("SELECT INBOX").status == "BAD"
    assert client.cmd(f"LOGIN {user.identifier} {PASSWORD}").ok


def test_login_wrong_password_and_state_table(connect, user):
    client = connect()
    # Commands of the authenticated state are refused before login.
    assert client.cmd("SELECT INBOX").status == "BAD"
    response = client.cmd(f"LOGIN {user.identifier} wrong")
    assert response.status == "NO" and b"[AUTHENTICATIONFAILED]" in response.tagged
    ok = client.cmd(f'LOGIN {user.identifier.upper()} "{PASSWORD}"')
    assert ok.ok and b"[CAPABILITY" in ok.tagged and b"IDLE" in ok.tagged
    # LOGIN again is not allowed once authenticated; FETCH needs a selected mailbox.
    assert client.cmd(f"LOGIN {user.identifier} {PASSWORD}").status == "BAD"
    assert client.cmd("FETCH 1 FLAGS").status == "BAD"
    bye = client.cmd("LOGOUT")
    assert bye.ok and bye.untagged[0].startswith(b"* BYE")


def test_authenticate_plain_with_initial_response_and_continuation(connect, user):
    token = base64.b64encode(f"\0{user.identifier}\0{PASSWORD}".encode()).decode()
    client = connect()
    assert client.cmd(f"AUTHENTICATE PLAIN {token}").ok
    other = connect()
    other.send(b"a AUTHENTICATE PLAIN\r\n")
    assert other.readline().startswith(b"+")
    other.send(token.encode() + b"\r\n")
    assert other.read_until("a").ok
    cancelled = connect()
    cancelled.send(b"b AUTHENTICATE PLAIN\r\n")
    cancelled.readline()
    cancelled.send(b"*\r\n")
    assert cancelled.read_until("b").status == "BAD"


def test_inactive_account_cannot_log_in(connect, make_account):
    account = make_account(first="Paul", last="Durand", status="suspended")
    account.set_password(PASSWORD)
    account.save()
    assert connect().cmd(f"LOGIN {account.identifier} {PASSWORD}").status == "NO"


def test_id_enable_namespace(session):
    assert b'"name" "academail"' in session.cmd('ID ("name" "test")').untagged[0]
    enabled = session.cmd("ENABLE CONDSTORE UTF8=ACCEPT X-UNKNOWN")
    assert enabled.untagged == [b"* ENABLED CONDSTORE UTF8=ACCEPT\r\n"]
    # RFC 2342 §5: the shared namespace (issue 19), in UTF-8 once UTF8=ACCEPT is on (RFC 6855 §3).
    assert session.cmd("NAMESPACE").untagged == ['* NAMESPACE (("" "/")) NIL (("Partagés/" "/"))\r\n'.encode()]
