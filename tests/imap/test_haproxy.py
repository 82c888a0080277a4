"""IMAP (143 and 993), the MX and submission (465) behind a real HAProxy
sending PROXY v2: a client connecting from 127.0.0.2 appears as 127.0.0.2 in
the journal and in Received, although the TCP peer of our listeners is HAProxy
at 127.0.0.1. On the implicit-TLS ports the header comes before the handshake."""

from __future__ import annotations

import smtplib
import socket

import pytest

from academail.accounts.models import JournalEntry
from academail.store.messages import access_message, read_raw
from academail.store.models import Mailbox
from tests.conftest import build_message
from tests.haproxy import haproxy_in_front
from tests.imap.conftest import Client, client_context
from tests.smtp.conftest import PASSWORD, mx, sender, submission  # noqa: F401  (the real MX and submission)

CLIENT = "127.0.0.2"


@pytest.fixture
def behind_haproxy(settings):
    settings.PROXY_PROTOCOL = True
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]  # HAProxy's address, not the client's


class FromClient(Client):
    def __init__(self, port: int) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(CLIENT, 0))
        self.sock = raw
        self.file = raw.makefile("rb")
        self.greeting = self.readline()
        self.counter = 0


def test_imap_through_haproxy(imap, behind_haproxy, user, tmp_path):
    with haproxy_in_front(tmp_path, imap.plain_port) as front:
        client = FromClient(front)
        assert client.greeting.startswith(b"* OK")
        assert client.cmd("STARTTLS").ok
        client.sock = client_context().wrap_socket(client.sock)
        client.file = client.sock.makefile("rb")
        client.login(user)
        client.close()
    assert list(JournalEntry.objects.filter(account=user).values_list("remote_addr", flat=True)) == [CLIENT]


def test_mx_through_haproxy(mx, behind_haproxy, make_account, tmp_path):  # noqa: F811
    account = make_account()
    raw = build_message(to=account.address)
    with haproxy_in_front(tmp_path, mx.port) as front:
        with smtplib.SMTP("127.0.0.1", front, timeout=10, source_address=(CLIENT, 0)) as client:
            client.ehlo("client.example")
            assert client.sendmail("direction@college-exemple.fr", [account.address], raw) == {}
    box = Mailbox.objects.get(account=account, special_use="inbox")
    assert f"\r\nReceived: from client.example ([{CLIENT}])".encode() in read_raw(access_message(account.pk, box.pk, 1))


def test_direct_client_is_refused_when_behind_haproxy(imap, behind_haproxy):
    with socket.create_connection(("127.0.0.1", imap.plain_port), timeout=10, source_address=(CLIENT, 0)) as sock:
        assert sock.recv(1024) == b""  # not a trusted proxy: closed without a greeting


# --- implicit TLS (993, 465): the PROXY header precedes the TLS handshake -------------

def test_imaps_through_haproxy(imap, behind_haproxy, user, tmp_path):
    with haproxy_in_front(tmp_path, imap.tls_port) as front:
        client = Client.over_tls(socket.create_connection(("127.0.0.1", front), timeout=10,
                                                          source_address=(CLIENT, 0)))
        assert client.greeting.startswith(b"* OK")
        client.login(user)
        client.close()
    assert list(JournalEntry.objects.filter(account=user).values_list("remote_addr", flat=True)) == [CLIENT]


def test_submissions_through_haproxy(submission, behind_haproxy, sender, tmp_path):  # noqa: F811
    with haproxy_in_front(tmp_path, submission.tls_port) as front:
        with smtplib.SMTP_SSL("127.0.0.1", front, context=client_context(), timeout=10,
                              source_address=(CLIENT, 0)) as client:
            client.ehlo("ordinateur.example")
            client.login(sender.identifier, PASSWORD)
    assert list(JournalEntry.objects.filter(account=sender).values_list("remote_addr", flat=True)) == [CLIENT]
