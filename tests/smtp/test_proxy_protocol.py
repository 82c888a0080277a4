"""The MX behind a PROXY-protocol load balancer, over real sockets: the client
the header names is the one in Received and in the per-address limit; an
untrusted peer, a truncated or a malformed header closes the connection."""

from __future__ import annotations

import smtplib
import socket

import pytest

from academail.store.messages import access_message, read_raw
from academail.store.models import Mailbox
from tests.conftest import build_message
from tests.proxyheaders import v1, v2


class ProxiedSMTP(smtplib.SMTP):
    """smtplib writing ``header`` right after connecting, as HAProxy's send-proxy does."""

    def __init__(self, header: bytes, host: str, port: int) -> None:
        self.header = header
        super().__init__(host, port, timeout=10)

    def _get_socket(self, host, port, timeout):  # type: ignore[no-untyped-def]
        sock = super()._get_socket(host, port, timeout)
        sock.sendall(self.header)
        return sock


@pytest.fixture
def behind_proxy(settings):
    settings.PROXY_PROTOCOL = True
    settings.TRUSTED_PROXIES = ["127.0.0.1/32", "::1/128"]


@pytest.mark.parametrize(("header", "source"), [
    (v1("203.0.113.7", dest_port=25), "203.0.113.7"),
    (v2("203.0.113.7", dest_port=25), "203.0.113.7"),
    (v2("2001:db8:5::7", dest_port=25), "2001:db8:5::7"),
], ids=["v1", "v2", "v2-ipv6"])
def test_received_names_the_forwarded_client(mx, behind_proxy, make_account, header, source):
    account = make_account()
    raw = build_message(to=account.address)
    with ProxiedSMTP(header, mx.host, mx.port) as client:
        client.ehlo("client.example")
        assert client.sendmail("direction@college-exemple.fr", [account.address], raw) == {}
    box = Mailbox.objects.get(account=account, special_use="inbox")
    stored = read_raw(access_message(account.pk, box.pk, 1))
    assert f"\r\nReceived: from client.example ([{source}])".encode() in stored
    assert b"127.0.0.1" not in stored.split(b"\r\n\r\n")[0]


def test_connection_limit_counts_the_client_not_the_proxy(mx, behind_proxy, settings):
    settings.SMTP_MAX_CONNECTIONS_PER_IP = 1
    first = ProxiedSMTP(v1("203.0.113.7"), mx.host, mx.port)
    other = ProxiedSMTP(v1("203.0.113.8"), mx.host, mx.port)  # another client through the same proxy
    try:
        with pytest.raises(smtplib.SMTPConnectError) as error:
            ProxiedSMTP(v1("203.0.113.7"), mx.host, mx.port)
        assert error.value.smtp_code == 421
    finally:
        first.quit()
        other.quit()


def _first_bytes(host: str, port: int, data: bytes) -> bytes:
    with socket.create_connection((host, port), timeout=10) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            return sock.recv(1024)
        except OSError:  # reset or already gone: closed with our bytes unread, a close too
            return b""


def test_untrusted_peer_is_refused(mx, settings):
    settings.PROXY_PROTOCOL = True
    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]
    assert _first_bytes(mx.host, mx.port, v1("203.0.113.7")) == b""


@pytest.mark.parametrize("data", [
    v1("203.0.113.7")[:20],
    v2("203.0.113.7")[:20],
    b"PROXY TCP4 203.0.113.7 192.0.2.1 1 " + b"9" * 100 + b"\r\n",
    b"EHLO client.example\r\n",
], ids=["v1-truncated", "v2-truncated", "v1-too-long", "missing"])
def test_bad_header_closes_the_connection(mx, behind_proxy, data):
    assert _first_bytes(mx.host, mx.port, data) == b""
