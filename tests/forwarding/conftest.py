"""Forwarding fixtures: a confirmed forward without going through the page."""

from __future__ import annotations

import pytest

from tests.smtp.conftest import dkim_key, mx, remote_internet  # noqa: F401


@pytest.fixture
def forward(db):
    from django.utils import timezone

    from academail.forwarding.models import Forwarding

    def give(account, target: str, *, keep_copy: bool = True, confirmed: bool = True):
        return Forwarding.objects.create(
            account=account, target=target, keep_copy=keep_copy, confirmed_at=timezone.now() if confirmed else None
        )

    return give


@pytest.fixture
def policy_settings(settings):
    settings.MAIL_DOMAINS = ["ac-demo.fr"]
    settings.FORWARD_ALLOWED_DOMAINS = ["exemple.org"]  # the loopback "remote" MX's domain
    settings.FORWARD_OUTSIDE = "refuse"
    settings.SRS_SECRET = "secret de test srs"
    return settings
