"""The helpdesk's pages: the requester's (new ticket, confirmation, "Mes
demandes", the follow-up link, rating) and the agents' console (queue,
ticket with the account beside it, actions, phone ticket, dashboard).
Views parse, call one service, render. Console pages start with
``access.access_agent`` (anyone else gets a 404); a ticket or an
attachment outside the requester's reach is a 404 too.

Pages carry the accounts pages' headers (strict CSP, no-store, same-origin
referrer: follow-up links carry secrets in their path).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from academail.accounts.models import Account, Role, Status
from academail.accounts.numen import NumenError
from academail.accounts.views import FLOW_MAX_AGE, client_addr, secured
from academail.assistance import access, actions, canned, categories, dashboard, notices, tickets
from academail.assistance.forms import (
    AnswerForm,
    AssignForm,
    CannedForm,
    CategoryForm,
    IdentityForm,
    LinkAccountForm,
    MergeForm,
    PhoneTicketForm,
    QueueForm,
    QuotaForm,
    RatingForm,
    ReplyForm,
    SecondaryForm,
    TicketForm,
    uploads_of,
)
from academail.assistance.models import Attachment, Category, Ticket, TicketStatus
from academail.webmail.render import content_disposition

# Old "?motif=" values of the first helpdesk form, still in mails and bookmarks.
_OLD_REASONS = {
    "password": Category.PASSWORD, "secondary": Category.SECONDARY, "activation": Category.FIRST_SIGNIN,
    "numen": Category.NUMEN, "other": Category.OTHER,
}


def _category_param(request: HttpRequest) -> str:
    wanted = request.POST.get("category") or request.GET.get("categorie", "")
    if wanted in Category.values:
        return wanted
    return str(_OLD_REASONS.get(request.GET.get("motif", ""), Category.OTHER))


def _recovery(request: HttpRequest) -> tuple[str, Account | None]:
    """The identifier (and account, when identifier and NUMEN matched) of a
    "Mot de passe oublié" attempt made minutes ago in this session."""
    data = request.session.get("recovery") or {}
    if not data or time.time() - data.get("at", 0) > FLOW_MAX_AGE:
        return "", None
    account = Account.objects.filter(pk=data.get("id") or 0).first()
    return str(data.get("identifier", "")), account


def _signed_in(request: HttpRequest) -> Account | None:
    user = request.user
    return user if isinstance(user, Account) and user.is_authenticated else None


@secured
def new_ticket(request: HttpRequest) -> HttpResponse:
    requester = _signed_in(request)
    category = _category_param(request)
    identifier, verified = _recovery(request)
    form = TicketForm(request.POST or None, request.FILES or None, signed_in=requester is not None,
                      category=category, initial={"category": category, "identifier": identifier})
    if request.method == "POST" and form.is_valid():
        data = tickets.NewTicket(
            category=form.cleaned_data["category"], subject=form.cleaned_data["subject"],
            message=form.cleaned_data["message"], name=form.cleaned_data.get("name", ""),
            identifier=form.cleaned_data.get("identifier", ""),
            establishment=form.cleaned_data.get("establishment", ""),
            contact_email=form.cleaned_data["contact_email"], contact_phone=form.cleaned_data["contact_phone"],
            fields=form.answers(), attachments=uploads_of(form.cleaned_data["attachments"]),
        )
        try:
            opened = tickets.check_open_web(data, requester=requester, remote_addr=client_addr(request),
                                            verified_account=verified, numen=form.cleaned_data.get("numen", ""))
        except NumenError as exc:
            form.add_error("numen", str(exc))
        except tickets.TicketError as exc:
            form.add_error(None, str(exc))
        else:
            request.session["assistance_sent"] = {"n": opened.ticket.pk, "confirm": opened.needs_confirmation}
            return redirect("assistance:sent")
    return render(request, "assistance/pages/new.html", {
        "form": form, "category": category, "categories": Category.choices, "signed_in": requester is not None,
        "question_fields": [form[name] for name in form.fields if name.startswith("q_")],
        "phone": settings.ASSISTANCE_PHONE, "hours": settings.ASSISTANCE_HOURS,
    })


@secured
def sent(request: HttpRequest) -> HttpResponse:
    data = request.session.get("assistance_sent") or {}
    return render(request, "assistance/pages/sent.html",
                  {"confirm": data.get("confirm", False), "number": None if data.get("confirm") else data.get("n")})


@secured
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; the POST confirms (mail scanners follow links)."""
    if request.method == "POST":
        try:
            ticket = tickets.check_confirm(token)
        except tickets.NotFound:
            return render(request, "assistance/pages/link_invalid.html", status=410)
        return render(request, "assistance/pages/confirmed.html", {"ticket": ticket})
    return render(request, "assistance/pages/confirm.html", {"token": token})


