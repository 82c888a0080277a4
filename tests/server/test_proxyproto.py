"""The PROXY header reader (server.proxyproto) on a real StreamReader: valid
v1/v2 headers give the client; any other byte string gives None or a client,
never an exception, and never reads past the header."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from academail.server.proxyproto import is_trusted_proxy, read_proxy_header
from tests.proxyheaders import V2_SIGNATURE, v1, v2, v2_local


def read(data: bytes, peer: str = "10.0.0.1", *, eof: bool = True) -> tuple[str | None, bytes]:
    async def go() -> tuple[str | None, bytes]:
        reader = asyncio.StreamReader(limit=8192)
        reader.feed_data(data)
        if eof:
            reader.feed_eof()
        client = await read_proxy_header(reader, peer)
        rest = await reader.read() if eof else b""
        return client, rest

    return asyncio.run(go())


@pytest.fixture(autouse=True)
def _trusted(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]


def test_valid_headers_give_the_client_and_leave_what_follows():
    assert read(v1("203.0.113.7") + b"a1 NOOP\r\n") == ("203.0.113.7", b"a1 NOOP\r\n")
    assert read(v1("2001:db8::7") + b"x") == ("2001:db8::7", b"x")
    assert read(v2("203.0.113.7", tlv=b"\x04\x00\x01z") + b"x") == ("203.0.113.7", b"x")  # TLVs skipped (§2.2.7)
    assert read(v2_local() + b"x") == ("10.0.0.1", b"x")  # LOCAL: the proxy itself
    assert read(b"PROXY UNKNOWN\r\nx") == ("10.0.0.1", b"x")  # §2.1: UNKNOWN keeps the peer


def test_untrusted_peer_is_refused_before_reading():
    assert read(v1("203.0.113.7"), peer="203.0.113.9") == (None, v1("203.0.113.7"))
    assert not is_trusted_proxy("not an address")
    assert is_trusted_proxy("::ffff:10.1.2.3")  # an IPv4 peer on a dual-stack socket


@pytest.mark.parametrize("data", [
    b"", b"PROX", b"PROXY TCP4 203.0.113.7", V2_SIGNATURE[:7], v2("203.0.113.7")[:-1],
    b"PROXY TCP4 203.0.113.7 192.0.2.1 99999 25\r\n", b"PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n",
    b"PROXY TCP4 203.0.113.7 192.0.2.1 01 25\r\n", b"PROXY  TCP4 203.0.113.7 192.0.2.1 1 25\r\n",
    b"PROXY TCP4 203.0.113.7 192.0.2.1 1 2\n", b"GET / HTTP/1.0\r\n\r\n",
    V2_SIGNATURE + b"\x31\x11\x00\x0c" + bytes(12),  # version 3
    V2_SIGNATURE + b"\x21\x11\x00\x04" + bytes(4),  # length too short for two IPv4 addresses and ports
])
def test_malformed_or_truncated_is_refused(data):
    assert read(data)[0] is None


def test_a_silent_proxy_is_cut_after_the_timeout(monkeypatch):
    monkeypatch.setattr("academail.server.proxyproto.PROXY_HEADER_TIMEOUT", 0.05)
    assert read(v2("203.0.113.7")[:10], eof=False) == (None, b"")


@hsettings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=300),
    st.builds(lambda tail: b"PROXY " + tail, st.binary(max_size=200)),
    st.builds(lambda head, tail: V2_SIGNATURE + head + tail, st.binary(min_size=4, max_size=4), st.binary(max_size=300)),
))
def test_fuzz_never_raises_and_a_client_is_an_address(data):
    client, _ = read(data)
    assert client is None or client == "10.0.0.1" or ":" in client or client.count(".") == 3
