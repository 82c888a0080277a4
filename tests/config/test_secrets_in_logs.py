"""Secrets in logs (outside review, 2026-12): the full URL of a reset link was
written to the access log while still valid, and Django's request warnings
repeated it. This runs the real server (``academail serve --only web``: uvicorn
and Django, their own log output), uses every token link the platform sends,
asks for a wrong path under each (Django's "Not Found" warning), and greps
everything the server wrote for the tokens."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.imap.conftest import free_port
from tests.serving import academail, academail_env, running

pytestmark = pytest.mark.e2e

# Makes one account and one of each token link, in the server's own database.
MAKE_LINKS = """
import json
from django.core import mail
from django.conf import settings
settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
mail.outbox = []
from academail.accounts.models import Status
from academail.accounts.services import check_create_account
from academail.accounts import lifecycle
from academail.forwarding.services import check_set_forwarding
base = "http://127.0.0.1:{port}"
person = check_create_account(first_name="Julie", last_name="Martin", numen="11E9501234ABC",
                              status=str(Status.ACTIVE), secondary_address="julie.perso@exemple.fr")
person.secondary_verified = True
person.save()
check_create_account(first_name="Paul", last_name="Durand", numen="11E9501234ABD", status=str(Status.ACTIVE))
assert lifecycle.do_request_reset(person, base_url=base, remote_addr="127.0.0.1")
check_set_forwarding(person, "paul.durand@ac-demo.fr", True, base_url=base, remote_addr="127.0.0.1")
links = [line for message in mail.outbox for line in message.body.split() if line.startswith(base)]
links.append(lifecycle.not_me_url(person, base))
print(json.dumps(links))
"""


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (our own loopback server)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_token_links_never_reach_the_server_output(tmp_path):
    port = free_port()
    env = academail_env(tmp_path / "home", ACADEMAIL_WEB_PORT=str(port))
    subprocess.run(academail("migrate", "-v", "0"), env=env, check=True, timeout=300)
    made = subprocess.run(academail("manage", "shell", "-c", MAKE_LINKS.replace("{port}", str(port))),
                          env=env, check=True, timeout=120, capture_output=True, text=True)
    links = json.loads(made.stdout.strip().splitlines()[-1])
    paths = {url.split(str(port), 1)[1].split("/")[1] for url in links}
    assert len(links) == 3 and paths == {"mot-de-passe-oublie", "compte", "courrier"}, links
    tokens = [url.rstrip("/").rsplit("/", 1)[1] for url in links]

    output = tmp_path / "server.log"
    with running(["serve", "--only", "web"], env, output, ready=b"Uvicorn running on"):
        for url in links:
            assert _get(url) == 200, url
            assert _get(url + "inconnu/") == 404, url  # Django's "Not Found: <path>" warning
    text = output.read_text()
    for token in tokens:
        assert token not in text
    # The lines were written, with the token masked: the test looked at real output.
    assert text.count("/mot-de-passe-oublie/lien/[redacted]/") == 3  # two access lines, one warning
    assert text.count("/compte/ce-n-etait-pas-moi/[redacted]/") == 3
    assert text.count("/courrier/transfert/confirmer/[redacted]/") == 3
    assert "Not Found: /courrier/transfert/confirmer/[redacted]/inconnu/" in text
