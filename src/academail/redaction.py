"""No secret in a log line: the one place that knows which URLs carry a token
(a password-reset link, "Ce n'était pas moi", a forward confirmation...) and
the logging filter that hides those tokens in every line the process writes:
uvicorn's access log, Django's request warnings ("Not Found: /…/<token>/"),
our own loggers.

Every feature that sends a token link registers it once, in its
``AppConfig.ready()``::

    from academail import redaction
    redaction.register_token_url("helpdesk:follow", kwarg="token")

The URL is reversed with a marker in place of the token, so the path before
the token (``/mot-de-passe-oublie/lien/``) becomes a redaction prefix; a token
passed as a query parameter is registered with ``register_token_parameter``.
``RedactTokens`` is installed on the console handler by ``settings.LOGGING``
(and ``academail serve`` sends uvicorn's loggers there), so a new logger or
handler inherits it. The system check ``academail.E011`` fails start-up when a
registered URL name does not reverse, rather than leaving a token in clear.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.urls import NoReverseMatch, reverse

REDACTED = "[redacted]"
_MARKER = "ZZtokenZZ"
# A token ends at the next path separator, query, fragment, quote or space.
_TOKEN_CHARS = r"[^/?#&\s\"']+"  # noqa: S105 (a pattern, not a password)

_urls: list[tuple[str, str]] = []  # (URL name, keyword argument of the token)
_parameters: set[str] = {"token"}


def register_token_url(url_name: str, *, kwarg: str = "token") -> None:
    """Hide the ``kwarg`` part of URL ``url_name`` (``"app:name"``) in logs."""
    if (url_name, kwarg) not in _urls:
        _urls.append((url_name, kwarg))
        _pattern.cache_clear()


def register_token_parameter(name: str) -> None:
    """Hide the value of query parameter ``name`` (``?name=…``) in logs."""
    _parameters.add(name)
    _pattern.cache_clear()


def _prefix(url_name: str, kwarg: str) -> str:
    path = reverse(url_name, kwargs={kwarg: _MARKER})
    return path[: path.index(_MARKER)]


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    prefixes = sorted({_prefix(name, kwarg) for name, kwarg in _urls}, key=len, reverse=True)
    alternatives = [f"(?P<path>{'|'.join(re.escape(p) for p in prefixes)}){_TOKEN_CHARS}"] if prefixes else []
    names = "|".join(re.escape(name) for name in sorted(_parameters))
    alternatives.append(f"(?P<param>[?&](?:{names})=)[^&#\\s\"']+")
    return re.compile("|".join(alternatives))


def _replace(match: re.Match[str]) -> str:
    return (match.group("path") if match.groupdict().get("path") else match.group("param")) + REDACTED


# Used only when the registered URLs cannot be reversed (a broken URLconf):
# anything long enough to be a token is masked, and logging keeps working.
_FALLBACK = re.compile(r"[A-Za-z0-9_\-:.]{20,}")


def redact(text: str) -> str:
    """``text`` with every registered token replaced by ``REDACTED``. Never
    raises: a log call must not fail because of this filter."""
    try:
        pattern = _pattern()
    except Exception:  # noqa: BLE001 (any URLconf error: fall back, never break logging)
        return _FALLBACK.sub(REDACTED, text)
    return pattern.sub(_replace, text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactTokens(logging.Filter):
    """Rewrites a record's message and string arguments in place (the
    arguments stay arguments: uvicorn's access formatter reads them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_value(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact_value(arg) for key, arg in record.args.items()}
        return True


@register()
def check_token_urls(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name, kwarg in _urls:
        try:
            _prefix(name, kwarg)
        except (NoReverseMatch, ValueError):
            errors.append(Error(f"token URL {name!r} registered for log redaction does not reverse with "
                                f"{kwarg}=…", id="academail.E011"))
    return errors
