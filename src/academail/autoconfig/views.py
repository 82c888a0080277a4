"""The public autoconfig/autodiscover endpoints and the signed-in setup page and
profile. Views parse, call ``clientconfig`` and render; the public ones look no
account up, so their answer is the same for every address."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from academail.accounts.models import Account
from academail.accounts.views import base_url, secured
from academail.autoconfig import clientconfig
from academail.autoconfig.diagnosis import phone_diagnosis

XML_CONTENT_TYPE = "text/xml; charset=utf-8"
MOBILECONFIG_CONTENT_TYPE = "application/x-apple-aspen-config"
# The public answers change only with the settings; let clients and proxies keep them.
PUBLIC_CACHE = "public, max-age=3600"


def _public_base(request: HttpRequest) -> str:
    # Behind the production TLS proxy the request may look like plain http;
    # ACADEMAIL_PUBLIC_URL is what phones must reach. A local run uses the host
    # the browser itself used.
    return settings.PUBLIC_URL if settings.PRODUCTION else base_url(request)


def _requester(request: HttpRequest) -> Account:
    user = request.user
    assert isinstance(user, Account)
    return user


@require_GET
def thunderbird(request: HttpRequest) -> HttpResponse:
    """Thunderbird autoconfig; ``emailaddress`` is deliberately not read."""
    body = clientconfig.render_thunderbird(
        clientconfig.public_endpoints(),
        documentation_url=_public_base(request) + reverse("autoconfig:setup"),
    )
    response = HttpResponse(body, content_type=XML_CONTENT_TYPE)
    response["Cache-Control"] = PUBLIC_CACHE
    return response


@csrf_exempt  # public, sessionless, changes nothing
@require_http_methods(["GET", "POST"])
def autodiscover(request: HttpRequest) -> HttpResponse:
    """Outlook POX autodiscover. A POST must carry a well-formed request; the
    address in it is checked for shape only and does not change the answer."""
    if request.method == "POST":
        limit = clientconfig.MAX_AUTODISCOVER_REQUEST
        try:
            announced = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            announced = 0
        if announced > limit:
            return HttpResponse("Requête trop volumineuse.", status=413, content_type="text/plain")
        body = request.read(limit + 1)
        if len(body) > limit:
            return HttpResponse("Requête trop volumineuse.", status=413, content_type="text/plain")
        try:
            clientconfig.parse_autodiscover_request(body)
        except clientconfig.AutodiscoverRequestError:
            return HttpResponse("Requête autodiscover invalide.", status=400, content_type="text/plain")
    response = HttpResponse(
        clientconfig.render_autodiscover(clientconfig.public_endpoints()),
        content_type=XML_CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@secured
def mobileconfig(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    body = clientconfig.build_mobileconfig(account, clientconfig.public_endpoints())
    response = HttpResponse(body, content_type=MOBILECONFIG_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        True, f"academail-{account.identifier}.mobileconfig"
    )
    return response


def _qr_svg(url: str) -> str:
    qr = segno.make(url, error="m")
    svg = qr.svg_inline(
        scale=5, border=4, dark="#000", light="#fff", svgclass="academail-qr",
        title="Code QR du profil de configuration pour iPhone et iPad",
    )
    # segno escapes the title and emits no script; role="img" gives screen
    # readers the title as the image's name.
    return svg.replace("<svg ", '<svg role="img" ', 1)


@login_required
@secured
def setup(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    profile_url = _public_base(request) + reverse("autoconfig:mobileconfig")
    return render(request, "autoconfig/pages/setup.html", {
        "account": account,
        "endpoints": clientconfig.public_endpoints(),
        "profile_url": profile_url,
        "qr_svg": mark_safe(_qr_svg(profile_url)),  # noqa: S308 - segno output, escaped title
        "findings": phone_diagnosis(account),
    })
