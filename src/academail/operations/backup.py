"""``academail backup DEST`` and ``academail restore SRC``.

A backup is a directory, created 0700 because it holds the platform's secrets:

- ``database.sqlite3`` (SQLite's online-backup API: a consistent page-level copy
  taken while deliveries go on) or ``database.pgdump`` (``pg_dump -Fc``, one
  consistent MVCC snapshot);
- ``blobs/``: the blob files, hard-linked where backup and store share a
  filesystem (blobs are immutable: written once by rename, never rewritten),
  else copied;
- ``keys/``: the secrets kept under ACADEMAIL_HOME (secret_key, numen_key,
  srs_secret), the DKIM keys and the TLS certificate directory;
- ``dav/``: the calendars and address books;
- ``manifest.json``: when, from which database engine, how many blobs.

Order matters: the database is copied first, the blobs after. A blob is made
durable before the row that points to it commits (``store.blobs``), so every
row in the snapshot has its blob on disk by the time the blob walk starts; the
collector only deletes blobs unreferenced for the grace period, so none of the
snapshot's blobs can vanish during the walk.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

SECRET_FILES = ("secret_key", "numen_key", "srs_secret")


class BackupError(RuntimeError):
    """The backup or restore cannot proceed; the message says why and what to do."""


@dataclass
class BackupReport:
    path: Path
    engine: str
    blobs: int
    linked: int
    seconds: float


def do_backup(dest: Path) -> BackupReport:
    """Write a consistent backup of this installation into ``dest`` (which must
    not exist or be empty), while the platform keeps serving."""
    started = time.monotonic()
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} n'est pas vide : choisissez un répertoire nouveau ou vide.")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    dest.chmod(0o700)
    engine = _dump_database(dest)
    blobs, linked = _copy_blobs(Path(settings.BLOB_DIR), dest / "blobs")
    _copy_keys(dest / "keys")
    dav = Path(settings.DAV_DIR)
    if dav.is_dir():
        shutil.copytree(dav, dest / "dav", symlinks=True)
    manifest = {"format": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "engine": engine, "blobs": blobs}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return BackupReport(dest, engine, blobs, linked, time.monotonic() - started)


def _dump_database(dest: Path) -> str:
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        target = dest / "database.sqlite3"
        _sqlite_copy(Path(db["NAME"]), target)
        return "sqlite"
    if connection.vendor == "postgresql":
        command = ["pg_dump", "--format=custom", "--no-owner", "--file", str(dest / "database.pgdump"),
                   *_pg_args(db)]
        _run(command, db)
        return "postgresql"
    raise BackupError(f"base de données non prise en charge : {connection.vendor}")


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup (https://sqlite.org/backup.html): readers and the
    WAL writer go on; the copy is one consistent state of the database."""
    src = sqlite3.connect(str(source), timeout=30)
    try:
        out = sqlite3.connect(str(target))
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()
    target.chmod(0o600)


def _pg_args(db: dict[str, object]) -> list[str]:
    args = ["--dbname", str(db["NAME"])]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    return args


def _run(command: list[str], db: dict[str, object]) -> None:
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])  # never on the command line (ps shows it)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{command[0]} a échoué : {done.stderr.strip()}")


def _copy_blobs(source: Path, target: Path) -> tuple[int, int]:
    """Hard-link (else copy) every blob file; ``tmp/`` (writes in progress) is skipped."""
    count = linked = 0
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not source.is_dir():
        return 0, 0
    for first in sorted(source.iterdir()):
        if len(first.name) != 2 or not first.is_dir():
            continue
        for second in first.iterdir():
            into = target / first.name / second.name
            into.mkdir(parents=True, exist_ok=True)
            for entry in second.iterdir():
                linked += _link_or_copy(entry, into / entry.name)
                count += 1
    return count, linked


def _link_or_copy(source: Path, target: Path) -> int:
    try:
        os.link(source, target)
        return 1
    except OSError:  # another filesystem (EXDEV), or links not allowed
        shutil.copy2(source, target)
        return 0


def _copy_keys(target: Path) -> None:
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    home = Path(settings.VAR_DIR)
    for name in SECRET_FILES:
        if (home / name).is_file():
            shutil.copy2(home / name, target / name)
    for name, directory in (("dkim", Path(settings.DKIM_KEY_DIR)), ("tls", Path(settings.TLS_CERT_FILE).parent)):
        if directory.is_dir():
            shutil.copytree(directory, target / name, symlinks=True)


def check_empty_home(home: Path) -> None:
    """Refuse to restore over an installation: checked before Django starts
    (starting it creates fresh secrets in ACADEMAIL_HOME)."""
    if home.exists() and any(home.iterdir()):
        raise BackupError(
            f"{home} n'est pas vide : la restauration ne remplace jamais une installation. "
            "Choisissez un ACADEMAIL_HOME vide."
        )


def do_restore(src: Path) -> dict[str, object]:
    """Bring the backup ``src`` back into this (empty) installation. Precondition:
    ``check_empty_home`` passed before Django set up. Returns the manifest."""
    src = Path(src)
    try:
        manifest = json.loads((src / "manifest.json").read_text())
    except (OSError, ValueError):
        raise BackupError(f"{src} n'est pas une sauvegarde academail (manifest.json manquant ou illisible).") from None
    db = settings.DATABASES["default"]
    if manifest["engine"] != connection.vendor:
        raise BackupError(
            f"sauvegarde {manifest['engine']} : restaurez-la sur la même base ({connection.vendor} configurée)."
        )
    if connection.vendor == "sqlite":
        connection.close()
        _sqlite_copy(src / "database.sqlite3", Path(db["NAME"]))
    else:
        if connection.introspection.table_names():
            raise BackupError(f"la base {db['NAME']} contient déjà des tables : restaurez dans une base vide.")
        connection.close()
        _run(["pg_restore", "--no-owner", "--exit-on-error", *_pg_args(db), str(src / "database.pgdump")], db)
    _copy_blobs(src / "blobs", Path(settings.BLOB_DIR))
    keys = src / "keys"
    home = Path(settings.VAR_DIR)
    for name in SECRET_FILES:
        if (keys / name).is_file():
            shutil.copy2(keys / name, home / name)  # replaces the one Django set-up just made
    for name, directory in (("dkim", Path(settings.DKIM_KEY_DIR)), ("tls", Path(settings.TLS_CERT_FILE).parent)):
        if (keys / name).is_dir():
            shutil.copytree(keys / name, directory, symlinks=True, dirs_exist_ok=True)
    if (src / "dav").is_dir():
        shutil.copytree(src / "dav", Path(settings.DAV_DIR), symlinks=True, dirs_exist_ok=True)
    return dict(manifest)
