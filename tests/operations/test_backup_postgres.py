"""``academail backup`` / ``restore`` on PostgreSQL (pg_dump -Fc, pg_restore),
through the real command, on databases of its own on the local server
(127.0.0.1:5432, as ``.ci/run`` uses); restore refuses a database that has tables."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import build_message
from tests.operations.test_backup_restore import MAKE_ACCOUNT, REPORT, _shell
from tests.serving import academail, academail_env

pytestmark = pytest.mark.e2e

SERVER = "postgres://postgres@127.0.0.1:5432/"


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True, timeout=60)


def test_backup_and_restore_on_postgresql(tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is needed (Debian postgresql-client)")
    name = f"academail_backup_{uuid.uuid4().hex[:8]}"
    try:
        _psql(f"CREATE DATABASE {name}_a")
        _psql(f"CREATE DATABASE {name}_b")
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is needed: {error}")
    try:
        env = academail_env(tmp_path / "a", DATABASE_URL=SERVER + name + "_a", ACADEMAIL_INBOUND_CHECKS="0",
                            ACADEMAIL_SPAM_FILTER="0")
        subprocess.run(academail("migrate", "-v", "0"), env=env, check=True, timeout=300)
        address = _shell(env, MAKE_ACCOUNT)
        subprocess.run(academail("deliver", address), env=env, input=build_message(to=address), check=True, timeout=120)
        backup = subprocess.run(academail("backup", str(tmp_path / "backup")), env=env, capture_output=True,
                                text=True, timeout=300)
        assert backup.returncode == 0, backup.stderr
        assert (tmp_path / "backup" / "database.pgdump").stat().st_size > 0

        # A database with tables is never overwritten.
        refused = subprocess.run(academail("restore", str(tmp_path / "backup")),
                                 env=academail_env(tmp_path / "c", DATABASE_URL=SERVER + name + "_a"),
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1 and "contient déjà des tables" in refused.stderr

        env_b = academail_env(tmp_path / "b", DATABASE_URL=SERVER + name + "_b")
        restored = subprocess.run(academail("restore", str(tmp_path / "backup")), env=env_b, capture_output=True,
                                  text=True, timeout=300)
        assert restored.returncode == 0, restored.stderr
        before, after = json.loads(_shell(env, REPORT)), json.loads(_shell(env_b, REPORT))
        assert after == before and len(after) == 1
    finally:
        _psql(f"DROP DATABASE IF EXISTS {name}_a WITH (FORCE)")
        _psql(f"DROP DATABASE IF EXISTS {name}_b WITH (FORCE)")
