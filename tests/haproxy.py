"""A real HAProxy (Debian's) in front of our listeners, started on free ports,
sending the PROXY protocol v2 header to the back end (docs/haproxy.cfg's model)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import free_port


@contextmanager
def haproxy_in_front(tmp_path: Path, *backend_ports: int) -> Iterator[int]:
    """HAProxy listening on a free loopback port, forwarding to 127.0.0.1 on
    ``backend_ports`` (round robin) with send-proxy-v2; yields the front port."""
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    front = free_port()
    config = tmp_path / f"haproxy-{front}.cfg"
    servers = "\n".join(f"    server node{n} 127.0.0.1:{port} send-proxy-v2" for n, port in enumerate(backend_ports, 1))
    config.write_text(f"""
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend front
    bind 127.0.0.1:{front}
    default_backend nodes

backend nodes
    balance roundrobin
{servers}
""")
    process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", front), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    raise RuntimeError(f"haproxy did not start: {output}") from None
                time.sleep(0.1)
        yield front
    finally:
        process.terminate()
        process.wait(10)
