"""Radicale, the CalDAV/CardDAV server, wired into academail.

We do not write a DAV server: Radicale (PyPI ``Radicale``) answers every DAV
request, from storage under ``settings.DAV_DIR`` (its ``multifilesystem``
layout: one folder per collection, one file per event or card). This module
owns its configuration, the one ``Application`` of the process, the rights
plugin, and the provisioning of an account's collections:

- ``/dav/<identifier>/``            the principal (calendar and address book home);
- ``/dav/<identifier>/agenda/``     the default calendar « Agenda » (RFC 4791);
- ``/dav/<identifier>/contacts/``   the personal address book (RFC 6352);
- ``/dav/<identifier>/annuaire/``   the académie directory, read-only: a symbolic
  link to one shared collection that ``calendar.directory`` generates, so
  60,000 homes share one copy of 60,000 cards.

Authentication is not Radicale's: ``calendar.views.dav`` checks the caller
through ``accounts`` (HTTP Basic with an app password or the account password,
or the web session for reads) and hands Radicale the identifier as
``REMOTE_USER`` (its ``remote_user`` backend). Radicale never sees a password.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
from pathlib import Path

import radicale
import radicale.config
import radicale.rights
import radicale.storage
from django.conf import settings
from radicale import pathutils

DEFAULT_CALENDAR = "agenda"
DEFAULT_ADDRESSBOOK = "contacts"
DIRECTORY = "annuaire"

# Radicale property names (its ``.Radicale.props`` keys, Clark-less prefixes).
CALENDAR_PROPS = {
    "tag": "VCALENDAR",
    "D:displayname": "Agenda",
    "C:supported-calendar-component-set": "VEVENT,VTODO",
    "ICAL:calendar-color": "#000091",
}
ADDRESSBOOK_PROPS = {"tag": "VADDRESSBOOK", "D:displayname": "Contacts"}
DIRECTORY_PROPS = {
    "tag": "VADDRESSBOOK",
    "D:displayname": "Annuaire de l'académie",
    "CR:addressbook-description": "Les personnels de l'académie (lecture seule)",
}

# Every collection but the directory, which is shared and never written through DAV.
_OWN_RIGHTS = "rw"
# Deny what Radicale offers beyond plain DAV: sharing by token or map (t, m),
# property overlays (p).
_DENIED_EXTRAS = "tmp"
# A delegate never deletes nor replaces the owner's calendar itself (d, o),
# only its events.
_DELEGATE_DENIED = "do"


def storage_folder() -> Path:
    return Path(settings.DAV_DIR) / "collections"


def collection_root() -> Path:
    return storage_folder() / "collection-root"


def directory_folder() -> Path:
    """The shared directory collection: outside ``collection-root``, so no DAV
    path reaches it except through each home's ``annuaire`` link."""
    return Path(settings.DAV_DIR) / "directory"


_request = threading.local()  # per ``call``: the delegate's rights by owner, asked once


def _delegated(user: str, owner: str) -> str:
    """"r", "rw" or "" for ``user`` on ``owner``'s calendars
    (``calendar.delegated``), asked once per request: Radicale checks rights
    for each collection it lists."""
    memo: dict[tuple[str, str], str] | None = getattr(_request, "memo", None)
    if memo is not None and (user, owner) in memo:
        return memo[(user, owner)]
    from academail.calendar.delegated import dav_rights

    found = dav_rights(user, owner)
    if memo is not None:
        memo[(user, owner)] = found
    return found


