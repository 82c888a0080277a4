"""Two MX and two IMAP processes on one PostgreSQL behind a real HAProxy with
the PROXY protocol (issue 21, "Done when"): connections are spread over both
processes of each kind, each process serves its share (its own /metrics on
ACADEMAIL_METRICS_PORT say so), and the client's address (127.0.0.2, not
HAProxy's 127.0.0.1) reaches the Received field and the journal."""

from __future__ import annotations

import contextlib
import imaplib
import json
import smtplib
import socket
import ssl
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import build_message
from tests.haproxy import haproxy_in_front
from tests.servers import free_port
from tests.serving import academail, academail_env, running

pytestmark = pytest.mark.e2e

SERVER = "postgres://postgres@127.0.0.1:5432/"
CLIENT = "127.0.0.2"
TOKEN = "jeton-2-plus-2"  # noqa: S105
PASSWORD = "Corr3ct-cheval-batterie-2p2"  # noqa: S105
MAKE_ACCOUNT = f"""
from academail.accounts.models import Status
from academail.accounts.services import check_create_account
person = check_create_account(first_name="Julie", last_name="Martin", numen="11E9501234ABC", status=str(Status.ACTIVE))
person.set_password({PASSWORD!r}); person.save()
print(person.identifier, person.address)
"""
REPORT = """
import json
from academail.accounts.models import JournalEntry
from academail.store.models import Message
from academail.store.messages import read_raw
print(json.dumps({"journal": sorted(set(JournalEntry.objects.values_list("remote_addr", flat=True))),
                  "received": [b"([127.0.0.2])" in read_raw(m) for m in Message.objects.all()]}))
"""


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True, timeout=60)


def _shell(env: dict[str, str], code: str) -> str:
    done = subprocess.run(academail("manage", "shell", "-c", code), env=env, check=True, timeout=120,
                          capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def _metric(port: int, line_start: str) -> float:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        for line in response.read().decode().splitlines():
            if line.startswith(line_start + " "):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_two_mx_and_two_imap_processes_behind_haproxy(tmp_path: Path) -> None:
    name = f"academail_2p2_{uuid.uuid4().hex[:8]}"
    try:
        _psql(f"CREATE DATABASE {name}")
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is needed: {error}")
    try:
        base = academail_env(tmp_path / "home", DATABASE_URL=SERVER + name, ACADEMAIL_INBOUND_CHECKS="0",
                             ACADEMAIL_PROXY_PROTOCOL="1", ACADEMAIL_TRUSTED_PROXIES="127.0.0.1/32",
                             ACADEMAIL_METRICS_TOKEN=TOKEN)
        subprocess.run(academail("migrate", "-v", "0"), env=base, check=True, timeout=300)
        identifier, address = _shell(base, MAKE_ACCOUNT).split()
        nodes = []
        with contextlib.ExitStack() as stack:
            for kind in ("smtp", "smtp", "imap", "imap"):
                ports = {key: str(free_port()) for key in (
                    "SMTP_PORT", "SUBMISSION_PORT", "SUBMISSIONS_PORT", "IMAP_PORT", "IMAPS_PORT",
                    "MANAGESIEVE_PORT", "METRICS_PORT")}
                env = {**base, **{f"ACADEMAIL_{key}": value for key, value in ports.items()}}
                stack.enter_context(running(["serve", "--only", kind], env, tmp_path / f"{kind}-{len(nodes)}.log",
                                            ready=b"academail ready"))
                nodes.append((kind, ports))
            mx = [ports for kind, ports in nodes if kind == "smtp"]
            imap = [ports for kind, ports in nodes if kind == "imap"]
            mx_front = stack.enter_context(haproxy_in_front(tmp_path, *(int(p["SMTP_PORT"]) for p in mx)))
            imap_front = stack.enter_context(haproxy_in_front(tmp_path, *(int(p["IMAP_PORT"]) for p in imap)))

            for n in range(4):  # one connection each: round robin gives each MX two
                with smtplib.SMTP("127.0.0.1", mx_front, timeout=30, source_address=(CLIENT, 0)) as client:
                    client.ehlo("client.example")
                    assert client.sendmail("direction@college-exemple.fr", [address],
                                           build_message(subject=f"n°{n}", to=address)) == {}
            for _ in range(2):  # and each IMAP process one session
                with _IMAPFromClient("127.0.0.1", imap_front, timeout=30) as session:
                    session.starttls(ssl_context=_insecure())
                    session.login(identifier, PASSWORD)
                    assert session.select("INBOX")[1] == [b"4"]  # the other MX's deliveries too
            delivered = [_metric(int(p["METRICS_PORT"]), "academail_deliveries_total") for p in mx]
            logins = [_metric(int(p["METRICS_PORT"]), 'academail_imap_commands_total{command="LOGIN"}') for p in imap]
        report = json.loads(_shell(base, REPORT))
    finally:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"],
                       check=False, timeout=60)
    assert delivered == [2.0, 2.0]
    assert logins == [1.0, 1.0]
    assert report == {"journal": [CLIENT], "received": [True] * 4}


def _insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _IMAPFromClient(imaplib.IMAP4):
    """imaplib's client, connecting from CLIENT's address (imaplib takes no source_address)."""

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(CLIENT, 0))
