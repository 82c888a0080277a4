"""Store changes reach subscribers after commit, and never when rolled back."""

from __future__ import annotations

import asyncio

import pytest
from django.db import connection, transaction

from academail.delivery.door import Recipient, do_deliver_prepared, prepare
from academail.store.events import bus
from academail.store.messages import do_set_flags
from academail.store.models import Flag, Mailbox
from tests.conftest import build_message

pytestmark = pytest.mark.django_db(transaction=True)


def test_delivery_and_flags_are_published_after_commit(make_account):
    account = make_account()
    box = Mailbox.objects.get(account=account, special_use="inbox")

    def changes() -> None:
        prepared = prepare(build_message())
        # A delivery rolled back publishes nothing.
        with transaction.atomic():
            do_deliver_prepared(prepared, [Recipient(account.address, account.pk)])
            transaction.set_rollback(True)
        with transaction.atomic():
            do_deliver_prepared(prepared, [Recipient(account.address, account.pk)])
        do_set_flags(account.pk, box.pk, [(1, 1)], mode="add", flags=Flag.SEEN)
        connection.close()

    async def scenario() -> list:
        subscription = bus.subscribe(account.pk)
        # The store runs in worker threads, the subscriber on the loop.
        await asyncio.to_thread(changes)
        events = [await asyncio.wait_for(subscription.get(), 2) for _ in range(2)]
        assert subscription.queue.empty()
        subscription.close()
        return events

    exists, flags = asyncio.run(scenario())
    assert (exists.kind, exists.mailbox_id, exists.uids) == ("exists", box.pk, (1,))
    assert (flags.kind, flags.uids) == ("flags", (1,))
    assert flags.modseq > exists.modseq
