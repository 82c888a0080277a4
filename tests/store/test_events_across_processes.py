"""Store events reach IDLE sessions of other ``serve`` processes through
PostgreSQL NOTIFY; relayed events are published on the local bus, our own are
not published twice."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from django.db import connection

from academail.store.events import PROCESS_TAG, bus, listen_forever, relay


def test_relay_publishes_other_processes_events_only():
    async def scenario() -> list:
        subscription = bus.subscribe(41)
        own = json.dumps({"from": PROCESS_TAG, "events": [[41, 7, "exists", 3]]})
        other = json.dumps({"from": "autre-processus", "events": [[41, 7, "exists", 4], [99, 1, "flags", 2]]})
        assert relay(own) == 0
        assert relay(other) == 2
        assert relay("{pas du json") == 0
        event = await asyncio.wait_for(subscription.get(), 2)
        assert subscription.queue.empty()  # account 99's event went to nobody here
        subscription.close()
        return [event]

    (event,) = asyncio.run(scenario())
    assert (event.account_id, event.mailbox_id, event.kind, event.modseq, event.uids) == (41, 7, "exists", 4, ())


CHILD = textwrap.dedent(
    """
    import os, sys, django
    os.environ["DJANGO_SETTINGS_MODULE"] = "academail.config.settings"
    django.setup()
    from tests.conftest import build_message
    from academail.delivery.route import deliver
    assert deliver(build_message(subject="depuis un autre processus"), [sys.argv[1]])[0].delivered
    """
)


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("sqlite") or not os.environ.get("DATABASE_URL"),
    reason="LISTEN/NOTIFY is PostgreSQL's; SQLite deployments run one process (ARCHITECTURE.md, scale path)",
)
@pytest.mark.django_db(transaction=True)
def test_delivery_in_another_process_reaches_this_bus(make_account):
    account = make_account()
    s = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgres://{s['USER']}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"
    stop = threading.Event()

    async def scenario():
        subscription = bus.subscribe(account.pk)
        listener = threading.Thread(target=listen_forever, args=(stop,), daemon=True)
        listener.start()
        await asyncio.sleep(1.0)  # LISTEN is in place
        child = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", CHILD, account.address], env=env, capture_output=True, timeout=60
        )
        assert child.returncode == 0, child.stderr.decode()
        event = await asyncio.wait_for(subscription.get(), 5)
        subscription.close()
        stop.set()
        await asyncio.to_thread(listener.join, 5)
        return event

    event = asyncio.run(scenario())
    assert (event.account_id, event.kind) == (account.pk, "exists")
