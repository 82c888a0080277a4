"""A real rspamd (the Debian package) and the redis-server its Bayes and
history need, started on free loopback ports with Debian's configuration
plus our own local.d. Used by tests/protection/test_rspamd.py and by
bench/protection.py. Loading compiles rspamd's regexps: 35 s to 2 min
before it listens on a busy machine."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.servers import free_port

PASSWORD = "mot-de-passe-de-test"


@dataclass
class Rspamd:
    url: str
    controller: str
    pid: int = 0  # the main process (its workers are its children)

    def _get(self, path: str) -> Any:
        request = urllib.request.Request(self.controller + path, headers={"Password": PASSWORD})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())

    def learned(self) -> int:
        return int(self._get("/stat")["learned"])

    def history(self) -> list[dict[str, Any]]:
        """The controller's scan history, newest first (rows with
        ``message-id``, ``rcpt_smtp``, ``sender_smtp`` ...)."""
        answer = self._get("/history")
        return list(answer.get("rows", []) if isinstance(answer, dict) else answer)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_rspamd(home: Path, *, wait: float = 400) -> Iterator[Rspamd]:
    """rspamd with its workers, Redis and logging under ``home``; stopped
    on exit."""
    local = home / "local.d"
    local.mkdir(parents=True, exist_ok=True)
    redis_port, normal, controller, proxy = free_port(), free_port(), free_port(), free_port()
    (local / "worker-normal.inc").write_text(f'bind_socket = "127.0.0.1:{normal}";\ncount = 1;\n')
    (local / "worker-controller.inc").write_text(
        f'bind_socket = "127.0.0.1:{controller}";\ncount = 1;\npassword = "{PASSWORD}";\nenable_password = "{PASSWORD}";\n'
    )
    (local / "worker-proxy.inc").write_text(f'bind_socket = "127.0.0.1:{proxy}";\ncount = 0;\n')
    (local / "redis.conf").write_text(f'servers = "127.0.0.1:{redis_port}";\n')
    (local / "logging.inc").write_text(f'type = "file";\nfilename = "{home}/rspamd.log";\nlevel = "warning";\n')
    redis = subprocess.Popen(  # noqa: S603
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--dir", str(home)],
        stdout=subprocess.DEVNULL,
    )
    server = subprocess.Popen(  # noqa: S603
        ["rspamd", "-f", "-i", "-c", "/etc/rspamd/rspamd.conf", f"--var=LOCAL_CONFDIR={home}",
         f"--var=DBDIR={home}", f"--var=RUNDIR={home}", f"--var=LOGDIR={home}"],
        cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + wait
        while not (_listening(normal) and _listening(controller)):
            if server.poll() is not None:
                raise RuntimeError((home / "rspamd.log").read_text(errors="replace")[-2000:])
            if time.monotonic() > deadline:
                raise TimeoutError("rspamd did not listen in time")
            time.sleep(1)
        yield Rspamd(f"http://127.0.0.1:{normal}", f"http://127.0.0.1:{controller}", server.pid)
    finally:
        for process in (server, redis):
            process.terminate()
            process.wait(timeout=30)
