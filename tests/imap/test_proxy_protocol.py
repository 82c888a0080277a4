"""IMAP behind a PROXY-protocol load balancer, over real sockets: the address
the header names reaches the journal and sign-in throttling; an untrusted peer,
a truncated or a malformed header closes the connection."""

from __future__ import annotations

import socket

import pytest

from academail.accounts.models import JournalEntry, Throttle
from academail.accounts.throttle import address_key
from tests.imap.conftest import PASSWORD, Client, client_context
from tests.proxyheaders import v1, v2, v2_local


class ProxiedClient(Client):
    """An IMAP client that writes ``header`` first, as HAProxy's send-proxy does."""

    def __init__(self, host: str, port: int, header: bytes) -> None:
        raw = socket.create_connection((host, port), timeout=10)
        raw.sendall(header)
        self.sock = raw
        self.file = raw.makefile("rb")
        self.greeting = self.readline()
        self.counter = 0

    def starttls(self) -> None:
        assert self.cmd("STARTTLS").ok
        self.sock = client_context().wrap_socket(self.sock)
        self.file = self.sock.makefile("rb")


@pytest.fixture
def behind_proxy(settings):
    settings.PROXY_PROTOCOL = True
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]


def closed_without_greeting(host: str, port: int, data: bytes, *, shut: bool = False) -> bytes:
    with socket.create_connection((host, port), timeout=10) as sock:
        try:
            sock.sendall(data)
            if shut:
                sock.shutdown(socket.SHUT_WR)
            return sock.recv(1024)
        except OSError:  # reset or already gone: closed with our bytes unread, a close too
            return b""


@pytest.mark.parametrize(("header", "source"), [
    (v1("203.0.113.7"), "203.0.113.7"), (v2("203.0.113.7"), "203.0.113.7"), (v2("2001:db8:5::7"), "2001:db8:5::7"),
], ids=["v1", "v2", "v2-ipv6"])
def test_forwarded_address_reaches_journal_and_throttling(imap, behind_proxy, user, header, source):
    client = ProxiedClient(imap.host, imap.plain_port, header)
    assert client.greeting.startswith(b"* OK")
    client.starttls()
    assert client.cmd(f'LOGIN {user.identifier} "wrong-{PASSWORD}"').status == "NO"
    client.login(user)
    client.close()
    entries = list(JournalEntry.objects.filter(account=user).order_by("id").values_list("kind", "remote_addr"))
    assert [address for _, address in entries] == [source, source]
    # The failure counted against the client, not against the proxy (which all clients share).
    assert Throttle.objects.filter(key=address_key(source), window_failures=1).exists()
    assert not Throttle.objects.filter(key=address_key("127.0.0.1")).exists()


def test_proxy_health_check_keeps_the_proxy_address(imap, behind_proxy, user):
    client = ProxiedClient(imap.host, imap.plain_port, v2_local())
    assert client.greeting.startswith(b"* OK")
    client.starttls()
    client.login(user)
    client.close()
    assert list(JournalEntry.objects.filter(account=user).values_list("remote_addr", flat=True)) == ["127.0.0.1"]


def test_untrusted_peer_is_refused(imap, settings):
    settings.PROXY_PROTOCOL = True
    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]
    assert closed_without_greeting(imap.host, imap.plain_port, v1("203.0.113.7")) == b""


@pytest.mark.parametrize("data", [
    v1("203.0.113.7")[:20],  # truncated v1, then end of input
    v2("203.0.113.7")[:20],  # truncated v2 (length says 12, 4 sent)
    b"PROXY TCP4 203.0.113.7 192.0.2.1 1 " + b"9" * 100 + b"\r\n",  # over 107 bytes (§2.1)
    b"PROXY TCP4 not-an-address 192.0.2.1 1 2\r\n",
    b"a001 CAPABILITY\r\n",  # no header at all
], ids=["v1-truncated", "v2-truncated", "v1-too-long", "v1-malformed", "missing"])
def test_bad_header_closes_the_connection(imap, behind_proxy, data):
    assert closed_without_greeting(imap.host, imap.plain_port, data, shut=True) == b""


def test_silent_proxy_is_closed_within_the_header_timeout(imap, behind_proxy, monkeypatch):
    monkeypatch.setattr("academail.server.proxyproto.PROXY_HEADER_TIMEOUT", 0.5)
    with socket.create_connection((imap.host, imap.plain_port), timeout=10) as sock:
        sock.sendall(v2("203.0.113.7")[:10])
        assert sock.recv(1024) == b""  # closed by the server, well before the 10 s client timeout


# --- 993: the header comes before the TLS handshake (server.proxyproto.start_tls_listener) ---

def test_header_and_client_hello_in_one_segment_on_993(imap, behind_proxy, user):
    raw = socket.create_connection((imap.host, imap.tls_port), timeout=10)
    # TCP_CORK holds the header until the ClientHello joins it (flushed after 200 ms at most):
    # the server must read the header's bytes exactly, and leave the ClientHello to TLS.
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    raw.sendall(v2("203.0.113.9"))
    client = Client.over_tls(raw)
    assert client.greeting.startswith(b"* OK")
    client.login(user)
    client.close()
    assert list(JournalEntry.objects.filter(account=user).values_list("remote_addr", flat=True)) == ["203.0.113.9"]


def test_untrusted_peer_is_refused_on_993(imap, settings):
    settings.PROXY_PROTOCOL = True
    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]
    assert closed_without_greeting(imap.host, imap.tls_port, v1("203.0.113.7")) == b""


@pytest.mark.parametrize("data", [
    v2("203.0.113.7")[:20],  # truncated
    b"PROXY TCP4 203.0.113.7 192.0.2.1 1 " + b"9" * 100 + b"\r\n",  # over 107 bytes (§2.1)
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a ClientHello without a header
], ids=["v2-truncated", "v1-too-long", "missing"])
def test_bad_header_closes_the_connection_on_993(imap, behind_proxy, data):
    assert closed_without_greeting(imap.host, imap.tls_port, data, shut=True) == b""


def test_993_without_proxy_protocol_is_tls_from_the_first_byte(imap, user):
    client = Client(imap.host, imap.tls_port)
    assert client.greeting.startswith(b"* OK")
    client.login(user)
    client.close()
    assert list(JournalEntry.objects.filter(account=user).values_list("remote_addr", flat=True)) == ["127.0.0.1"]
