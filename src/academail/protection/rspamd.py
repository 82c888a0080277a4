"""rspamd as the spam engine, over its HTTP protocol, when
``ACADEMAIL_RSPAMD_URL`` is set (https://rspamd.com/doc/developers/protocol.html).

``check`` posts a message to the normal worker's ``/checkv2`` with the
envelope as request headers (``From``, ``IP``, ``Helo``, one ``Rcpt`` per
recipient, and ``Deliver-To`` when there is one recipient, which rspamd's
per-user statistics and settings key on); its symbols and
score then stand for the built-in rules and classifier (``spam.screen``).
``learn`` posts a message the person judged to the controller's
``/learnspam`` or ``/learnham`` (``ACADEMAIL_RSPAMD_CONTROLLER_URL``, with
``ACADEMAIL_RSPAMD_PASSWORD`` in the ``Password`` header).

rspamd unreachable, slow or answering nonsense: both return ``None`` /
``False`` and log; the caller falls back to the built-in engine, so no mail
is ever refused or lost because rspamd is down. The standard library's
``http.client`` is enough for two POSTs (no maintained Python rspamd client
exists; see docs/design.md); ``urllib`` could not repeat ``Rcpt``.

No ``User`` header: it names the SMTP-authenticated sender, and rspamd
treats such mail as outbound (skipping checks meant for the MX); the
messages screened here all come from outside.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

log = logging.getLogger(__name__)

MAX_RCPT = 1000  # a circular's recipients beyond this add nothing to rspamd's judgement

# Our own Received field, first in the per-delivery prefix:
# "Received: from HELO (rdns [IP])" (RFC 5321 §4.4).
_RECEIVED = re.compile(rb"^Received:\s*from\s+(\S+)\s+\([^\[]*\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]", re.MULTILINE)


def enabled() -> bool:
    return bool(settings.RSPAMD_URL)


def envelope_headers(
    prefix: bytes, envelope_from: str, recipients: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """rspamd's request headers for the envelope: the sender, the
    recipients, and from our Received field in ``prefix`` the connecting
    client's HELO and IP. A list: ``Rcpt`` repeats."""
    headers = [("From", envelope_from or "<>")]
    found = _RECEIVED.search(prefix)
    if found is not None:
        headers.append(("Helo", found.group(1).decode("ascii", "replace")))
        headers.append(("IP", found.group(2).decode("ascii", "replace")))
    clean = [r for r in dict.fromkeys(recipients) if r and r.isascii() and "\r" not in r and "\n" not in r]
    headers.extend(("Rcpt", r) for r in clean[:MAX_RCPT])
    if len(clean) == 1:
        headers.append(("Deliver-To", clean[0]))
    return headers


def _post(url: str, body: bytes, headers: Sequence[tuple[str, str]]) -> dict[str, Any] | None:
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    try:
        conn = kind(parts.hostname or "localhost", parts.port, timeout=settings.RSPAMD_TIMEOUT)
        try:
            conn.putrequest("POST", parts.path or "/", skip_accept_encoding=True)
            for name, value in [*headers, ("Content-Length", str(len(body)))]:
                conn.putheader(name, value)
            conn.endheaders(body)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise OSError(f"HTTP {response.status}")
        answer = json.loads(data)
    except (OSError, ValueError, http.client.HTTPException) as error:  # timeouts are OSError; bad JSON ValueError
        log.warning("rspamd at %s did not answer (%s): using the built-in engine", url.split("?")[0], error)
        return None
    return answer if isinstance(answer, dict) else None


def check(
    raw: bytes, *, prefix: bytes = b"", envelope_from: str = "", recipients: Sequence[str] = ()
) -> dict[str, Any] | None:
    """rspamd's answer for one message (``score``, ``action``, ``symbols``),
    or None when rspamd cannot be asked (the caller then uses the built-in
    engine). Never raises."""
    answer = _post(settings.RSPAMD_URL.rstrip("/") + "/checkv2", prefix + raw,
                   envelope_headers(prefix, envelope_from, recipients))
    if answer is None or not isinstance(answer.get("score"), (int, float)) or not isinstance(answer.get("symbols"), dict):
        return None
    return answer


def learn(raw: bytes, *, spam: bool) -> bool:
    """Teach rspamd's Bayes one message; False (logged) when the controller
    is not configured, unreachable or refuses. Never raises."""
    base = settings.RSPAMD_CONTROLLER_URL
    if not base:
        return False
    headers = [("Password", settings.RSPAMD_PASSWORD)] if settings.RSPAMD_PASSWORD else []
    answer = _post(base.rstrip("/") + ("/learnspam" if spam else "/learnham"), raw, headers)
    return bool(answer and answer.get("success"))
