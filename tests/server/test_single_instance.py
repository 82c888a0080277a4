"""Two instances on one data directory (outside review, 2026-12): a second
``academail serve`` started while the first was still stopping bound the same
ports without complaint (SO_REUSEPORT). On SQLite each service kind now takes
a lock in ACADEMAIL_HOME and the second instance says who holds it; on
PostgreSQL (several processes are the design) no lock is taken.

Also here, because it needs a real start: ``serve`` removes temporary blob
files an interrupted write left behind; and the data directory, the SQLite
database and key files are created owner-only (0700 / 0600)."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from academail.server.instance import AlreadyRunning, release, take_service_locks
from tests.serving import academail, academail_env, running

pytestmark = pytest.mark.e2e


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _umask_022() -> None:
    os.umask(0o022)


def test_a_second_serve_on_the_same_sqlite_data_directory_refuses_to_start(tmp_path):
    home = tmp_path / "home"
    env = academail_env(home)
    subprocess.run(academail("migrate", "-v", "0"), env=env, check=True, timeout=300, preexec_fn=_umask_022)
    leftover = home / "blobs" / "tmp" / "0123456789abinterrupted"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half a message")
    os.utime(leftover, (time.time() - 7200, time.time() - 7200))

    with running(["serve", "--only", "worker"], env, tmp_path / "first.log", ready=b"academail ready") as first:
        second = subprocess.run(academail("serve", "--only", "worker"), env=env, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode != 0
        assert f"another instance (pid {first.pid}) already runs the worker service" in second.stderr
        assert "academail ready" not in second.stdout
    assert not leftover.exists()  # cleaned at start-up

    # Once the first has stopped, the next one starts.
    with running(["serve", "--only", "worker"], env, tmp_path / "third.log", ready=b"academail ready"):
        pass


def test_data_directory_database_and_keys_are_owner_only(tmp_path):
    """Outside review, 2026-12: files were created with the umask's 0644."""
    home = tmp_path / "fresh"
    env = academail_env(home)
    subprocess.run(academail("migrate", "-v", "0"), env=env, check=True, timeout=300, preexec_fn=_umask_022)
    subprocess.run(academail("dkim-keygen", "ac-demo.fr"), env=env, check=True, timeout=60,
                   preexec_fn=_umask_022, capture_output=True)
    subprocess.run(academail("manage", "shell", "-c", "from academail.server.tls import server_context; server_context()"),
                   env=env, check=True, timeout=60, preexec_fn=_umask_022, capture_output=True)
    assert _mode(home) == 0o700
    files = [home / "academail.sqlite3", home / "secret_key", home / "numen_key", home / "srs_secret",
             home / "tls" / "key.pem", *(home / "dkim").glob("*.key")]
    files += [p for p in (home / "academail.sqlite3-wal", home / "academail.sqlite3-shm") if p.exists()]
    assert len(files) >= 6
    for path in files:
        assert _mode(path) == 0o600, f"{path} is {oct(_mode(path))}"


def test_an_old_data_directory_is_tightened(tmp_path):
    home = tmp_path / "old"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    (home / "academail.sqlite3").touch()
    (home / "academail.sqlite3").chmod(0o644)
    subprocess.run(academail("migrate", "-v", "0"), env=academail_env(home), check=True, timeout=300)
    assert _mode(home) == 0o700 and _mode(home / "academail.sqlite3") == 0o600


def test_postgresql_takes_no_lock_and_sqlite_releases_on_close(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    assert take_service_locks(["web", "imap"], vendor="postgresql") == []
    held = take_service_locks(["imap"], vendor="sqlite")
    with pytest.raises(AlreadyRunning):
        take_service_locks(["web", "imap"], vendor="sqlite")
    release(held)
    again = take_service_locks(["web", "imap"], vendor="sqlite")  # the failed attempt kept nothing
    release(again)
