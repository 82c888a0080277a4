"""rspamd as the spam engine, over its HTTP protocol, when
``ACADEMAIL_RSPAMD_URL`` is set (https://rspamd.com/doc/developers/protocol.html).

``check`` posts a message to the normal worker's ``/checkv2`` with the
envelope as request headers (``From``, ``IP``, ``Helo``); its symbols and
score then stand for the built-in rules and classifier (``spam.screen``).
``learn`` posts a message the person judged to the controller's
``/learnspam`` or ``/learnham`` (``ACADEMAIL_RSPAMD_CONTROLLER_URL``, with
``ACADEMAIL_RSPAMD_PASSWORD`` in the ``Password`` header).

rspamd unreachable, slow or answering nonsense: both return ``None`` /
``False`` and log; the caller falls back to the built-in engine, so no mail
is ever refused or lost because rspamd is down. The standard library's
``urllib`` is enough for two POSTs (no maintained Python rspamd client
exists; see docs/design.md).
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)

# Our own Received field, first in the per-delivery prefix:
# "Received: from HELO (rdns [IP])" (RFC 5321 §4.4).
_RECEIVED = re.compile(rb"^Received:\s*from\s+(\S+)\s+\([^\[]*\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]", re.MULTILINE)


def enabled() -> bool:
    return bool(settings.RSPAMD_URL)


def envelope_headers(prefix: bytes, envelope_from: str) -> dict[str, str]:
    """rspamd's request headers for the envelope, read from our Received
    field in ``prefix`` (the connecting client's HELO and IP)."""
    headers = {"From": envelope_from or "<>"}
    found = _RECEIVED.search(prefix)
    if found is not None:
        headers["Helo"] = found.group(1).decode("ascii", "replace")
        headers["IP"] = found.group(2).decode("ascii", "replace")
    return headers


def _post(url: str, body: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (our setting)
    try:
        with urllib.request.urlopen(request, timeout=settings.RSPAMD_TIMEOUT) as response:  # noqa: S310
            answer = json.loads(response.read())
    except (OSError, ValueError) as error:  # URLError/HTTPError/timeouts are OSError; bad JSON ValueError
        log.warning("rspamd at %s did not answer (%s): using the built-in engine", url.split("?")[0], error)
        return None
    return answer if isinstance(answer, dict) else None


def check(raw: bytes, *, prefix: bytes = b"", envelope_from: str = "") -> dict[str, Any] | None:
    """rspamd's answer for one message (``score``, ``action``, ``symbols``),
    or None when rspamd cannot be asked (the caller then uses the built-in
    engine). Never raises."""
    answer = _post(settings.RSPAMD_URL.rstrip("/") + "/checkv2", prefix + raw, envelope_headers(prefix, envelope_from))
    if answer is None or not isinstance(answer.get("score"), (int, float)) or not isinstance(answer.get("symbols"), dict):
        return None
    return answer


def learn(raw: bytes, *, spam: bool) -> bool:
    """Teach rspamd's Bayes one message; False (logged) when the controller
    is not configured, unreachable or refuses. Never raises."""
    base = settings.RSPAMD_CONTROLLER_URL
    if not base:
        return False
    headers = {"Password": settings.RSPAMD_PASSWORD} if settings.RSPAMD_PASSWORD else {}
    answer = _post(base.rstrip("/") + ("/learnspam" if spam else "/learnham"), raw, headers)
    return bool(answer and answer.get("success"))
