"""``academail`` itself in a subprocess, for tests that need the real command:
its own data directory (SQLite), its own output file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def academail_env(home: Path, **extra: str) -> dict[str, str]:
    """The test's environment without its database or ACADEMAIL_* settings."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("ACADEMAIL_")}
    env["ACADEMAIL_HOME"] = str(home)
    env.update(extra)
    return env


def academail(*args: str) -> list[str]:
    return [sys.executable, "-m", "academail.config.cli", *args]


@contextlib.contextmanager
def running(args: list[str], env: dict[str, str], output: Path, *, ready: bytes) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``academail <args>`` writing to ``output``; yield once ``ready``
    appears in it; stop it with SIGTERM at the end."""
    with output.open("wb") as sink:
        process = subprocess.Popen(academail(*args), env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while ready not in output.read_bytes():
                assert process.poll() is None and time.monotonic() < deadline, output.read_text()
                time.sleep(0.2)
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
