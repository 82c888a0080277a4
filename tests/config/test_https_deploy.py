"""HSTS missing in production (outside review, 2026-12). With
``ACADEMAIL_PRODUCTION=1`` the platform sends Strict-Transport-Security and
redirects plain HTTP, and ``academail manage check --deploy`` is clean; a
local run sends neither (a developer's browser must not pin localhost)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

SHOW = ("from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)")


def _env(tmp_path, *, production: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("ACADEMAIL_")}
    env["ACADEMAIL_HOME"] = str(tmp_path)
    if production:
        env.update(ACADEMAIL_PRODUCTION="1", ACADEMAIL_SECRET_KEY=secrets.token_urlsafe(50),
                   ACADEMAIL_NUMEN_KEY=secrets.token_urlsafe(32), ACADEMAIL_SRS_SECRET=secrets.token_urlsafe(32))
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "academail.config.cli", "manage", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_deploy_check_is_clean_in_production(tmp_path):
    result = _manage(_env(tmp_path, production=True), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_hsts_and_https_redirect_are_on_by_default_in_production_only(tmp_path):
    production = _manage(_env(tmp_path / "p", production=True), "shell", "-c", SHOW)
    assert production.stdout.splitlines()[-1].split() == ["31536000", "True", "True", "True", "True"], production.stderr
    local = _manage(_env(tmp_path / "l", production=False), "shell", "-c", SHOW)
    assert local.stdout.splitlines()[-1].split() == ["0", "True", "False", "False", "False"], local.stderr


def test_the_header_is_sent(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/connexion/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
