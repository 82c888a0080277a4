"""Real third-party ManageSieve clients against the server: Debian's
``sieve-connect`` (Perl, Authen::SASL, IO::Socket::SSL) and sievelib's
``managesieve.Client`` (Python), both over STARTTLS with the server's
certificate verified."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from sievelib import managesieve

from academail.filters.models import SieveScript
from tests.managesieve.conftest import PASSWORD, certificate

SCRIPT = 'require ["fileinto"];\r\nif header :contains "subject" "réunion" {\r\n  fileinto "Réunions";\r\n}\r\n'


@pytest.fixture
def sievelib_client(sieve_server, monkeypatch):
    # sievelib verifies with the system's CAs; trust our self-signed certificate instead.
    # (sievelib's ``ssllib`` is the ssl module itself: keep the original function.)
    original = ssl.create_default_context
    monkeypatch.setattr(managesieve.ssllib, "create_default_context",
                        lambda *a, **k: original(cafile=certificate()))
    client = managesieve.Client(sieve_server.host, sieve_server.port)
    yield client
    if client.sock is not None:
        client.logout()


def test_sievelib_full_cycle(sievelib_client, user):
    client = sievelib_client
    assert client.connect(user.identifier, PASSWORD, starttls=True, authmech="PLAIN")
    assert client.get_implementation() == "academail"
    assert "fileinto" in client.get_sieve_capabilities()
    assert client.havespace("tri", len(SCRIPT.encode()))
    assert client.checkscript(SCRIPT)
    assert client.putscript("tri", SCRIPT)
    assert client.putscript("vide", "keep;\r\n")
    assert client.setactive("tri")
    active, others = client.listscripts()
    assert active == "tri" and others == ["vide"]
    assert client.getscript("tri") == "\n".join(SCRIPT.splitlines())  # sievelib rejoins lines with LF
    assert not client.deletescript("tri")  # the active one
    assert client.renamescript("vide", "secours")
    assert client.deletescript("secours")
    assert not client.putscript("faux", "if true { fileinto; }")
    assert b"Ligne 1" in client.errmsg
    assert client.setactive("")
    assert client.listscripts() == (None, ["tri"])


def test_sievelib_login_mechanism(sievelib_client, user):
    assert sievelib_client.connect(user.identifier, PASSWORD, starttls=True, authmech="LOGIN")
    assert sievelib_client.listscripts() == (None, [])


def test_sievelib_wrong_password(sievelib_client, user):
    assert not sievelib_client.connect(user.identifier, "mauvais", starttls=True, authmech="PLAIN")


SIEVE_CONNECT = shutil.which("sieve-connect")


def sieve_connect(server, user, *args: str, stdin_password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    assert SIEVE_CONNECT, "sieve-connect is missing: apt-get install sieve-connect (Makefile SYSTEM_PACKAGES)"
    return subprocess.run(
        [SIEVE_CONNECT, "--server", "localhost", "--port", str(server.port), "--user", user.identifier,
         "--nosrv", "--authmech", "PLAIN", "--tlscafile", certificate(), "--passwordfd", "0", *args],
        input=stdin_password + "\n", capture_output=True, text=True, timeout=60,
    )


def test_sieve_connect_upload_activate_list_download(sieve_server, user, tmp_path):
    local = tmp_path / "tri.sieve"
    local.write_text(SCRIPT, encoding="utf-8")
    upload = sieve_connect(sieve_server, user, "--upload", "--localsieve", str(local))
    assert upload.returncode == 0, upload.stderr
    activate = sieve_connect(sieve_server, user, "--activate", "--remotesieve", "tri.sieve")
    assert activate.returncode == 0, activate.stderr
    listed = sieve_connect(sieve_server, user, "--list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == ['"tri.sieve" ACTIVE']
    target = tmp_path / "copie.sieve"
    download = sieve_connect(sieve_server, user, "--download", "--remotesieve", "tri.sieve",
                             "--localsieve", str(target))
    assert download.returncode == 0, download.stderr
    assert target.read_bytes() == SCRIPT.encode()
    assert SieveScript.objects.get(account=user, name="tri.sieve").active


def test_sieve_connect_checkscript_reports_the_french_error(sieve_server, user, tmp_path):
    local = tmp_path / "faux.sieve"
    local.write_text('require ["fileinto"];\r\nfileinto;\r\n', encoding="utf-8")
    check = sieve_connect(sieve_server, user, "--checkscript", "--localsieve", str(local))
    assert check.returncode != 0
    assert "Ligne 2" in check.stdout + check.stderr


def test_sieve_connect_wrong_password(sieve_server, user):
    listed = sieve_connect(sieve_server, user, "--list", stdin_password="mauvais")
    assert listed.returncode != 0
