"""COMPRESS=DEFLATE (RFC 4978) over real TLS: raw deflate both ways after the
OK, a second COMPRESS refused, and a deflate bomb that costs the line limit,
not its expanded size."""

from __future__ import annotations

import zlib

from tests.imap.helpers import deliver_to


class Deflated:
    """The client side of RFC 4978: deflate what is sent, inflate what comes."""

    def __init__(self, client) -> None:
        self.sock = client.sock
        self.deflater = zlib.compressobj(wbits=-15)
        self.inflater = zlib.decompressobj(wbits=-15)
        self.buffer = b""
        self.counter = 0

    def send(self, data: bytes) -> None:
        self.sock.sendall(self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH))

    def cmd(self, text: bytes) -> tuple[list[bytes], bytes]:
        self.counter += 1
        tag = b"z%d" % self.counter
        self.send(tag + b" " + text + b"\r\n")
        return self.until(tag)

    def until(self, tag: bytes) -> tuple[list[bytes], bytes]:
        lines: list[bytes] = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                self.buffer += self.inflater.decompress(chunk)
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            if line.startswith(tag + b" "):
                return lines, line
            lines.append(line)


def test_compress_deflate_round_trip(session, user):
    """RFC 4978 §3: after "OK", both directions are deflated; §4: every response
    can be inflated when it arrives (sync flush)."""
    deliver_to(user)
    assert b"COMPRESS=DEFLATE" in session.cmd("CAPABILITY").untagged[0]
    ok = session.cmd("COMPRESS DEFLATE")
    assert ok.ok, ok.tagged
    z = Deflated(session)
    untagged, tagged = z.cmd(b"SELECT INBOX")
    assert tagged.startswith(b"z1 OK")
    assert b"* 1 EXISTS" in untagged
    untagged, tagged = z.cmd(b"FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert tagged.startswith(b"z2 OK") and any(b"Conseil de classe" in line for line in untagged)
    _, tagged = z.cmd(b"COMPRESS DEFLATE")
    assert b"NO [COMPRESSIONACTIVE]" in tagged
    _, tagged = z.cmd(b"NOOP")
    assert tagged.startswith(b"z4 OK")


def test_compress_bad_algorithm_and_state(connect, user):
    client = connect()
    assert client.cmd("COMPRESS DEFLATE").status == "BAD"  # RFC 4978 §3: after authentication
    client.login(user)
    assert client.cmd("COMPRESS LZMA").status == "BAD"
    assert client.cmd("NOOP").ok


def test_deflate_bomb_costs_the_line_limit(session, connect, user):
    """Bad input: 200 MB of one line deflated to ~200 KB. The server inflates it
    a chunk at a time behind its line limit (``server.deflate``); the line that
    never ends is told BYE and dropped, as in clear text, and the server goes
    on serving."""
    assert session.cmd("COMPRESS DEFLATE").ok
    z = Deflated(session)
    chunk = b"A" * (1024 * 1024)
    try:
        z.sock.sendall(z.deflater.compress(b"z0 NOOP "))
        for _ in range(200):
            z.sock.sendall(z.deflater.compress(chunk))
        z.send(b"\r\n")
    except OSError:
        pass  # dropped while sending: what is expected
    received = b""
    try:
        while chunk := z.sock.recv(65536):
            received += z.inflater.decompress(chunk)
    except OSError:
        pass
    assert b"* BYE" in received
    other = connect()
    other.login(user)
    assert other.cmd("NOOP").ok
