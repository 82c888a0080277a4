"""Platform-level pages: the landing page and the health probe for load balancers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from academail.operations.health import check_health


def home(request: HttpRequest) -> HttpResponse:
    """"/": the webmail for a signed-in person, the landing page otherwise."""
    if request.user.is_authenticated:
        return redirect("webmail:index")
    return render(request, "config/home.html")


def healthz(request: HttpRequest) -> HttpResponse:
    """The probe for load balancers and monitoring: 503 when the database or
    the blob store fails; domains without a DKIM key are reported."""
    healthy, report = check_health()
    return JsonResponse(report, status=200 if healthy else 503)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's CSRF refusal, said in plain French with what to do next
    (``CSRF_FAILURE_VIEW``). The reason stays in the security log only."""
    return render(request, "config/csrf_failure.html", status=403)


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers and bookmark tools ask for by name."""
    response = HttpResponseRedirect(static("academail/favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response
