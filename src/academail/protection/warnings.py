"""Phishing warnings stored with the message (computed once at delivery by
``protection.phishing``) and read back for the reading pane, the message
list and the frame that rewrites flagged links to the interstitial page.

Stored per content and authentication results (``MessageWarnings.key``):
opening a message costs one indexed lookup, never a new analysis. Stored as
codes and parameters; the words come at reading time, in the reader's
language (``texts``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.db import connection
from django.utils import timezone

from academail.mime.parse import Part
from academail.protection import gathered
from academail.protection.authresults import Auth, read_auth
from academail.protection.models import MessageWarnings
from academail.protection.phishing import Findings, name_warnings
from academail.protection.texts import describe

_LINK_SALT = "academail.protection.link"


def warnings_key(sha256: str, prefix: bytes, auth: Auth | None = None) -> str:
    """The key of a message's warnings: its content and the authentication
    results of its ``prefix`` (``auth``: those results, already read)."""
    if auth is None:
        auth = read_auth(prefix)
    return hashlib.sha256(f"{sha256}|{auth!r}".encode()).hexdigest()


def do_remember(sha256: str, prefix: bytes, findings: Findings | None, auth: Auth | None = None) -> None:
    """Store the warnings of a delivered message (nothing when there are none):
    noted for the batch inside ``gathered.gathering``, otherwise one insert
    now. ``auth``: the authentication results of ``prefix``, when the
    screening already read them. Precondition: inside the delivery
    transaction (either way the row shares its commit)."""
    if findings is None or not findings.warnings:
        return
    key = warnings_key(sha256, prefix, auth)
    row = (findings.level, json.dumps(findings.to_json()))
    notes = gathered.current()
    if notes is not None:
        notes.warnings.setdefault(key, row)
        return
    do_remember_many({key: row})


CHUNK = 500  # rows per statement (4 parameters each)


def do_remember_many(rows: Mapping[str, tuple[str, str]]) -> None:
    """Store warnings rows (key -> (level, JSON data)), one statement per
    ``CHUNK``. Precondition: inside a transaction."""
    if not rows:
        return
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    items = sorted(rows.items())
    # Raw SQL: once per delivery from outside, where the ORM's bulk_create
    # cost 0.9 ms of the serving process's CPU (bench/README.md, issue 21).
    # ON CONFLICT: the same message (a circular) is remembered once.
    with connection.cursor() as cursor:
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            cursor.execute(
                f"INSERT INTO {MessageWarnings._meta.db_table} (key, level, data, created_at) VALUES "  # noqa: S608
                + ", ".join(["(%s, %s, %s, %s)"] * len(chunk)) + " ON CONFLICT (key) DO NOTHING",
                [value for key, (level, data) in chunk for value in (key, level, data, now)],
            )


@dataclass(frozen=True)
class Shown:
    """What the reading pane shows: the banner's level and the warnings."""

    level: str = ""
    warnings: list[dict[str, Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @property
    def danger(self) -> bool:
        return self.level == "danger"

    @property
    def neutral(self) -> bool:
        """Only information (from outside; first message of its domain): the
        neutral banner, not an alert."""
        return all(w["level"] == "info" for w in self.warnings)

    @property
    def new_domain(self) -> dict[str, Any] | None:
        return next((w for w in self.warnings if w["code"] == "NEW_DOMAIN"), None)


def for_message(sha256: str, prefix: bytes) -> Shown:
    """The stored warnings of one message, put into words in the active
    language (``texts.describe``)."""
    row = MessageWarnings.objects.filter(key=warnings_key(sha256, prefix)).values_list("level", "data").first()
    if row is None:
        return Shown()
    level, data = row
    return Shown(level, [_in_words(w) for w in data.get("warnings", []) if isinstance(w, dict)],
                 list(data.get("links", [])))


def _in_words(stored: dict[str, Any]) -> dict[str, Any]:
    code = str(stored.get("code", ""))
    params = stored.get("params")
    params = params if isinstance(params, dict) else {}
    title, detail = describe(code, params)
    return {"code": code, "level": str(stored.get("level", "")), "title": title, "detail": detail, "params": params}


# The warnings about one attachment (``phishing.attachment_warnings``).
ATTACHMENT_CODES = frozenset({"ATTACHMENT_RTL", "ATTACHMENT_DOUBLE_EXTENSION", "ATTACHMENT_EXECUTABLE",
                              "ATTACHMENT_MACRO", "ATTACHMENT_HTML_FORM", "ARCHIVE_ENCRYPTED", "ARCHIVE_EXECUTABLE"})


def download_risks(shown: Shown, part: Part) -> list[dict[str, Any]]:
    """What downloading one attachment must be confirmed for: the warnings
    its name raises (any message, at no cost), and those stored at delivery
    for that file (what its content showed: macros, an archive holding a
    program, a web page with a form). The reading pane and the download
    ask the same question, so a link that would need a confirmation never
    carries the ``download`` attribute."""
    found = [asdict(w) | {"title": w.title, "detail": w.detail} for w in name_warnings(part)]
    codes = {w["code"] for w in found}
    name = (part.filename or "").strip()[:80]
    found.extend(w for w in shown.warnings
                 if w["code"] in ATTACHMENT_CODES and w["code"] not in codes and w["params"].get("name") == name)
    return found


def levels_for(messages: Iterable[tuple[str, bytes]]) -> dict[tuple[str, bytes], str]:
    """The banner level of many messages ((content sha256, prefix) pairs) in
    one query: the sign in the message list."""
    keys = {warnings_key(sha, prefix): (sha, prefix) for sha, prefix in messages}
    found = MessageWarnings.objects.filter(key__in=list(keys)).values_list("key", "level")
    return {keys[key]: level for key, level in found}


def leave_url(url: str) -> str:
    """The interstitial page's address for a flagged link (signed, so it is
    no open redirect)."""
    from django.urls import reverse

    return reverse("protection:leave") + "?" + urlencode({"u": signing.dumps(url, salt=_LINK_SALT, compress=True)})


def check_leave_token(token: str) -> str | None:
    """The destination of a signed link token; None when forged or broken."""
    try:
        value = signing.loads(token, salt=_LINK_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, str) and value.lower().startswith(("http://", "https://")) else None


def flagged_ids(messages: Iterable[Any]) -> set[int]:
    """The ids of the messages of a list page (store Message rows with their
    content loaded) whose stored warnings are red or orange: the sign in the
    message list. One query for the whole page."""
    rows = [(m.pk, m.content.sha256, bytes(m.prefix)) for m in messages]
    levels = levels_for((sha, prefix) for _, sha, prefix in rows)
    return {pk for pk, sha, prefix in rows if levels.get((sha, prefix)) in ("danger", "warning")}