@login_required
@secured
def mine(request: HttpRequest) -> HttpResponse:
    requester = _signed_in(request)
    assert requester is not None
    return render(request, "assistance/pages/mine.html", {"tickets": tickets.access_own_tickets(requester)})


def _requester_page(request: HttpRequest, ticket: Ticket, *, post_url: str, attachment_url: str) -> HttpResponse:
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            tickets.check_requester_reply(ticket, form.cleaned_data["message"],
                                          uploads_of(form.cleaned_data["attachments"]),
                                          author=_signed_in(request))
        except tickets.TicketError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Votre message est ajouté à la demande."))
            return redirect(post_url)
    return render(request, "assistance/pages/follow.html", {
        "ticket": ticket, "entries": tickets.public_entries(ticket), "form": form,
        "fields": categories.describe(ticket.category, ticket.fields), "attachment_url": attachment_url,
        "rating_url": notices.rating_url(ticket) if ticket.status == TicketStatus.CLOSED and not ticket.rating else "",
    })


@login_required
@secured
def mine_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    requester = _signed_in(request)
    assert requester is not None
    try:
        ticket = tickets.access_own_ticket(requester, ticket_id)
    except tickets.NotFound:
        raise Http404() from None
    url = reverse("assistance:mine_detail", args=[ticket.pk])
    return _requester_page(request, ticket, post_url=url, attachment_url=url + "pj/")


@secured
def follow(request: HttpRequest, token: str) -> HttpResponse:
    try:
        ticket = tickets.access_by_link(token)
    except tickets.NotFound:
        return render(request, "assistance/pages/link_invalid.html", status=410)
    url = reverse("assistance:follow", args=[token])
    return _requester_page(request, ticket, post_url=url, attachment_url=url + "pj/")


