"""Real clients: Python's imaplib (implicit TLS and STARTTLS) and imapclient,
including IDLE seeing a message delivered through the one door."""

from __future__ import annotations

import imaplib
import time

import pytest
from imapclient import IMAPClient

from tests.conftest import build_message
from tests.imap.conftest import PASSWORD, client_context
from tests.imap.helpers import corpus, deliver_to
from tests.smtp.conftest import mx  # noqa: F401, F811  (the real MX, for delivery over SMTP)

pytestmark = pytest.mark.e2e


def test_imaplib_over_implicit_tls(imap, user):
    deliver_to(user, corpus("nested_rfc822.eml"))
    with imaplib.IMAP4_SSL(imap.host, imap.tls_port, ssl_context=client_context()) as client:
        client.login(user.identifier, PASSWORD)
        typ, data = client.select("INBOX")
        assert typ == "OK" and data == [b"1"]
        typ, data = client.fetch("1", "(BODY.PEEK[2.1])")
        assert data[0][1] == b"Texte d'origine."
        typ, data = client.uid("SEARCH", None, "ALL")
        assert data == [b"1"]
        client.store("1", "+FLAGS", "\\Deleted")
        typ, data = client.expunge()
        assert data == [b"1"]
        client.logout()


def test_imaplib_starttls_and_append(imap, user):
    client = imaplib.IMAP4(imap.host, imap.plain_port)
    assert "LOGINDISABLED" in client.capabilities
    client.starttls(ssl_context=client_context())
    client.login(user.identifier, PASSWORD)
    raw = build_message(subject="Envoyé depuis imaplib")
    typ, data = client.append("Envoy&AOk-s", "(\\Seen)", imaplib.Time2Internaldate(time.time()), raw)
    assert typ == "OK" and b"APPENDUID" in data[0]
    typ, data = client.status("Envoy&AOk-s", "(MESSAGES)")
    assert b"MESSAGES 1" in data[0]
    client.logout()


def test_imapclient_sync_flags_and_folders(imap, user):
    for _ in range(3):
        deliver_to(user)
    with IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context()) as client:
        client.login(user.identifier, PASSWORD)
        assert client.has_capability("MOVE") and client.has_capability("CONDSTORE")
        folders = {name: flags for flags, _, name in client.list_folders()}
        assert b"\\Sent" in folders["Envoyés"] and b"\\Junk" in folders["Indésirables"]
        client.select_folder("INBOX")
        messages = client.search("ALL")
        assert messages == [1, 2, 3]
        data = client.fetch(messages, ["FLAGS", "ENVELOPE", "RFC822.SIZE", "INTERNALDATE"])
        assert data[1][b"ENVELOPE"].subject == b"Conseil de classe"
        client.add_flags([2], [b"\\Flagged"])
        assert client.get_flags([2])[2] == (b"\\Flagged", b"\\Recent")  # first to select: RFC 3501 §2.3.2
        client.move([3], "Archives")
        assert client.search("ALL") == [1, 2]
        client.create_folder("Élèves")
        assert "Élèves" in [name for _, _, name in client.list_folders()]
        quota = client.get_quota_root("INBOX")
        assert quota[1][0].resource == "STORAGE"


def test_imapclient_idle_sees_delivery_within_a_second(imap, user):
    with IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context()) as client:
        client.login(user.identifier, PASSWORD)
        client.select_folder("INBOX")
        client.idle()
        started = time.monotonic()
        deliver_to(user)
        responses = client.idle_check(timeout=1)
        elapsed = time.monotonic() - started
        client.idle_done()
        assert (1, b"EXISTS") in responses and elapsed < 1.0


def test_imapclient_idle_sees_smtp_delivery(imap, mx, user):  # noqa: F811
    import smtplib

    with IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context()) as client:
        client.login(user.identifier, PASSWORD)
        client.select_folder("INBOX")
        client.idle()
        with smtplib.SMTP(mx.host, mx.port) as smtp:
            smtp.sendmail("direction@college-exemple.fr", [user.address], build_message(to=user.address))
        started = time.monotonic()
        responses = client.idle_check(timeout=1)
        client.idle_done()
        assert (1, b"EXISTS") in responses and time.monotonic() - started < 1.0
