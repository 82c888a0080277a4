"""/healthz (issue 21): the database and the blob store are checked (503 when
either fails), domains without a DKIM key are reported; in production a domain
without a key stops ``academail serve`` with the command to run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.test import Client

from academail.delivery import dkim
from tests.serving import academail, academail_env


@pytest.fixture
def keys(settings, tmp_path: Path) -> Path:
    settings.DKIM_KEY_DIR = tmp_path / "dkim"
    settings.MAIL_DOMAINS = ["ac-demo.fr", "sans-cle.fr"]
    dkim.generate_key("ac-demo.fr", bits=1024)
    return settings.DKIM_KEY_DIR


@pytest.mark.django_db
def test_healthz_checks_database_blobs_and_reports_domains_without_dkim(keys, settings) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["blobs"] == "ok"
    assert body["dkim"] == {"sans_cle": ["sans-cle.fr"]}
    assert body["status"] == "degrade"
    settings.PRODUCTION = True
    assert Client().get("/healthz").json()["dkim_commande"] == ["academail dkim-keygen sans-cle.fr"]
    dkim.generate_key("sans-cle.fr", bits=1024)
    assert Client().get("/healthz").json()["status"] == "ok"


@pytest.mark.django_db
def test_healthz_is_503_when_the_blob_store_cannot_write(keys, settings, tmp_path: Path) -> None:
    broken = tmp_path / "pas-un-repertoire"
    broken.write_text("un fichier là où le stockage attend un répertoire")
    settings.BLOB_DIR = broken
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["blobs"].startswith("erreur") and response.json()["database"] == "ok"


@pytest.mark.e2e
def test_production_serve_refuses_a_domain_without_dkim_key(tmp_path: Path) -> None:
    env = academail_env(tmp_path / "home", ACADEMAIL_PRODUCTION="1", ACADEMAIL_DOMAINS="ac-demo.fr",
                        ACADEMAIL_SECRET_KEY="s" * 50, ACADEMAIL_NUMEN_KEY="n" * 43, ACADEMAIL_SRS_SECRET="r" * 43)
    done = subprocess.run(academail("serve", "--only", "smtp"), env=env, timeout=120, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert "academail dkim-keygen ac-demo.fr" in done.stderr
