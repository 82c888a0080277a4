"""Phishing warnings stored with the message (computed once at delivery by
``protection.phishing``) and read back for the reading pane, the message
list and the frame that rewrites flagged links to the interstitial page.

Stored per content and authentication results (``MessageWarnings.key``):
opening a message costs one indexed lookup, never a new analysis.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core import signing

from academail.protection.authresults import read_auth
from academail.protection.models import MessageWarnings
from academail.protection.phishing import Findings

_LINK_SALT = "academail.protection.link"


def warnings_key(sha256: str, prefix: bytes) -> str:
    auth = read_auth(prefix)
    return hashlib.sha256(f"{sha256}|{auth!r}".encode()).hexdigest()


def do_remember(sha256: str, prefix: bytes, findings: Findings | None) -> None:
    """Store the warnings of a delivered message (nothing when there are none).
    Precondition: inside the delivery transaction."""
    if findings is None or not findings.warnings:
        return
    MessageWarnings.objects.bulk_create(
        [MessageWarnings(key=warnings_key(sha256, prefix), level=findings.level, data=findings.to_json())],
        ignore_conflicts=True,
    )


@dataclass(frozen=True)
class Shown:
    """What the reading pane shows: the banner's level and the warnings."""

    level: str = ""
    warnings: list[dict[str, str]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @property
    def danger(self) -> bool:
        return self.level == "danger"

    @property
    def only_external(self) -> bool:
        return [w["code"] for w in self.warnings] == ["EXTERNAL"]


def for_message(sha256: str, prefix: bytes) -> Shown:
    row = MessageWarnings.objects.filter(key=warnings_key(sha256, prefix)).values_list("level", "data").first()
    if row is None:
        return Shown()
    level, data = row
    return Shown(level, list(data.get("warnings", [])), list(data.get("links", [])))


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
