"""Web requests leave no database connection behind in their thread."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client


@pytest.mark.django_db(transaction=True)
def test_a_request_closes_its_threads_connection():
    seen = {}

    def request_in_a_thread():
        # As under ASGI: the request's sync code runs in a thread of its own.
        response = Client().get("/healthz")
        seen["status"] = response.status_code
        seen["open_after"] = connection.connection is not None

    worker = threading.Thread(target=request_in_a_thread)
    worker.start()
    worker.join(30)
    assert seen == {"status": 200, "open_after": False}


@pytest.mark.django_db
def test_a_connection_inside_a_transaction_stays_open(client):
    from academail.accounts.models import Account

    Account.objects.exists()
    assert client.get("/healthz").status_code == 200
    assert connection.connection is not None and connection.in_atomic_block
