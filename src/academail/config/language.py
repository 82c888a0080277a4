"""The language of each web request: French, unless the person chose English.

Django's ``LocaleMiddleware`` follows the browser's ``Accept-Language``; the
académie's staff are French public servants, and a browser set up in English (a
borrowed laptop, a headless test browser) must still get the French service. So
this middleware honours only the language cookie, which Django's
``set_language`` view sets when someone uses the selector in the footer of every
page. The choice is per browser (the cookie lasts ``LANGUAGE_COOKIE_AGE``); it is
not stored on the account.

Mail the platform sends is written in French whatever the person's choice; the
English catalogues only cover what is shown in the browser.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin
from django.views.decorators.http import last_modified
from django.views.i18n import JavaScriptCatalog


def chosen_language(request: HttpRequest) -> str:
    """The language in the person's cookie if it is one we offer, else French."""
    code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if code in dict(settings.LANGUAGES):
        return code
    return str(settings.LANGUAGE_CODE)


class ChosenLanguageMiddleware(MiddlewareMixin):
    """Activates :func:`chosen_language` for the request (sync and async)."""

    def process_request(self, request: HttpRequest) -> None:
        translation.activate(chosen_language(request))
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        # The same URL answers in either language depending on the cookie.
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE))
        return response


_STARTED = timezone.now().replace(microsecond=0)


def _catalogue_date(request: HttpRequest, **kwargs: Any) -> datetime:
    return _STARTED


# gettext() for scripts: every app's djangojs catalogue in the active language.
# Pages link it with the language in its URL, so a browser keeps one copy per
# language and revalidates it with If-Modified-Since (a 304 until the next start).
javascript_catalog = last_modified(_catalogue_date)(JavaScriptCatalog.as_view())
