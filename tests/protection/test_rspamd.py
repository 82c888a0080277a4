"""The rspamd adapter against the real Debian rspamd (and a redis-server for
its Bayes), both started here on free loopback ports: GTUBE through the MX
lands in Indésirables on rspamd's verdict, a plain message in the inbox,
moving a message to Indésirables teaches rspamd through its controller, and
rspamd unreachable falls back to the built-in engine."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from academail.delivery.dns import FakeResolver
from academail.protection.spam import GTUBE
from academail.store.models import Message
from academail.store.webmail import do_message_action
from tests.conftest import build_message
from tests.rspamd_server import PASSWORD, Rspamd, running_rspamd
from tests.servers import free_port

RESOLVER = FakeResolver(txt={"parents.example": ["v=spf1 ip4:127.0.0.1 -all"]})


@pytest.fixture(scope="module")
def rspamd_server(tmp_path_factory) -> Iterator[Rspamd]:
    """rspamd 3.x with Debian's configuration and its own local.d
    (``tests.rspamd_server``), once per module: loading takes a minute."""
    with running_rspamd(tmp_path_factory.mktemp("rspamd")) as server:
        yield server


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
def test_rspamd_hears_the_recipients(with_rspamd, mx, make_account):
    """Each SMTP recipient goes as an ``Rcpt`` header (and ``Deliver-To``
    for a single one): rspamd's history lists them for the scan."""
    julie, paul = make_account(), make_account()
    raw = build_message(sender="maman@parents.example", subject="Réunion parents", body="Bonjour à tous les deux.")
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("mta.parents.example")
        client.sendmail("maman@parents.example", [julie.address, paul.address], raw)
    message_id = Message.objects.filter(mailbox__account=julie).latest("pk").content.message_id.strip("<>")
    rows = [r for r in with_rspamd.history() if str(r.get("message-id", "")).strip("<>") == message_id]
    assert rows, "rspamd did not record the scan"
    assert sorted(rows[0]["rcpt_smtp"]) == sorted([julie.address, paul.address])


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
