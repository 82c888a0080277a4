"""The web process's ASGI handler (``config.asgi.OneHopASGIHandler``), over a
real uvicorn socket: a request crosses once to one of ``WEB_THREADS``
threads, which keep their database connection from one request to the next
(a thread and a connection per request cost PostgreSQL a backend a view);
the edge middleware's headers are on every answer, static files included;
and a middleware list the handler cannot split is refused at start-up."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client, override_settings

from academail.config.security import PAGE_CSP
from tests.webmail.test_live import running_asgi


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (loopback)
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


def _get_when_idle(url: str) -> int:
    """GET ``url`` once the previous request has given its thread back (the
    answer reaches the client just before), so that each takes the same
    least busy thread."""
    from academail.config.asgi import application

    deadline = time.monotonic() + 10
    while any(application.threads.busy):
        assert time.monotonic() < deadline, "a web thread stayed busy"
        time.sleep(0.005)
    status, _headers, body = _get(url)
    assert status == 200, body
    return status


def _threads_connections() -> list[object | None]:
    """Each web thread's open database connection (None where it has none)."""
    from academail.config.asgi import application

    # A lambda: ``connection`` resolves to the calling thread's connection.
    return [executor.submit(lambda: connection.connection).result(10) for executor in application.threads.executors]


@pytest.mark.django_db(transaction=True)
def test_the_web_threads_keep_their_connection_from_one_request_to_the_next():
    with running_asgi(keep_connections=True) as base:
        for _ in range(5):
            _get_when_idle(f"{base}/healthz")
        first = _threads_connections()
        assert len(first) == settings.WEB_THREADS
        opened = [c for c in first if c is not None]
        assert len(opened) == 1  # requests one after the other: the least busy thread is the same one
        for _ in range(5):
            _get_when_idle(f"{base}/healthz")
        again = _threads_connections()
        # The same connection objects: no request connected anew.
        assert [id(c) for c in again] == [id(c) for c in first]


@pytest.mark.django_db(transaction=True)
def test_every_answer_carries_the_edge_headers_static_files_included():
    with running_asgi() as base:
        status, page_headers, page = _get(f"{base}/connexion/")
        assert status == 200
        assert page_headers["Content-Security-Policy"] == PAGE_CSP
        assert page_headers["X-Frame-Options"] == "DENY"
        match = re.search(rb"/static/[^\"']+\.[0-9a-f]{12}\.css", page)
        assert match, "no hashed stylesheet in the page"
        status, asset_headers, _ = _get(base + match.group(0).decode())
        assert status == 200
        missing_status, missing_headers, _ = _get(f"{base}/nexiste-pas/")
        assert missing_status == 404
    for headers in (page_headers, asset_headers, missing_headers):
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_a_connection_inside_a_transaction_stays_open_after_a_request(client):
    from academail.accounts.models import Account

    Account.objects.exists()
    assert client.get("/healthz").status_code == 200
    assert connection.connection is not None and connection.in_atomic_block


def test_a_middleware_list_that_does_not_start_with_the_edge_is_refused():
    from academail.config.asgi import OneHopASGIHandler

    inner = [name for name in settings.MIDDLEWARE if name not in settings.EDGE_MIDDLEWARE]
    with override_settings(MIDDLEWARE=[inner[0], *settings.EDGE_MIDDLEWARE, *inner[1:]]):
        with pytest.raises(ImproperlyConfigured, match="must start with EDGE_MIDDLEWARE"):
            OneHopASGIHandler()


def test_a_middleware_with_view_hooks_is_refused_at_the_edge():
    from academail.config.asgi import OneHopASGIHandler

    # CSRF has process_view: in the event loop it would run before the view's
    # thread has the session, so the handler must not accept it there.
    edge = [*settings.EDGE_MIDDLEWARE, "django.middleware.csrf.CsrfViewMiddleware"]
    inner = [name for name in settings.MIDDLEWARE if name not in edge]
    with override_settings(EDGE_MIDDLEWARE=edge, MIDDLEWARE=[*edge, *inner]):
        with pytest.raises(ImproperlyConfigured, match="has view hooks"):
            OneHopASGIHandler()


def test_the_test_client_runs_the_same_chain():
    """The test client (and WSGI) runs ``MIDDLEWARE`` whole and in order: the
    edge's headers are there too."""
    response = Client().get("/connexion/")
    assert response["Content-Security-Policy"] == PAGE_CSP
    assert response["X-Content-Type-Options"] == "nosniff"
