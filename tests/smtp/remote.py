"""Loopback stand-ins for the Internet: "remote" MX servers (aiosmtpd) on
127.0.0.2 (accepts, defers or rejects by local part, offers STARTTLS) and
127.0.0.3 (accepts the connection and never answers), a fake DNS resolver
pointing at them, and an event loop in a thread to run servers in."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field

from aiosmtpd.smtp import SMTP

from academail.delivery.dns import FakeResolver
from academail.delivery.queue import SMTPTransport
from academail.server.tls import server_context
from tests.servers import LoopThread

SINK_IP = "127.0.0.2"
HANG_IP = "127.0.0.3"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool


@dataclass
class SinkHandler:
    """Per recipient local part: "defer*" -> 451, "reject*"/"inconnu*" -> 550, else 250."""

    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, options):
        local = address.partition("@")[0].lower()
        if local.startswith("defer"):
            return "451 4.3.0 Try again later"
        if local.startswith(("reject", "inconnu")):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(data), session.ssl is not None))
        return "250 2.0.0 OK queued remotely"


def free_port_on(*hosts: str) -> int:
    while True:
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = probe.getsockname()[1]
        try:
            for host in hosts[1:]:
                with socket.socket() as other:
                    other.bind((host, port))
            return port
        except OSError:
            continue


class RemoteInternet:
    """Both servers on one port (MX hosts listen on 25; ours on ``port``)."""

    def __init__(self) -> None:
        self.loops = LoopThread()
        self.port = free_port_on(SINK_IP, HANG_IP)
        self.sink = SinkHandler()
        self.hung: list[asyncio.StreamWriter] = []
        tls = server_context()

        async def start() -> list[asyncio.base_events.Server]:
            loop = asyncio.get_running_loop()
            sink = await loop.create_server(
                lambda: SMTP(self.sink, tls_context=tls, decode_data=False, enable_SMTPUTF8=True, hostname="mx.exemple.org"),
                host=SINK_IP, port=self.port,
            )

            async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                self.hung.append(writer)  # never greets: the sender must time out

            hanging = await asyncio.start_server(hang, host=HANG_IP, port=self.port)
            return [sink, hanging]

        self.servers = self.loops.run(start())
        self.resolver = FakeResolver(
            mx={
                "exemple.org": [(10, "mx.exemple.org")],
                "lent.example": [(10, "mx.lent.example")],
                "nulle.example": [(0, ".")],
                "sans-mx.example": [],
            },
            a={"mx.exemple.org": [SINK_IP], "mx.lent.example": [HANG_IP]},
            fail=["panne-dns.example"],
        )

    def transport(self, timeout: float = 5) -> SMTPTransport:
        return SMTPTransport(self.resolver, relay="", port=self.port, timeout=timeout)

    def close(self) -> None:
        async def stop() -> None:
            for writer in self.hung:
                writer.close()
            for server in self.servers:
                server.close()

        self.loops.run(stop())
        self.loops.stop()
