"""Two deliveries to one mailbox at once keep UIDs unique and increasing, and a
process killed mid-delivery leaves no row without its blob."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from django.db import close_old_connections, connection

from academail.delivery.route import deliver
from academail.store.blobs import blob_store
from academail.store.models import Content, Mailbox, Message
from tests.conftest import build_message


@pytest.mark.django_db(transaction=True)
def test_parallel_deliveries_get_distinct_increasing_uids(make_account):
    account = make_account()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(15):
                deliver(build_message(subject=f"t{n}-{i}"), [account.address])
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    assert errors == []
    box = Mailbox.objects.get(account=account, special_use="inbox")
    rows = list(Message.objects.filter(mailbox=box).order_by("id").values_list("uid", "modseq"))
    uids = [uid for uid, _ in rows]
    assert sorted(uids) == list(range(1, 61))
    assert uids == sorted(uids), "UIDs follow commit order"
    assert box.uidnext == 61 and box.messages == 60


CHILD = textwrap.dedent(
    """
    import os, sys, django
    os.environ["DJANGO_SETTINGS_MODULE"] = "academail.config.settings"
    django.setup()
    from tests.conftest import build_message
    from academail.delivery.route import deliver
    address = sys.argv[1]
    i = 0
    while True:
        raw = build_message(subject=f"crash {i}", body="corps " * 2000 + str(i))
        outcome = deliver(raw, [address])[0]
        print("ACK", outcome.uid, flush=True)
        i += 1
    """
)


@pytest.mark.django_db(transaction=True)
def test_killed_delivery_loses_nothing_acknowledged(make_account, settings):
    account = make_account()
    env = dict(os.environ)
    db_name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{db_name}"
    else:
        s = connection.settings_dict
        env["DATABASE_URL"] = f"postgres://{s['USER']}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{db_name}"
    env["ACADEMAIL_BLOB_DIR"] = str(settings.BLOB_DIR)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, account.address], stdout=subprocess.PIPE, env=env, text=True
    )
    acked: list[int] = []
    deadline = time.monotonic() + 60
    assert child.stdout is not None
    while len(acked) < 20 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if line.startswith("ACK"):
            acked.append(int(line.split()[1]))
    time.sleep(0.013)  # land somewhere inside the next delivery
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert len(acked) >= 20
    close_old_connections()
    stored = set(Message.objects.filter(mailbox__account=account).values_list("uid", flat=True))
    assert set(acked) <= stored
    for sha in Content.objects.values_list("sha256", flat=True):
        assert blob_store().exists(sha), "a row points to a missing blob"
