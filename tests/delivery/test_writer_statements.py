"""The delivery writer's connection on PostgreSQL binds parameters in the
server and prepares the statements it repeats (``delivery.batcher``); the
platform's other connections keep Django's client-side binding."""

from __future__ import annotations

import asyncio

import pytest
from django.db import connection

from academail.delivery.batcher import DeliveryBatcher
from academail.store import mailboxes as mb
from academail.store import messages as ms
from academail.store.models import Message
from tests.conftest import build_message


def _prepared() -> list[str]:
    """The statements this connection has prepared (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def _deliveries(batcher: DeliveryBatcher, account_id: int, mailbox_id: int, count: int, tag: str) -> list[int]:
    async def main() -> list[int]:
        uids = []
        for number in range(count):  # one at a time: each alone in its commit, the same statements
            prepared = await batcher.in_pool(ms.prepare_content, build_message(subject=f"{tag} n°{number}"))
            (message,) = await batcher.commit(lambda p=prepared: ms.do_store(p, [ms.Placement(account_id, mailbox_id)]))
            uids.append(message.uid)
        return uids

    return asyncio.run(main())


@pytest.mark.parametrize("threshold", [5, -1])
def test_the_writer_prepares_the_statements_it_repeats(transactional_db, make_account, settings, threshold):
    settings.DB_PREPARE_THRESHOLD = threshold
    account = make_account()
    inbox = mb.special_mailbox(account.pk, "inbox")
    batcher = DeliveryBatcher(processes=0)
    try:
        uids = _deliveries(batcher, account.pk, inbox.pk, 7, "bulletin")
        seen = asyncio.run(batcher.commit(_prepared)) if connection.vendor == "postgresql" else []
    finally:
        batcher.close()
    assert uids == list(range(1, 8))
    stored = Message.objects.filter(mailbox=inbox).order_by("uid")
    assert [m.content.subject for m in stored.select_related("content")] == [f"bulletin n°{i}" for i in range(7)]
    assert sorted(m.uid for m in ms.search_messages(account.pk, "bulletin")) == uids
    if connection.vendor != "postgresql":
        return  # SQLite: nothing to prepare, the deliveries above are the test
    counted = [s for s in seen if s.startswith("UPDATE store_mailbox SET uidnext")]
    # Seven times the same statements: prepared from the fifth, with $n parameters.
    assert (len(counted), "$1" in "".join(counted)) == ((1, True) if threshold >= 0 else (0, False))
    assert _prepared() == []  # this (the test's) connection: client-side binding, nothing prepared
