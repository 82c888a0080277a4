"""ManageSieve behind a PROXY-protocol load balancer, over real sockets (the
line server shared with IMAP reads the header): the forwarded address reaches
the journal; an untrusted peer or a truncated header closes the connection."""

from __future__ import annotations

import socket

import pytest

from academail.accounts.models import JournalEntry
from tests.managesieve.conftest import Client
from tests.proxyheaders import v1, v2


class ProxiedClient(Client):
    def __init__(self, host: str, port: int, header: bytes) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.sendall(header)
        self.file = self.sock.makefile("rb")
        self.greeting = self.read_reply()


@pytest.fixture
def behind_proxy(settings):
    settings.PROXY_PROTOCOL = True
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]


@pytest.mark.parametrize("header", [v1("203.0.113.7", dest_port=4190), v2("203.0.113.7", dest_port=4190)],
                         ids=["v1", "v2"])
def test_forwarded_address_reaches_the_journal(sieve_server, behind_proxy, user, header):
    client = ProxiedClient(sieve_server.host, sieve_server.port, header)
    assert client.greeting.ok
    client.starttls()
    assert client.login(user).ok
    client.close()
    assert list(JournalEntry.objects.filter(account=user).values_list("remote_addr", flat=True)) == ["203.0.113.7"]


@pytest.mark.parametrize(("trusted", "data"), [
    (["192.0.2.0/24"], v1("203.0.113.7")),  # untrusted peer
    (["127.0.0.1/32"], v2("203.0.113.7")[:20]),  # truncated
], ids=["untrusted", "truncated"])
def test_refused_header_closes_the_connection(sieve_server, settings, trusted, data):
    settings.PROXY_PROTOCOL = True
    settings.TRUSTED_PROXIES = trusted
    with socket.create_connection((sieve_server.host, sieve_server.port), timeout=10) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            received = sock.recv(1024)
        except OSError:  # reset or already gone: closed with our bytes unread, a close too
            received = b""
    assert received == b""
