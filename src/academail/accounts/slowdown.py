"""The web side of the address ceiling (``accounts.throttle.slow_down``): a
refused sign-in from a noisy address is answered after a delay, without holding
the thread that runs Django's synchronous views.

A view marks its response with ``mark(response, seconds)``; this middleware,
first in ``MIDDLEWARE`` after the latency metric's, waits that long before handing the response to the
server: ``asyncio.sleep`` under ASGI (uvicorn, ``academail serve``), so other
requests keep being served meanwhile; ``time.sleep`` under WSGI and the test
client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

_ATTRIBUTE = "academail_slow_down"
R = TypeVar("R", bound=HttpResponseBase)


def mark(response: R, seconds: float) -> R:
    """Ask the middleware to wait ``seconds`` before sending ``response``."""
    if seconds > 0:
        setattr(response, _ATTRIBUTE, float(seconds))
    return response


def delay_of(response: HttpResponseBase) -> float:
    """The delay ``mark`` asked for (0 if none): the latency metric leaves it out."""
    return float(getattr(response, _ATTRIBUTE, 0.0))


class SlowDownMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        response = self.get_response(request)
        if delay := delay_of(response):
            time.sleep(delay)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        response = await get_response(request)
        if delay := delay_of(response):
            await asyncio.sleep(delay)
        return response