def _download(attachment: Attachment) -> HttpResponse:
    """The webmail's download rules: always a download, never sniffed, and
    sandboxed should a browser render it anyway."""
    response = HttpResponse(bytes(attachment.data), content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition(attachment.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "no-store"
    return response


@login_required
def mine_attachment(request: HttpRequest, ticket_id: int, attachment_id: int) -> HttpResponse:
    requester = _signed_in(request)
    assert requester is not None
    try:
        ticket = tickets.access_own_ticket(requester, ticket_id)
        return _download(tickets.access_public_attachment(ticket, attachment_id))
    except tickets.NotFound:
        raise Http404() from None


def follow_attachment(request: HttpRequest, token: str, attachment_id: int) -> HttpResponse:
    try:
        ticket = tickets.access_by_link(token)
        return _download(tickets.access_public_attachment(ticket, attachment_id))
    except tickets.NotFound:
        raise Http404() from None


@secured
def rate(request: HttpRequest, token: str) -> HttpResponse:
    from django.core import signing

    try:
        data = signing.loads(token, salt=notices.RATING_SALT, max_age=60 * 24 * 3600)
        ticket = Ticket.objects.get(pk=data.get("t"))
    except (signing.BadSignature, Ticket.DoesNotExist):
        return render(request, "assistance/pages/link_invalid.html", status=410)
    form = RatingForm(request.POST or None)
    done = False
    if request.method == "POST" and form.is_valid():
        try:
            tickets.check_rating(ticket, form.cleaned_data["rating"])
            done = True
        except tickets.TicketError as exc:
            form.add_error(None, str(exc))
    return render(request, "assistance/pages/rate.html",
                  {"ticket": ticket, "form": form, "done": done, "choices": range(1, 6)})


# --- the agents' console -----------------------------------------------------------------------


def agent_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed in, role "agent d'assistance" (or administrator): anyone else
    gets a 404, as if the console did not exist."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            agent = access.access_agent(request.user)
        except access.Denied:
            if not request.user.is_authenticated:
                return redirect(f"{reverse('accounts:login')}?next={request.path}")
            raise Http404() from None
        return view(request, agent, *args, **kwargs)

    return secured(wrapper)


def _agents() -> list[Account]:
    return list(Account.objects.filter(role__in=[Role.SUPPORT, Role.ADMIN], status=Status.ACTIVE)
                .order_by("last_name", "first_name")[:200])


@agent_view
def console(request: HttpRequest, agent: Account) -> HttpResponse:
    agents = _agents()
    form = QueueForm(request.GET or None, agents=agents)
    form.is_valid()
    data = form.cleaned_data if form.is_bound else {}
    page = request.GET.get("page", "1")
    flt = tickets.QueueFilter(
        category=data.get("categorie", ""), status=data.get("statut", ""), agent=data.get("agent", ""),
        establishment=data.get("etablissement", ""), page=int(page) if page.isdigit() else 1,
    )
    result = tickets.queue(flt, viewer=agent)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "assistance/console/queue.html", {
        "form": form, "page": result, "query": query.urlencode(), "agent": agent,
        "search": request.GET.get("q", ""),
        "found": tickets.search_tickets(request.GET["q"]) if request.GET.get("q") else None,
    })


def _ticket_or_404(ticket_id: int) -> Ticket:
    try:
        return tickets.access_ticket(ticket_id)
    except tickets.NotFound:
        raise Http404() from None


@agent_view
def ticket_page(request: HttpRequest, agent: Account, ticket_id: int) -> HttpResponse:
    from academail.accounts.helpdesk import overview
    from academail.store.messages import quota_usage

    ticket = _ticket_or_404(ticket_id)
    template = request.GET.get("modele", "")
    body = canned.render(int(template), ticket) if template.isdigit() else ""
    account = ticket.account
    return render(request, "assistance/console/ticket.html", {
        "ticket": ticket, "entries": tickets.all_entries(ticket), "agent": agent,
        "fields": categories.describe(ticket.category, ticket.fields),
        "answer": AnswerForm(initial={"body": body, "kind": "answer"}),
        "assign": AssignForm(agents=_agents(), initial={"assignee": ticket.assigned_to_id or ""}),
        "merge": MergeForm(), "link": LinkAccountForm(),
        "category_form": CategoryForm(initial={"category": ticket.category}, auto_id="categorie_%s"), "identity": IdentityForm(), "secondary": SecondaryForm(),
        "quota": QuotaForm(), "canned": canned.for_category(ticket.category),
        "overview": overview(account) if account is not None else None,
        "usage": quota_usage(account.pk) if account is not None else None,
        "related": tickets.tickets_about(account, exclude=ticket.pk) if account is not None else [],
    })


def _back(ticket: Ticket, anchor: str = "") -> HttpResponse:
    return redirect(reverse("assistance:ticket", args=[ticket.pk]) + anchor)


@require_POST
@agent_view
def ticket_answer(request: HttpRequest, agent: Account, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(ticket_id)
    form = AnswerForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("La réponse est vide ou un fichier est invalide."))
        return _back(ticket, "#repondre")
    uploads = uploads_of(form.cleaned_data["attachments"])
    try:
        if form.cleaned_data["kind"] == "note":
            tickets.do_note(ticket, agent, form.cleaned_data["body"], uploads)
            messages.success(request, _("Note ajoutée."))
        else:
            tickets.do_answer(ticket, agent, form.cleaned_data["body"], uploads, close=form.cleaned_data["close"])
            messages.success(request, _("Réponse envoyée au demandeur."))
    except tickets.TicketError as exc:
        messages.error(request, str(exc))
    return _back(ticket)


@require_POST
@agent_view
def ticket_assign(request: HttpRequest, agent: Account, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(ticket_id)
    agents = _agents()
    form = AssignForm(request.POST, agents=agents)
    if form.is_valid():
        chosen = form.cleaned_data["assignee"]
        assignee = next((a for a in agents if str(a.pk) == chosen), None) if chosen else None
        tickets.do_assign(ticket, agent, assignee)
        messages.success(request, _("Attribution enregistrée."))
    return _back(ticket)


@require_POST
@agent_view
def ticket_category(request: HttpRequest, agent: Account, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(ticket_id)
    form = CategoryForm(request.POST)
    if form.is_valid():
        tickets.do_set_category(ticket, agent, form.cleaned_data["category"])
        messages.success(request, _("Catégorie enregistrée."))
    return _back(ticket)


@require_POST
@agent_view
def ticket_status(request: HttpRequest, agent: Account, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(ticket_id)
    try:
        if request.POST.get("do") == "rouvrir":
            tickets.do_reopen(ticket, agent)
            messages.success(request, _("Demande rouverte."))
        else:
            tickets.do_close(ticket, agent)
            messages.success(request, _("Demande résolue : le demandeur est prévenu."))
    except tickets.TicketError as exc:
        messages.error(request, str(exc))
    return _back(ticket)


@require_POST
@agent_view
def ticket_merge(request: HttpRequest, agent: Account, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(ticket_id)
    form = MergeForm(request.POST)
    if form.is_valid():
        try:
            into = tickets.access_ticket(form.cleaned_data["into"])
            tickets.do_merge(ticket, into, agent)
            actions.audit(agent, "merge", ticket=into, detail=f"n° {ticket.pk} fusionnée dans n° {into.pk}")
        except tickets.NotFound:
            messages.error(request, _("Aucune demande ne porte ce numéro."))
        except tickets.TicketError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Demande fusionnée."))
            return _back(into)
    return _back(ticket)


@require_POST
@agent_view
def ticket_link_account(request: HttpRequest, agent: Account, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(ticket_id)
    form = LinkAccountForm(request.POST)
    if form.is_valid():
        account = Account.objects.filter(identifier=form.cleaned_data["identifier"].strip().lower()).first()
        if account is None:
            messages.error(request, _("Aucun compte ne porte cet identifiant."))
        else:
            tickets.do_link_account(ticket, agent, account)
            actions.audit(agent, "link_account", ticket=ticket, account=account)
    return _back(ticket)


@require_POST
@agent_view
def ticket_identity(request: HttpRequest, agent: Account, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(ticket_id)
    form = IdentityForm(request.POST)
    if form.is_valid():
        try:
            result = actions.check_identity(ticket, agent, numen=form.cleaned_data["numen"],
                                            establishment_ok=form.cleaned_data["establishment_ok"],
                                            callback_ok=form.cleaned_data["callback_ok"])
        except actions.HelpdeskError as exc:
            messages.error(request, str(exc))
        else:
            if result.passed:
                messages.success(request, _("Identité vérifiée. Étape 2 : enregistrez la nouvelle adresse de secours."))
            elif form.cleaned_data["numen"]:
                messages.error(request, _("Le NUMEN ne correspond pas à ce compte. Ne donnez aucune indication à la "
                                          "personne ; proposez le rappel à un numéro connu."))
            else:
                messages.error(request, _("Vérification insuffisante : le NUMEN, ou l'établissement ET un rappel à "
                                          "un numéro connu."))
    return _back(ticket, "#identite")


@require_POST
@agent_view
def ticket_secondary(request: HttpRequest, agent: Account, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(ticket_id)
    form = SecondaryForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Saisissez une adresse électronique valide."))
        return _back(ticket, "#identite")
    try:
        text = actions.do_new_secondary_and_reset(ticket, agent, form.cleaned_data["address"])
    except actions.HelpdeskError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, text)
    return _back(ticket, "#identite")


@require_POST
@agent_view
def ticket_action(request: HttpRequest, agent: Account, ticket_id: int, name: str) -> HttpResponse:
    ticket = _ticket_or_404(ticket_id)
    try:
        if name == "quota":
            form = QuotaForm(request.POST)
            if not form.is_valid():
                raise actions.HelpdeskError(_("Indiquez le nouveau quota en Mo."))
            text = actions.do_raise_quota(ticket, agent, form.cleaned_data["megabytes"])
        elif name in ("desactiver", "reactiver"):
            text = actions.do_set_enabled(ticket, agent, name == "reactiver")
        elif name in actions.ACTIONS:
            text = actions.ACTIONS[name](ticket, agent)
        else:
            raise Http404()
    except (actions.HelpdeskError, ValidationError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, text)
    return _back(ticket, "#compte")


@agent_view
def ticket_attachment(request: HttpRequest, agent: Account, ticket_id: int, attachment_id: int) -> HttpResponse:
    ticket = _ticket_or_404(ticket_id)
    try:
        return _download(tickets.access_any_attachment(ticket, attachment_id))
    except tickets.NotFound:
        raise Http404() from None


@agent_view
def phone_ticket(request: HttpRequest, agent: Account) -> HttpResponse:
    form = PhoneTicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        account = Account.objects.filter(identifier=data["identifier"].strip().lower()).first() \
            if data["identifier"] else None
        try:
            ticket = tickets.do_open_phone(agent, tickets.NewTicket(
                category=data["category"], subject=data["subject"], message=data["message"], name=data["name"],
                identifier=data["identifier"], establishment=data["establishment"],
                contact_email=data["contact_email"], contact_phone=data["contact_phone"]), account=account)
        except tickets.TicketError as exc:
            form.add_error(None, str(exc))
        else:
            actions.audit(agent, "phone_ticket", ticket=ticket, account=account)
            messages.success(request, _("Demande n° %(n)s ouverte.") % {"n": ticket.pk})
            return _back(ticket)
    return render(request, "assistance/console/phone.html", {"form": form, "agent": agent})


@agent_view
def dashboard_page(request: HttpRequest, agent: Account) -> HttpResponse:
    return render(request, "assistance/console/dashboard.html", {"board": dashboard.build(), "agent": agent})


@agent_view
def canned_answers(request: HttpRequest, agent: Account, answer_id: int | None = None) -> HttpResponse:
    """The canned answers: list, add, change (``answer_id``), delete."""
    from academail.assistance.models import CannedAnswer

    editing = None
    if answer_id is not None:
        editing = CannedAnswer.objects.filter(pk=answer_id).first()
        if editing is None:
            raise Http404()
    initial = {"category": editing.category, "title": editing.title, "body": editing.body} if editing else None
    form = CannedForm(request.POST or None, initial=initial)
    if request.method == "POST" and request.POST.get("supprimer") and editing is not None:
        canned.do_delete(editing.pk)
        actions.audit(agent, "canned_delete", detail=editing.title)
        messages.success(request, _("Réponse type supprimée."))
        return redirect("assistance:canned")
    if request.method == "POST" and form.is_valid():
        saved = canned.do_save(editing.pk if editing else None, category=form.cleaned_data["category"],
                               title=form.cleaned_data["title"], body=form.cleaned_data["body"])
        actions.audit(agent, "canned_save", detail=saved.title)
        messages.success(request, _("Réponse type enregistrée."))
        return redirect("assistance:canned")
    return render(request, "assistance/console/canned.html", {
        "form": form, "editing": editing, "answers": canned.all_answers(), "agent": agent,
    })
