"""Pages of protection: the interstitial page a flagged link opens ("Vous
allez quitter la messagerie vers …"), "Signaler un hameçonnage", and the
security team's campaigns. Thin: parse, one service call, render."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from academail.protection import reports, senders
from academail.protection.lookalike import decode_idn
from academail.protection.models import Campaign
from academail.protection.warnings import check_leave_token
from academail.store import webmail as store
from academail.web.frame import parse_int, signed_in_id, webmail_view


@webmail_view
@require_GET
def leave(request: HttpRequest) -> HttpResponse:
    """Shows where a flagged link really goes, and lets the person go on or
    not. The destination comes from a signed token (no open redirect)."""
    pane = store.folder_pane(signed_in_id(request))
    destination = check_leave_token(request.GET.get("u", "")[:20_000])
    if destination is None:
        context = {"pane": pane, "broken": True, "title": _("Lien invalide")}
        return render(request, "protection/pages/leave.html", context, status=400)
    host = decode_idn(urlsplit(destination).hostname or "")
    return render(
        request,
        "protection/pages/leave.html",
        {"pane": pane, "destination": destination, "host": host, "title": _("Vous allez quitter la messagerie")},
    )


@webmail_view
@require_POST
def report(request: HttpRequest, mailbox_id: int, uid: int) -> HttpResponse:
    """"Signaler un hameçonnage" (reading pane)."""
    reports.check_report(request.user, mailbox_id, uid)
    messages.success(
        request,
        _("Merci : le message a été signalé à l'équipe sécurité et déplacé dans Indésirables."),
    )
    return redirect("webmail:folder", mailbox_id=mailbox_id)


@webmail_view
@require_POST
def report_selected(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    """"Signaler un hameçonnage" on the messages selected in a list."""
    uids = [u for u in (parse_int(v) for v in request.POST.getlist("uid")) if u is not None]
    if not uids:
        messages.error(request, _("Sélectionnez au moins un message à signaler."))
        return redirect("webmail:folder", mailbox_id=mailbox_id)
    count = reports.check_report_selected(request.user, mailbox_id, uids)
    messages.success(request, ngettext(
        "Merci : %(n)s message a été signalé à l'équipe sécurité et déplacé dans Indésirables.",
        "Merci : %(n)s messages ont été signalés à l'équipe sécurité et déplacés dans Indésirables.",
        count,
    ) % {"n": count})
    return redirect("webmail:folder", mailbox_id=mailbox_id)


@webmail_view
@require_GET
def campaigns(request: HttpRequest) -> HttpResponse:
    """The security team's page: reports grouped into campaigns."""
    try:
        rows = reports.campaigns_page(request.user)
    except reports.NotAllowed:
        raise Http404 from None  # no hint that the page exists
    pane = store.folder_pane(signed_in_id(request))
    return render(request, "protection/pages/campaigns.html", {"pane": pane, "rows": rows,
                                                               "title": _("Campagnes d'hameçonnage")})


@webmail_view
@require_POST
def remove_campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    try:
        count = reports.check_remove_campaign(request.user, campaign_id)
    except (reports.NotAllowed, Campaign.DoesNotExist):
        raise Http404 from None
    messages.success(request, _("Campagne retirée : %(n)s message(s) supprimé(s) des boîtes.") % {"n": count})
    return redirect("protection:campaigns")


@webmail_view
def senders_page(request: HttpRequest) -> HttpResponse:
    """"Expéditeurs toujours acceptés ou refusés": the list, add, change."""
    account_id = signed_in_id(request)
    error = ""
    if request.method == "POST":
        try:
            rule = senders.check_set_rule(account_id, request.POST.get("sender", ""), request.POST.get("kind", ""))
        except senders.BadSender as bad:
            error = bad.message
        else:
            messages.success(request, _("%(sender)s : %(kind)s.") % {"sender": rule.sender,
                                                                     "kind": rule.get_kind_display()})
            back = request.POST.get("back", "")
            if back.startswith("/courrier/") and "//" not in back:
                return redirect(back)
            return redirect("protection:senders")
    pane = store.folder_pane(account_id)
    context = {"pane": pane, "rules": senders.sender_rules(account_id), "error": error,
               "title": _("Expéditeurs toujours acceptés ou refusés")}
    return render(request, "protection/pages/senders.html", context, status=400 if error else 200)


@webmail_view
@require_POST
def forget_sender(request: HttpRequest, rule_id: int) -> HttpResponse:
    senders.do_forget_rule(signed_in_id(request), rule_id)
    messages.success(request, _("Expéditeur retiré de la liste."))
    return redirect("protection:senders")
