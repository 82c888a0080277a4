"""Configuration from the environment: every knob is an ``ACADEMAIL_*`` variable
(plus ``DATABASE_URL``) with a default that works for a local run under ``./var``.

Secrets are never in the repository. In a local run they are generated once under
``var/`` with owner-only permissions; with ``ACADEMAIL_PRODUCTION=1`` a missing
secret is a start-up error instead, so a cluster never runs with per-node keys.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def var_dir() -> Path:
    """The data directory (database, blobs, keys, certificates), readable by
    its owner only (0700): made so, and tightened if an older run left it open."""
    path = Path(env_str("ACADEMAIL_HOME", str(Path.cwd() / "var"))).resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _owner_only(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist (before SQLite
    opens it: SQLite gives its -wal and -shm files the database file's mode),
    or tighten it to 0600 if it does."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        _owner_only(path, 0o600)
    return path


def _owner_only(path: Path, mode: int) -> None:
    try:
        info = path.stat()
        if info.st_uid == os.getuid() and info.st_mode & 0o777 & ~mode:
            path.chmod(mode)
    except OSError:
        pass  # not ours, or read-only: leave it, the administrator decided


def is_production() -> bool:
    return env_bool("ACADEMAIL_PRODUCTION", False)


def secret(name: str, filename: str, nbytes: int = 32) -> str:
    """Return the secret in environment variable ``name``, else the one kept in
    ``var/<filename>``, creating it on first use outside production."""
    value = os.environ.get(name)
    if value:
        return value
    path = var_dir() / filename
    if path.exists():
        _owner_only(path, 0o600)
        return path.read_text().strip()
    if is_production():
        raise ConfigurationError(
            f"{name} is not set. In production every node must share the same secret: "
            f"set {name} (for example from your secret manager)."
        )
    value = secrets.token_urlsafe(nbytes)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return value
