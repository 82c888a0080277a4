"""A process killed with mail in the outbound queue loses none of what it
acknowledged, and the next worker delivers each message once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest
from django.db import close_old_connections
from django.utils import timezone

from academail.delivery.models import QueueEntry
from academail.delivery.queue import process_due
from tests.servers import child_env

CHILD = textwrap.dedent(
    """
    import os, sys, django
    os.environ["DJANGO_SETTINGS_MODULE"] = "academail.config.settings"
    django.setup()
    from tests.conftest import build_message
    from academail.delivery.queue import enqueue
    i = 0
    while True:
        raw = build_message(subject=f"file {i}", body="corps " * 2000 + str(i))
        enqueue(raw, mail_from="julie.martin@ac-demo.fr", recipients=[f"dest{i}@exemple.org"])
        print("ACK", i, flush=True)
        i += 1
    """
)


class Recorder:
    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    async def send(self, mail_from, recipients, data):
        self.seen.update(recipients)
        return dict.fromkeys(recipients, "250 2.0.0 OK")


@pytest.mark.django_db(transaction=True)
def test_killed_process_loses_no_queued_message_and_each_is_delivered_once():
    env = child_env()
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, env=env, text=True)
    acked: list[int] = []
    deadline = time.monotonic() + 30
    assert child.stdout is not None
    while len(acked) < 15 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if line.startswith("ACK"):
            acked.append(int(line.split()[1]))
    time.sleep(0.005)  # land inside the next enqueue
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert len(acked) >= 15
    close_old_connections()

    recorder = Recorder()
    asyncio.run(process_due(recorder, now=timezone.now(), limit=1000))
    asyncio.run(process_due(recorder, now=timezone.now(), limit=1000))
    assert {f"dest{i}@exemple.org" for i in acked} <= set(recorder.seen)
    assert set(recorder.seen.values()) == {1}, "each message delivered once"
    assert QueueEntry.objects.count() == 0
