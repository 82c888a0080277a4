"""Metrics from every process (issue 21 §5): a ``serve --only smtp`` process,
which has no web listener, answers GET /metrics on ACADEMAIL_METRICS_PORT with
the same access rule, and counts its own deliveries; its log lines are JSON
with ACADEMAIL_LOG_FORMAT=json. In-process: throttled sign-ins and the web
latency histogram (IMAP commands: tests/imap/test_metrics.py)."""

from __future__ import annotations

import json
import smtplib
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

from academail.accounts import services, throttle
from academail.metrics import REGISTRY
from tests.conftest import build_message
from tests.servers import free_port
from tests.serving import academail, academail_env, running

TOKEN = "jeton-de-supervision-mx"  # noqa: S105
MAKE_ACCOUNT = """
from academail.accounts.models import Status
from academail.accounts.services import check_create_account
person = check_create_account(first_name="Julie", last_name="Martin", numen="11E9501234ABC", status=str(Status.ACTIVE))
print(person.address)
"""


def _value(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def _scrape(port: int, token: str | None) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_an_mx_process_exposes_its_own_metrics_and_logs_json(tmp_path: Path) -> None:
    smtp_port, metrics_port = free_port(), free_port()
    env = academail_env(tmp_path / "home", ACADEMAIL_SMTP_PORT=str(smtp_port), ACADEMAIL_INBOUND_CHECKS="0",
                        ACADEMAIL_METRICS_PORT=str(metrics_port), ACADEMAIL_METRICS_TOKEN=TOKEN,
                        ACADEMAIL_LOG_FORMAT="json")
    subprocess.run(academail("migrate", "-v", "0"), env=env, check=True, timeout=300)
    done = subprocess.run(academail("manage", "shell", "-c", MAKE_ACCOUNT), env=env, check=True, timeout=120,
                          capture_output=True, text=True)
    address = done.stdout.strip().splitlines()[-1]
    output = tmp_path / "server.log"
    with running(["serve", "--only", "smtp"], env, output, ready=b"academail ready"):
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
            assert client.sendmail("direction@college-exemple.fr", [address], build_message(to=address)) == {}
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("direction@college-exemple.fr", ["personne@ac-demo.fr"], build_message())
        assert _scrape(metrics_port, None)[0] == 404
        assert _scrape(metrics_port, "mauvais")[0] == 404
        status, body = _scrape(metrics_port, TOKEN)
    assert status == 200
    assert "academail_deliveries_total 1.0" in body
    assert 'academail_refusals_total{reason="unknown"} 1.0' in body
    assert "academail_queue_depth 0.0" in body
    lines = [line for line in output.read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert any(r["logger"] == "academail.serve" and "metrics listening" in r["message"] for r in records), lines
    assert all({"time", "level", "logger", "pid", "message"} <= r.keys() for r in records)
    assert TOKEN not in output.read_text()


@pytest.mark.django_db
def test_throttled_sign_ins_are_counted(make_account, monkeypatch) -> None:
    account = make_account()
    before = _value("academail_throttled_sign_ins_total", {"protocol": "imap"})
    monkeypatch.setattr(throttle, "check", lambda buckets: (30, False))  # closed for 30 s, no failure to forget
    result = services.check_sign_in(account.identifier, "peu importe", protocol="imap", remote_addr="192.0.2.8")
    assert result.retry_after == 30
    assert _value("academail_throttled_sign_ins_total", {"protocol": "imap"}) == before + 1


@pytest.mark.django_db
def test_web_requests_feed_the_latency_histogram() -> None:
    labels = {"method": "GET", "status": "4xx"}
    before = _value("academail_web_request_seconds_count", labels)
    assert Client().get("/page-qui-n-existe-pas/").status_code == 404
    assert _value("academail_web_request_seconds_count", labels) == before + 1
