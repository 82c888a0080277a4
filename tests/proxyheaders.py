"""PROXY protocol headers as HAProxy sends them (proxy-protocol.txt §2.1 v1
text, §2.2 v2 binary), for the listener tests."""

from __future__ import annotations

import ipaddress
import struct

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(source: str, port: int = 51234, *, dest: str | None = None, dest_port: int = 143) -> bytes:
    family = "TCP6" if ":" in source else "TCP4"
    dest = dest or ("2001:db8::1" if family == "TCP6" else "192.0.2.1")
    return f"PROXY {family} {source} {dest} {port} {dest_port}\r\n".encode()


def v2(source: str, port: int = 51234, *, dest: str | None = None, dest_port: int = 143, tlv: bytes = b"") -> bytes:
    src = ipaddress.ip_address(source)
    dst = ipaddress.ip_address(dest or ("192.0.2.1" if src.version == 4 else "2001:db8::1"))
    family = 0x11 if src.version == 4 else 0x21  # AF_INET/AF_INET6 + STREAM
    body = src.packed + dst.packed + struct.pack("!HH", port, dest_port) + tlv
    return V2_SIGNATURE + bytes([0x21, family]) + struct.pack("!H", len(body)) + body


def v2_local() -> bytes:
    """The proxy's own connection (a health check): LOCAL, no address."""
    return V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack("!H", 0)
