"""ASGI entry point: uvicorn serves this inside ``academail serve``'s event loop.

Static files are served by ServeStatic (an async middleware, see ``settings``), so one
process is a whole platform; behind a reverse proxy at scale they can be served
by it instead, from ``STATIC_ROOT``.

``OneHopASGIHandler`` is Django's ASGI handler with its middleware chain cut
in two (docs/design.md, "One thread hop a web request"): ``EDGE_MIDDLEWARE``
runs in the event loop (no database, nothing that blocks), then the request
crosses to its thread once, where the rest of ``MIDDLEWARE`` and the view run
synchronously. Django's own handler would cross for every hook of every
``MiddlewareMixin`` (about 18 crossings a page, each copying every context
variable both ways). The test client and WSGI run the whole ``MIDDLEWARE``
list synchronously, in the same order.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academail.config.settings")


class RequestThreads:
    """``WEB_THREADS`` single-thread executors, made once: a request's
    synchronous calls all run in the one it is given (the least busy), which
    keeps its database connection from one request to the next (CONN_MAX_AGE,
    checked by Django's ``close_old_connections`` at each request's start and
    end), where a thread made for each request would connect to PostgreSQL
    for each one and leave the connection to die with the thread."""

    def __init__(self, count: int) -> None:
        self.executors = [ThreadPoolExecutor(max_workers=1, thread_name_prefix="web") for _ in range(max(1, count))]
        self.busy = [0] * len(self.executors)

    def take(self) -> int:
        n = self.busy.index(min(self.busy))
        self.busy[n] += 1
        return n

    def give_back(self, n: int) -> None:
        self.busy[n] -= 1


class OneHopASGIHandler(ASGIHandler):
    """Edge middleware in the event loop, one thread hop, the rest and the view in that thread."""

    def __init__(self) -> None:
        super().__init__()
        self.threads = RequestThreads(settings.WEB_THREADS)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # Called in the event loop only: take and give_back need no lock.
        n = self.threads.take()
        try:
            async with ThreadSensitiveContext(executor=self.threads.executors[n]):
                await self.handle(scope, receive, send)
        finally:
            self.threads.give_back(n)

    def load_middleware(self, is_async: bool = False) -> None:
        edge = list(settings.EDGE_MIDDLEWARE)
        chain = list(settings.MIDDLEWARE)
        if not is_async or chain[: len(edge)] != edge:
            raise ImproperlyConfigured("MIDDLEWARE must start with EDGE_MIDDLEWARE (config.asgi)")
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        # The request's thread: Django's synchronous chain, as under WSGI.
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(chain[len(edge):]):
            middleware = import_string(path)
            if not getattr(middleware, "sync_capable", True):
                raise ImproperlyConfigured(f"{path} runs in the request's thread: it must be sync-capable")
            try:
                instance = middleware(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        # The one hop. thread_sensitive: every synchronous call of this request
        # (this one, request_started's and the response's close) runs in the
        # request's own thread (ASGIHandler's ThreadSensitiveContext).
        handler = convert_exception_to_response(sync_to_async(handler, thread_sensitive=True))
        for path in reversed(edge):
            middleware = import_string(path)
            if not getattr(middleware, "async_capable", False):
                raise ImproperlyConfigured(f"{path} runs in the event loop: it must be async-capable")
            instance = middleware(handler)
            if any(hasattr(instance, hook) for hook in ("process_view", "process_template_response",
                                                         "process_exception")):
                raise ImproperlyConfigured(f"{path} has view hooks: it belongs after EDGE_MIDDLEWARE")
            handler = convert_exception_to_response(_inline(instance) if isinstance(instance, MiddlewareMixin)
                                                    else instance)
        self._middleware_chain = handler


def _inline(middleware: MiddlewareMixin) -> Callable[[HttpRequest], Awaitable[HttpResponseBase]]:
    """A ``MiddlewareMixin`` of the edge (Django's SecurityMiddleware) with its
    hooks called in the event loop: they only read the request and set
    headers, where ``MiddlewareMixin`` would cross to a thread and back for each."""
    process_request = getattr(middleware, "process_request", None)
    process_response = getattr(middleware, "process_response", None)
    get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = middleware.get_response

    async def call(request: HttpRequest) -> HttpResponseBase:
        response = process_request(request) if process_request else None
        response = response or await get_response(request)
        return process_response(request, response) if process_response else response

    return call


django.setup(set_prefix=False)
application = OneHopASGIHandler()
