"""The lists' pages under /courrier/listes/: the person's lists, a list's
page (its archive, the posts waiting for moderation, leaving it), reading an
archived post, and for administrators and the secretariat, creating and
managing lists. Views parse, call one service (``lists.services``), render;
every list and post comes through an ``access_*`` function (a list someone
may not see is a 404).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from academail.accounts.models import Account, Function
from academail.accounts.views import secured
from academail.lists import services
from academail.lists import unsubscribe as unsubscribe_links
from academail.lists.digests import DigestError
from academail.lists.models import Kind, MailingList, Posting
from academail.web.frame import parse_int, render_page, webmail_view
from academail.web.helplinks import Articles, message_tag
from academail.webmail.render import plain_text


def _account(request: HttpRequest) -> Account:
    account = request.user
    assert isinstance(account, Account), "webmail_view requires a signed-in account"
    return account


def _access(request: HttpRequest, list_id: int, need: str = "read") -> services.Access:
    try:
        return services.access_list(_account(request), list_id, need=need)
    except services.ListNotFound:
        raise Http404(_("Cette liste n'existe pas.")) from None


@webmail_view
def index(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    return render_page(request, "lists/pages/index.html", {
        "title": _("Listes de diffusion"),
        "rows": services.lists_for(account),
        "can_create": services.can_manage_lists(account),
    })


@webmail_view
def detail(request: HttpRequest, list_id: int) -> HttpResponse:
    access = _access(request, list_id)
    before = parse_int(request.GET.get("avant"))
    query = request.GET.get("q", "").strip()[:services.MAX_QUERY]
    found = services.archive_search(access.mailing_list, query, before_id=before) if query else None
    posts = found if found is not None else services.archive_page(access.mailing_list, before_id=before)
    return render_page(request, "lists/pages/detail.html", {
        "query": query if found is not None else "",
        "unsearchable": bool(query) and found is None,
        "title": access.mailing_list.name,
        "access": access,
        "list": access.mailing_list,
        "held": services.held_posts(access.mailing_list) if access.moderate else [],
        "posts": posts,
        "next_before": posts[-1].pk if len(posts) == services.PAGE_SIZE else None,
        "can_leave": access.mailing_list.allow_unsubscribe and access.member and access.mailing_list.kind == Kind.MANUAL,
        "digest": services.digest_choice(_account(request), access.mailing_list),
    })


@webmail_view
def read(request: HttpRequest, list_id: int, post_id: int) -> HttpResponse:
    try:
        found = services.access_post(_account(request), list_id, post_id)
    except services.ListNotFound:
        raise Http404(_("Ce message n'existe pas.")) from None
    return render_page(request, "lists/pages/post.html", {
        "title": found.post.subject or _("(sans objet)"),
        "list": found.post.mailing_list,
        "post": found.post,
        "text": plain_text(found.raw, found.parsed.root),
    })


@webmail_view
@require_POST
def moderate(request: HttpRequest, list_id: int, post_id: int) -> HttpResponse:
    approve = request.POST.get("decision") == "approve"
    try:
        post = services.check_moderate(_account(request), list_id, post_id, approve=approve)
    except services.ListNotFound:
        raise Http404(_("Ce message n'existe pas.")) from None
    if post is None:
        messages.info(request, _("Un autre modérateur a déjà traité ce message."))
    elif approve:
        messages.success(request, _("Message accepté : il a été distribué aux membres de la liste."))
    else:
        messages.success(request, _("Message refusé : son expéditeur en est averti."))
    return redirect("lists:detail", list_id)


@webmail_view
@require_POST
def leave(request: HttpRequest, list_id: int) -> HttpResponse:
    access = _access(request, list_id)
    if services.do_unsubscribe(_account(request), access.mailing_list):
        messages.success(request, _("Vous avez quitté la liste : vous n'en recevrez plus les messages."))
        return redirect("lists:index")
    messages.error(request, _("Cette liste ne permet pas de se désabonner."), extra_tags=message_tag(Articles.LISTS))
    return redirect("lists:detail", list_id)


@webmail_view
@require_POST
def digest(request: HttpRequest, list_id: int) -> HttpResponse:
    """"Chaque message" or "Un résumé par jour" for the person's membership."""
    access = _access(request, list_id)
    wanted = request.POST.get("reception") == "resume"
    try:
        services.check_set_digest(_account(request), access.mailing_list, wanted)
    except DigestError as problem:
        messages.error(request, str(problem))
    else:
        messages.success(request, _("Vous recevrez un résumé par jour.") if wanted
                         else _("Vous recevrez chaque message dès son envoi."))
    return redirect("lists:detail", list_id)


