"""Live updates: the JSON state (counters of the signed-in account's folders
only) and the server-sent event stream, read over a real socket from uvicorn
running the ASGI application, while a message comes in through the door."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.conftest import build_message
from tests.servers import free_port
from tests.webmail.conftest import box_of, deliver


@contextlib.contextmanager
def running_asgi(*, keep_connections: bool = False) -> Iterator[str]:
    """uvicorn serving ``academail.config.asgi`` on loopback, in a thread; yields its base URL.

    The web threads (``config.asgi``) keep their database connection between
    requests, as in production, only with ``keep_connections``; otherwise
    each request closes it (CONN_MAX_AGE 0), so that no connection made for
    one test outlives it. Either way they are closed at the end: a test
    database cannot be dropped while a connection to it is open."""
    import uvicorn
    from django.db import connections

    from academail.config.asgi import application

    database = connections.settings["default"]
    saved_age = database.get("CONN_MAX_AGE", 0)
    if not keep_connections:
        database["CONN_MAX_AGE"] = 0
    port = free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        for executor in application.threads.executors:
            # A lambda: ``connection`` resolves to the calling thread's connection.
            executor.submit(lambda: connection.close()).result(10)
        database["CONN_MAX_AGE"] = saved_age


class EventStream:
    """A minimal text/event-stream reader over a plain socket."""

    def __init__(self, base: str, cookie: str | None, path: str = "/courrier/direct/flux/") -> None:
        host, port = base.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        headers = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
        if cookie:
            headers += f"Cookie: sessionid={cookie}\r\n"
        self.sock.sendall((headers + "\r\n").encode())
        self.file = self.sock.makefile("rb")
        self.status = int(self.file.readline().split()[1])
        self.headers: dict[str, str] = {}
        while (line := self.file.readline().decode().strip()):
            name, _, value = line.partition(":")
            self.headers[name.lower()] = value.strip()
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.buffer = b""
        self.retry = ""

    def _more(self) -> bool:
        if not self.chunked:
            data = self.file.read1(65536)
            self.buffer += data
            return bool(data)
        size = int(self.file.readline().strip() or b"0", 16)
        if size == 0:
            return False
        self.buffer += self.file.read(size)
        self.file.readline()
        return True

    def next(self) -> tuple[str, str]:
        """The next event (name, data) or comment ("", text)."""
        while b"\n\n" not in self.buffer:
            if not self._more():
                raise EOFError("stream ended")
        block, self.buffer = self.buffer.split(b"\n\n", 1)
        name, data = "message", ""
        for line in block.decode().splitlines():
            if line.startswith(":"):
                return "", line[1:].strip()
            field, _, value = line.partition(":")
            if field == "event":
                name = value.strip()
            elif field == "data":
                data = value.strip()
            elif field == "retry":
                self.retry = value.strip()
        return name, data

    def until(self, name: str) -> str:
        while True:
            event, data = self.next()
            if event == name:
                return data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
            self.sock.close()


def _connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def _session_cookie(account) -> str:
    client = Client()
    client.force_login(account)
    return client.cookies["sessionid"].value


# --- the JSON state ----------------------------------------------------------------


def test_state_counts_the_accounts_own_folders(web, person, other):
    deliver(person, build_message(subject="Un"))
    deliver(person, build_message(subject="Deux"))
    deliver(other, build_message(to=other.address, subject="Pas pour Julie"))
    response = web.get(reverse("webmail:live_state"))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    state = response.json()
    inbox = box_of(person, "inbox")
    assert state["inbox"] == inbox.pk and state["inbox_unseen"] == 2
    ids = {m["id"] for m in state["mailboxes"]}
    assert ids == set(person.mailboxes.values_list("pk", flat=True))
    assert not ids & set(other.mailboxes.values_list("pk", flat=True))
    (box,) = [m for m in state["mailboxes"] if m["id"] == inbox.pk]
    inbox.refresh_from_db()
    assert box == {"id": inbox.pk, "messages": 2, "unseen": 2, "uidnext": inbox.uidnext, "modseq": inbox.highestmodseq}


def test_state_requires_sign_in_and_get(client, person):
    response = client.get(reverse("webmail:live_state"))
    assert response.status_code == 401 and "reconnectez-vous" in response.json()["error"]
    client.force_login(person)
    assert client.post(reverse("webmail:live_state")).status_code == 405


def test_state_is_one_query(web, person, django_assert_num_queries):
    web.get(reverse("webmail:live_state"))  # session and account cached on the first request
    with django_assert_num_queries(3):  # session, account, mailboxes
        web.get(reverse("webmail:live_state"))


# --- the event stream over a real server ----------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_new_mail_is_announced_on_the_open_stream(person, other, settings):
    settings.WEBMAIL_LIVE_HEARTBEAT = 0.2
    cookie = _session_cookie(person)
    inbox = box_of(person, "inbox")
    with running_asgi() as base:
        before = _connections() if connection.vendor == "postgresql" else 0
        stream = EventStream(base, cookie)
        try:
            assert stream.status == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["cache-control"] == "no-store"
            stream.until("hello")
            assert stream.next() == ("", "ping")  # heartbeat while nothing happens
            if connection.vendor == "postgresql":
                # The open stream holds no database connection (the one that read the session is closed).
                assert _connections() <= before  # others may close meanwhile; the stream adds none
            # Someone else's mail is not announced to Julie; hers is.
            deliver(other, build_message(to=other.address, subject="Pour Paul"))
            deliver(person, build_message(subject="Pour Julie"))
            change = json.loads(stream.until("change"))
            assert change["mailbox"] == inbox.pk and change["kind"] == "exists"
            inbox.refresh_from_db()
            assert change["modseq"] == inbox.highestmodseq
        finally:
            stream.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_stream_ends_and_tells_the_browser_when_to_reconnect(person, settings):
    settings.WEBMAIL_LIVE_HEARTBEAT = 0.1
    settings.WEBMAIL_LIVE_MAX_SECONDS = 0.5
    with running_asgi() as base:
        stream = EventStream(base, _session_cookie(person))
        try:
            stream.until("hello")
            assert stream.retry == "3000"
            stream.until("bye")
            with pytest.raises(EOFError):
                stream.next()
        finally:
            stream.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_stream_refuses_without_a_session(person):
    with running_asgi() as base:
        stream = EventStream(base, None)
        try:
            assert stream.status == 401
        finally:
            stream.close()
        forged = EventStream(base, "not-a-session")
        try:
            assert forged.status == 401
        finally:
            forged.close()


def test_stream_under_wsgi_tells_the_page_to_poll(web):
    # Django would buffer an async stream under WSGI: 204 makes EventSource stop,
    # and live.js falls back to polling the state.
    response = web.get(reverse("webmail:live_events"))
    assert response.status_code == 204 and not response.content
