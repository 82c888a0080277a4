"""The forwarding page (/courrier/transfert/) and the confirmation link the
target receives (/courrier/transfert/confirmer/<secret>/, no sign-in: the
secret is the authority; GET only shows, POST confirms, so a link scanner that
opens it confirms nothing). Views parse, call one service, render.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from academail.accounts.views import client_addr
from academail.forwarding import services
from academail.forwarding.policy import Verdict, allowed_domains
from academail.store.webmail import folder_pane
from academail.web.frame import webmail_view


def _render(request: HttpRequest, *, error: str = "", target: str = "", keep_copy: bool = True,
            status: int = 200) -> HttpResponse:
    from django.conf import settings

    forwarding = services.access_forwarding(request.user)
    context = {
        "title": _("Transfert du courrier"),
        "forwarding": forwarding,
        "error": error,
        "target": target or (forwarding.target if forwarding else ""),
        "keep_copy": forwarding.keep_copy if forwarding and not error else keep_copy,
        "domains": allowed_domains(),
        "outside_hold": settings.FORWARD_OUTSIDE == "hold",
        "tags": settings.SENSITIVE_SUBJECT_TAGS,
        "pane": folder_pane(int(request.user.pk)),
    }
    return render(request, "forwarding/pages/forwarding.html", context, status=status)


@webmail_view
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _render(request)
    account = request.user
    action = request.POST.get("action", "save")
    base_url = request.build_absolute_uri("/").rstrip("/")
    if action == "disable":
        if services.do_disable_forwarding(account, remote_addr=client_addr(request)):
            messages.success(request, _("Transfert désactivé : plus aucun message n'est transféré."))
        return redirect("forwarding:index")
    if action == "resend":
        try:
            sent = services.check_resend_link(account, base_url=base_url)
        except services.ForwardingError as exc:
            return _render(request, error=str(exc), status=400)
        if sent:
            messages.success(request, _("Un nouveau lien de confirmation a été envoyé."))
        else:
            messages.warning(request, _("Trop de liens envoyés : réessayez dans une heure."))
        return redirect("forwarding:index")
    target = request.POST.get("target", "").strip()[:320]
    keep_copy = bool(request.POST.get("keep_copy"))
    try:
        forwarding, decision, sent = services.check_set_forwarding(
            account, target, keep_copy, base_url=base_url, remote_addr=client_addr(request),
        )
    except services.ForwardingError as exc:
        return _render(request, error=str(exc), target=target, keep_copy=keep_copy, status=400)
    if forwarding.confirmed_at is not None:
        messages.success(request, _("Réglage enregistré."))
    elif sent:
        messages.success(request, _(
            "Un lien de confirmation a été envoyé à %(target)s (valable 48 heures). Rien n'est transféré "
            "avant qu'il soit ouvert et confirmé."
        ) % {"target": forwarding.target})
    else:
        messages.warning(request, _("Trop de liens envoyés : réessayez dans une heure."))
    if decision.verdict is Verdict.HOLD:
        messages.warning(request, decision.reason)
    return redirect("forwarding:index")


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            confirmation = services.check_confirm(token[:100], remote_addr=client_addr(request))
            done = True
        else:
            confirmation = services.access_confirmation(token[:100])
            done = False
    except services.ForwardingError as exc:
        response = render(request, "forwarding/pages/confirm.html",
                          {"title": _("Confirmation du transfert"), "error": str(exc)}, status=410)
    else:
        response = render(request, "forwarding/pages/confirm.html",
                          {"title": _("Confirmation du transfert"), "confirmation": confirmation, "done": done})
    # The secret is in the URL: it must not leak to other sites nor stay in
    # caches. Not "no-referrer": Chromium then posts "Origin: null" and CSRF
    # (rightly) refuses the confirmation; "same-origin" keeps the path on our site.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    return response