def _is_calendar(owner: str, name: str) -> bool:
    try:
        props = json.loads((collection_root() / owner / name / ".Radicale.props").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(props, dict) and props.get("tag") == "VCALENDAR"


class Rights(radicale.rights.BaseRights):
    """Each account reads and writes its own home and nothing else; its
    ``annuaire`` is read-only. Paths are Radicale's sanitised paths.
    A delegate (issue 19, ``calendar.delegated``) lists the owner's home and
    reads, or reads and writes the events of, the owner's calendars (never
    their address books), while the delegation lasts.

    RFC 4918 §7 / Radicale's letters: ``R``/``W`` on the root and principal,
    ``r``/``w`` on calendars and address books; ``""`` refuses (403 or 404)."""

    def authorization(self, user: str, user_groups: set[str], path: str) -> str:
        if not user:
            return ""
        sane = pathutils.strip_path(path)
        if not sane:
            return "R"  # the root, to find one's principal (RFC 5397)
        parts = sane.split("/")
        if parts[0] != user:
            return self._delegate(user, parts)
        if len(parts) == 1:
            return "RW" + _DENIED_EXTRAS
        if len(parts) == 2:
            if parts[1] == DIRECTORY:
                return "r" + _DENIED_EXTRAS + "d"
            return _OWN_RIGHTS + _DENIED_EXTRAS
        return ""

    @staticmethod
    def _delegate(user: str, parts: list[str]) -> str:
        if len(parts) > 2 or not pathutils.is_safe_path_component(parts[0]):
            return ""
        granted = _delegated(user, parts[0])
        if not granted:
            return ""  # another account's home, or anything else
        if len(parts) == 1:
            return "R" + _DENIED_EXTRAS
        if not _is_calendar(parts[0], parts[1]):
            return ""
        return granted + _DENIED_EXTRAS + _DELEGATE_DENIED


def _configuration() -> radicale.config.Configuration:
    # Radicale logs each request at INFO (paths, user names); ours are enough.
    logging.getLogger("radicale").setLevel(logging.WARNING)
    configuration = radicale.config.load()
    configuration.update(
        {
            "server": {
                # Same bound as Radicale's default: 10 MB per event or card.
                "max_resource_size": str(settings.DAV_MAX_RESOURCE_BYTES),
                "max_content_length": str(settings.DAV_MAX_REQUEST_BYTES),
                "max_vevent_rrule_occurrence": "10000",
            },
            "auth": {"type": "remote_user", "delay": "0"},
            "rights": {"type": Rights},
            "storage": {
                "type": "multifilesystem",
                "filesystem_folder": str(storage_folder()),
                "max_sync_token_age": str(30 * 24 * 3600),
            },
            "web": {"type": "none"},
            "sharing": {"type": "none"},
            "hook": {"type": "none"},
            "logging": {"mask_passwords": "True", "level": "warning"},
        },
        "academail",
        privileged=True,
    )
    return configuration


_lock = threading.Lock()
_application: tuple[str, radicale.Application] | None = None


def application() -> radicale.Application:
    """The process's Radicale WSGI application for the current ``DAV_DIR``
    (tests point ``DAV_DIR`` elsewhere; a new folder gets a new application)."""
    global _application
    folder = str(settings.DAV_DIR)
    with _lock:
        if _application is None or _application[0] != folder:
            _application = (folder, radicale.Application(_configuration()))
        return _application[1]


_storage: tuple[str, radicale.storage.BaseStorage] | None = None


def _store() -> radicale.storage.BaseStorage:
    """Radicale's storage for the current ``DAV_DIR``, through its plugin
    interface (``radicale.storage.load``), for reads beside the application."""
    global _storage
    folder = str(settings.DAV_DIR)
    with _lock:
        if _storage is None or _storage[0] != folder:
            _storage = (folder, radicale.storage.load(_configuration()))
        return _storage[1]


def access_served(identifier: str, calendar: str, hrefs: list[str]) -> dict[str, tuple[str, str]]:
    """What Radicale serves for these items of ``identifier``'s own
    ``calendar``: href -> (ETag, calendar-data), the very ``Item.etag`` and
    ``Item.serialize()`` its REPORT and GET answers carry (from its item cache
    when warm). An item gone meanwhile is left out. The caller checked the
    account and the calendar; Radicale's shared storage lock is held."""
    if not (pathutils.is_safe_path_component(identifier) and pathutils.is_safe_path_component(calendar)):
        return {}
    store = _store()
    found: dict[str, tuple[str, str]] = {}
    with store.acquire_lock("r", identifier):
        collection = next(iter(store.discover(f"/{identifier}/{calendar}/")), None)
        if not isinstance(collection, radicale.storage.BaseCollection):
            return found
        for href, item in collection.get_multi(hrefs):
            if item is not None:
                found[href] = (item.etag, item.serialize())
    return found


def call(identifier: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
         *, environ: dict[str, object] | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request to Radicale on behalf of ``identifier`` (already
    authenticated by the caller): ``path`` is below ``/dav``. Returns (status,
    headers, body). The DAV view and the agenda's writes both come through
    here, so Radicale's checks (UID per collection, sizes, RRULE bounds) and its
    sync history apply to the webmail's changes as to a phone's."""
    do_provision(identifier)
    base: dict[str, object] = dict(environ or {})
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        base[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    base.setdefault("SERVER_NAME", "localhost")
    base.setdefault("SERVER_PORT", "80")
    base.setdefault("wsgi.url_scheme", "http")
    base.update({
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "/dav",
        "PATH_INFO": path,
        "REMOTE_USER": identifier,
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    })
    captured: dict[str, object] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: object = None) -> None:
        captured["status"], captured["headers"] = status, response_headers

    _request.memo = {}
    try:
        chunks = application()(base, start_response)
        try:
            content = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
    finally:
        _request.memo = None
    response_headers = captured["headers"]
    assert isinstance(response_headers, list)
    return int(str(captured["status"]).split(" ", 1)[0]), response_headers, content


def _write_props(folder: Path, props: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ".Radicale.props"
    if target.exists():
        return
    temporary = folder / ".Radicale.props.tmp"
    temporary.write_text(json.dumps(props, sort_keys=True), encoding="utf-8")
    os.replace(temporary, target)


def ensure_directory_collection() -> Path:
    folder = directory_folder()
    _write_props(folder, DIRECTORY_PROPS)
    return folder


def do_provision(identifier: str) -> Path:
    """Create the home of ``identifier`` if missing: principal, « Agenda »,
    « Contacts » and the link to the shared directory. Idempotent and cheap
    when done (one ``stat``): called before each DAV request and agenda page.

    Writes only to folders that do not exist yet, so it never competes with
    Radicale's writes to existing collections."""
    if not pathutils.is_safe_path_component(identifier):
        raise ValueError(f"unsafe identifier for a DAV home: {identifier!r}")
    home = collection_root() / identifier
    link = home / DIRECTORY
    if os.path.lexists(link):
        return home
    home.mkdir(parents=True, exist_ok=True)
    _write_props(home / DEFAULT_CALENDAR, CALENDAR_PROPS)
    _write_props(home / DEFAULT_ADDRESSBOOK, ADDRESSBOOK_PROPS)
    target = ensure_directory_collection()
    temporary = home / ".annuaire.link.tmp"
    if os.path.lexists(temporary):
        temporary.unlink()
    # Relative, so a restored or moved DAV_DIR keeps its links.
    os.symlink(os.path.relpath(target, home), temporary, target_is_directory=True)
    os.replace(temporary, link)
    return home
