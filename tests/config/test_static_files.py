"""Static files (outside review, 2026-12): a path-traversal request under
/static/ gave a 500 and a 65-line traceback each time (Django's development
handler). ServeStatic (WhiteNoise's ASGI fork) now serves the collected files under hashed names,
compressed, cached for a year; a bad path is a plain 404."""

from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import unquote

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

pytestmark = pytest.mark.django_db

TRAVERSALS = [
    "/static/../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/static/admin/../../../../../../etc/passwd",
    "/static/%2e%2e%5c%2e%2e%5cwindows%5cwin.ini",
    "/static/\u2025/\u2025/etc/passwd",
    "/static/nexiste-pas.css",
]


def _asset(page: str) -> str:
    match = re.search(r'/static/[^"\']+\.[0-9a-f]{12}\.css', page)
    assert match, "no hashed stylesheet in the page"
    return match.group(0)


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_under_static_is_a_404_without_traceback(path, caplog):
    caplog.set_level(logging.WARNING)
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code == 404
    assert b"root:" not in response.content
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def _asgi_get(path: str) -> tuple[int, bytes]:
    """GET ``path`` from the application uvicorn serves (config.asgi), raw ASGI: status and body."""
    from academail.config.asgi import application

    raw_path = path.encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": unquote(path), "raw_path": raw_path, "query_string": b"", "root_path": "",
        "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
    }
    sent: list[dict] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        sent.append(message)

    async_to_sync(application)(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _asgi_status(path: str) -> int:
    return _asgi_get(path)[0]


def test_an_asset_is_streamed_asynchronously_under_asgi():
    """Under uvicorn a file must come from an async iterator: a synchronous one
    is read whole in a thread, and Django warns "StreamingHttpResponse must
    consume synchronous iterators" at every asset (WhiteNoise did)."""
    import warnings

    stylesheet = _asset(Client().get("/connexion/").content.decode())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, body = _asgi_get(stylesheet)
    assert status == 200 and b".fr-btn" in body
    assert not [w for w in caught if "synchronous iterators" in str(w.message)], [str(w.message) for w in caught]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_through_the_asgi_application_is_a_404(path, caplog):
    caplog.set_level(logging.WARNING)
    assert _asgi_status(path) == 404
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_static_files_have_hashed_names_long_cache_and_compression():
    client = Client()
    stylesheet = _asset(client.get("/connexion/").content.decode())
    response = client.get(stylesheet, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"
    assert response["Content-Encoding"] == "gzip"
    assert response["Content-Type"].startswith("text/css")


def test_the_official_dsfr_is_vendored_whole_and_pinned():
    """The DSFR copied by tools/vendor_dsfr.py is the version the lock file
    pins, its licence is beside it, every file its stylesheet names exists,
    and pages load it before our own stylesheet."""
    import json
    from pathlib import Path

    from tools.vendor_dsfr import referenced

    root = Path(__file__).resolve().parents[2]
    vendored = root / "src" / "academail" / "config" / "static" / "dsfr"
    lock = json.loads((root / "assets" / "dsfr" / "package-lock.json").read_text())
    version = lock["packages"]["node_modules/@gouvfr/dsfr"]["version"]
    css = (vendored / "dsfr.min.css").read_text(encoding="utf-8")
    assert f"DSFR v{version} " in css[:300]
    assert "Etalab" in (vendored / "LICENSE.md").read_text(encoding="utf-8")
    names = referenced(css)
    assert any(name.startswith("fonts/Marianne") for name in names)
    assert [name for name in names if not (vendored / name).is_file()] == []

    page = Client().get("/connexion/").content.decode()
    dsfr, ours = page.index("/static/dsfr/dsfr.min."), page.index("/static/academail/css/site.")
    assert dsfr < ours
