"""The rspamd adapter against the real Debian rspamd (and a redis-server for
its Bayes), both started here on free loopback ports: GTUBE through the MX
lands in Indésirables on rspamd's verdict, a plain message in the inbox,
moving a message to Indésirables teaches rspamd through its controller, and
rspamd unreachable falls back to the built-in engine."""

from __future__ import annotations

import json
import smtplib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from academail.delivery.dns import FakeResolver
from academail.protection.spam import GTUBE
from academail.store.models import Message
from academail.store.webmail import do_message_action
from tests.conftest import build_message
from tests.servers import free_port

PASSWORD = "mot-de-passe-de-test"
RESOLVER = FakeResolver(txt={"parents.example": ["v=spf1 ip4:127.0.0.1 -all"]})


@dataclass
class Rspamd:
    url: str
    controller: str

    def learned(self) -> int:
        request = urllib.request.Request(self.controller + "/stat", headers={"Password": PASSWORD})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return int(json.loads(response.read())["learned"])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def rspamd_server(tmp_path_factory) -> Iterator[Rspamd]:
    """rspamd 3.x with Debian's configuration, its own local.d (workers on free
    ports, Redis, logging) and writable dirs. Loading compiles its regexps
    (about a minute on a busy machine), hence the long wait."""
    home: Path = tmp_path_factory.mktemp("rspamd")
    local = home / "local.d"
    local.mkdir()
    redis_port, normal, controller, proxy = free_port(), free_port(), free_port(), free_port()
    (local / "worker-normal.inc").write_text(f'bind_socket = "127.0.0.1:{normal}";\ncount = 1;\n')
    (local / "worker-controller.inc").write_text(
        f'bind_socket = "127.0.0.1:{controller}";\ncount = 1;\npassword = "{PASSWORD}";\nenable_password = "{PASSWORD}";\n'
    )
    (local / "worker-proxy.inc").write_text(f'bind_socket = "127.0.0.1:{proxy}";\ncount = 0;\n')
    (local / "redis.conf").write_text(f'servers = "127.0.0.1:{redis_port}";\n')
    (local / "logging.inc").write_text(f'type = "file";\nfilename = "{home}/rspamd.log";\nlevel = "warning";\n')
    redis = subprocess.Popen(  # noqa: S603
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--dir", str(home)],
        stdout=subprocess.DEVNULL,
    )
    server = subprocess.Popen(  # noqa: S603
        ["rspamd", "-f", "-i", "-c", "/etc/rspamd/rspamd.conf", f"--var=LOCAL_CONFDIR={home}",
         f"--var=DBDIR={home}", f"--var=RUNDIR={home}", f"--var=LOGDIR={home}"],
        cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 400
        while not (_listening(normal) and _listening(controller)):
            assert server.poll() is None, (home / "rspamd.log").read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "rspamd did not listen in time"
            time.sleep(1)
        yield Rspamd(f"http://127.0.0.1:{normal}", f"http://127.0.0.1:{controller}")
    finally:
        for process in (server, redis):
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture
def with_rspamd(rspamd_server, settings) -> Rspamd:
    settings.RSPAMD_URL = rspamd_server.url
    settings.RSPAMD_CONTROLLER_URL = rspamd_server.controller
    settings.RSPAMD_PASSWORD = PASSWORD
    return rspamd_server


def send(mx, account, mail_from: str, raw: bytes) -> Message:
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("mta.parents.example")
        client.sendmail(mail_from, [account.address], raw)
    return Message.objects.filter(mailbox__account=account).select_related("mailbox").latest("pk")


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_gtube_through_the_mx_goes_to_indesirables_on_rspamds_verdict(with_rspamd, mx, make_account):
    account = make_account()
    message = send(mx, account, "maman@parents.example", build_message(sender="maman@parents.example", body=GTUBE))
    assert message.mailbox.special_use == "junk"
    prefix = bytes(message.prefix)
    assert b"X-Spam-Status: Yes" in prefix and b"engine=rspamd" in prefix
    assert b"GTUBE" in prefix  # rspamd's own symbol, not our rule's


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_plain_mail_through_rspamd_lands_in_the_inbox(with_rspamd, mx, make_account):
    account = make_account()
    raw = build_message(sender="maman@parents.example", subject="Sortie scolaire", body="Bonjour, la sortie est jeudi.")
    message = send(mx, account, "maman@parents.example", raw)
    assert message.mailbox.special_use == "inbox"
    prefix = bytes(message.prefix)
    assert b"X-Spam-Status: No" in prefix and b"engine=rspamd" in prefix


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_moving_to_indesirables_teaches_rspamd(with_rspamd, mx, make_account):
    account = make_account()
    body = "Offre exceptionnelle : gagnez un voyage, cliquez vite, promotion limitée, remise immédiate. " * 5
    message = send(mx, account, "maman@parents.example", build_message(sender="maman@parents.example", body=body))
    before = with_rspamd.learned()
    do_message_action(account.pk, message.mailbox_id, [message.uid], "junk")
    assert with_rspamd.learned() == before + 1


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_rspamd_unreachable_falls_back_to_the_built_in_engine(mx, make_account, settings):
    settings.RSPAMD_URL = f"http://127.0.0.1:{free_port()}"
    account = make_account()
    message = send(mx, account, "maman@parents.example", build_message(sender="maman@parents.example", body=GTUBE))
    assert message.mailbox.special_use == "junk"
    assert b"engine=academail" in bytes(message.prefix)