@csrf_exempt  # RFC 8058 §3.2: the mail client posts with no cookie and no CSRF token; the token is the authority
@secured
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click link of a list copy (RFC 8058). GET: a confirmation page
    (link previews and scanners follow GETs; they must not unsubscribe). POST
    with ``List-Unsubscribe=One-Click`` (the mail client's, or the page's
    button): the member leaves the list, no sign-in needed."""
    try:
        link = unsubscribe_links.access_link(token)
        if link.mailing_list.kind == Kind.DIRECTORY:
            raise unsubscribe_links.LinkInvalid(str(unsubscribe_links.DIRECTORY))
        if request.method == "POST":
            if request.POST.get("List-Unsubscribe") != "One-Click":
                return render(request, "lists/public/unsubscribe.html", {
                    "error": _("Ce lien ne peut être utilisé que par le bouton de confirmation."),
                }, status=400)
            link = unsubscribe_links.check_unsubscribe(token)
            return render(request, "lists/public/unsubscribe.html", {
                "done": link.member is not None, "gone": link.member is None, "list": link.mailing_list})
    except unsubscribe_links.LinkInvalid as problem:
        status = 410 if request.method == "GET" else 400
        return render(request, "lists/public/unsubscribe.html", {"error": str(problem)}, status=status)
    return render(request, "lists/public/unsubscribe.html", {
        "list": link.mailing_list, "gone": link.member is None, "token": token,
    })


# --- managing (administrators, the secretariat) ----------------------------------------------


def _form_data(request: HttpRequest) -> services.ListData:
    post = request.POST
    return services.ListData(
        address=post.get("address", "")[:254], name=post.get("name", "")[:200],
        description=post.get("description", "")[:2000], kind=post.get("kind", Kind.MANUAL),
        dir_function=post.get("dir_function", ""), dir_uai=post.get("dir_uai", "")[:8],
        dir_departement=post.get("dir_departement", "")[:3], posting=post.get("posting", Posting.MEMBERS),
        moderate_others=bool(post.get("moderate_others")), allow_unsubscribe=bool(post.get("allow_unsubscribe")),
        reply_to_list=bool(post.get("reply_to_list")), owner_uai=post.get("owner_uai", "")[:8],
    )


def _form_context(data: services.ListData | MailingList | None, error: services.ListError | None) -> dict[str, Any]:
    return {
        "form": data, "error": str(error) if error else "", "error_field": error.field if error else "",
        "kinds": Kind.choices, "functions": Function.choices, "postings": Posting.choices,
    }


@webmail_view
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    if not services.can_manage_lists(account):
        raise Http404(_("Cette page n'existe pas."))
    context: dict[str, Any] = {"title": _("Créer une liste de diffusion"), "creating": True}
    if request.method == "GET":
        initial = services.ListData(address="", name="", owner_uai=account.uai)
        return render_page(request, "lists/pages/edit.html", {**context, **_form_context(initial, None)})
    data = _form_data(request)
    try:
        mailing_list = services.check_save_list(account, data)
    except services.ListError as exc:
        response = render_page(request, "lists/pages/edit.html", {**context, **_form_context(data, exc)})
        response.status_code = 400
        return response
    messages.success(request, _("Liste créée."))
    return redirect("lists:manage", mailing_list.pk)


@webmail_view
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, list_id: int) -> HttpResponse:
    access = _access(request, list_id, need="manage")
    account, mailing_list = _account(request), access.mailing_list
    error: services.ListError | None = None
    data: services.ListData | MailingList = mailing_list
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "save":
                data = _form_data(request)
                services.check_save_list(account, data, mailing_list)
                messages.success(request, _("Réglages enregistrés."))
            elif action in ("add_member", "add_sender", "add_moderator"):
                address = request.POST.get("address", "")[:320]
                adders = {
                    "add_member": services.check_add_member, "add_sender": services.check_add_sender,
                    "add_moderator": services.check_add_moderator,
                }
                adders[action](account, mailing_list, address)
                messages.success(request, _("Adresse ajoutée."))
            elif action.startswith("remove_"):
                row_id = parse_int(request.POST.get("id"))
                if row_id is not None and services.do_remove(account, mailing_list, action[7:], row_id):
                    messages.success(request, _("Adresse retirée."))
            elif action == "enable":
                row_id = parse_int(request.POST.get("id"))
                if row_id is not None and services.do_enable_member(account, mailing_list, row_id):
                    messages.success(request, _("Adresse réactivée."))
            elif action == "delete":
                services.do_delete_list(account, mailing_list)
                messages.success(request, _("Liste supprimée, avec ses archives."))
                return redirect("lists:index")
        except services.ListError as exc:
            error = exc
        if error is None:
            return redirect("lists:manage", list_id)
    response = render_page(request, "lists/pages/manage.html", {
        "title": _("Gérer la liste « %(name)s »") % {"name": mailing_list.name},
        "list": mailing_list,
        "members": services.members_page(mailing_list),
        "senders": mailing_list.senders.order_by("address").values_list("pk", "address"),
        "moderators": mailing_list.moderators.order_by("account__address").values_list("pk", "account__address"),
        "directory_count": services.directory_count(mailing_list),
        **_form_context(data, error),
    })
    if error is not None:
        response.status_code = 400
    return response
