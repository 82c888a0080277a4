"""/metrics (issue 21): off by default, then behind a bearer token or an
allow-list of addresses; deliveries and refusals per reason are counted after
the real delivery path (the MX's door), the queue's depth and age and the IMAP
connections are read when scraped."""

from __future__ import annotations

import pytest
from django.test import Client

from academail.delivery import door, route
from academail.metrics import REGISTRY
from tests.conftest import build_message


def _value(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@pytest.mark.django_db
def test_metrics_are_off_by_default_then_need_the_token_or_an_allowed_address(settings) -> None:
    assert Client().get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "jeton-de-supervision"
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer mauvais").status_code == 404
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer jeton-de-supervision")
    assert response.status_code == 200
    body = response.content.decode()
    assert "academail_queue_depth 0.0" in body and "academail_imap_connections 0.0" in body
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW = ["10.0.0.0/8"]
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_deliveries_and_refusals_are_counted(make_account) -> None:
    person = make_account()
    delivered = _value("academail_deliveries_total")
    unknown = _value("academail_refusals_total", {"reason": "unknown"})
    raw = build_message(to=person.address)
    outcomes = route.deliver(raw, [person.address, "personne.inconnue@ac-demo.fr"])
    assert isinstance(outcomes[0], door.Outcome) and isinstance(outcomes[1], door.DeliveryRefused)
    assert _value("academail_refusals_total", {"reason": "unknown"}) == unknown + 1
    assert _value("academail_deliveries_total") == delivered + 1
