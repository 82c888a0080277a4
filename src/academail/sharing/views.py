"""The sharing pages (under /courrier/partage/): the person's shared
mailboxes, the functional mailboxes they manage (create, import, members,
journal). Views parse, call one service, render; an id out of reach is a
404 (``functional.NotFound``)."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from academail.accounts.journal import journal_page_of
from academail.sharing import delegation, functional
from academail.sharing.functional import NotFound, SharingError
from academail.store import acl
from academail.store.webmail import folder_pane
from academail.web.frame import parse_int, webmail_view

MAX_IMPORT_BYTES = 2 * 1024 * 1024

# The member rights' check boxes, in the order of the issue (store.acl.PRESETS).
RIGHT_LABELS = (
    ("read", _("Lire")),
    ("mark", _("Marquer lu et suivre")),
    ("file", _("Classer")),
    ("delete", _("Supprimer")),
    ("send_as", _("Envoyer avec cette adresse")),
    ("manage", _("Gérer les membres")),
)


def render_page(request: HttpRequest, template: str, context: dict[str, object]) -> HttpResponse:
    """``sharing/pages/<template>`` in the webmail's frame (its folder pane)."""
    return render(request, f"sharing/pages/{template}", {"pane": folder_pane(int(request.user.pk)), **context})


def _switcher_entries(account_id: int) -> list[acl.SharedBox]:
    return acl.visible_shared(account_id, inboxes=True)


@webmail_view
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    """The person's shared mailboxes, their own shares and delegation (POST:
    share a folder, delegate, end one), and the functional mailboxes they manage."""
    account = request.user
    error, error_field = "", ""
    if request.method == "POST":
        try:
            done = _sharing_action(request)
        except SharingError as exc:
            error, error_field = exc.message, exc.field
        else:
            messages.success(request, done)
            return redirect("sharing:index")
    pane = folder_pane(int(account.pk))
    folders = {f.mailbox.pk: f.label for f in pane.folders}
    response = render(request, "sharing/pages/index.html", {
        "pane": pane,
        "title": _("Partage"),
        "shared": _switcher_entries(int(account.pk)),
        "managed": functional.list_managed(account, page=parse_int(request.GET.get("page")) or 1),
        "may_create": functional.may_create(account),
        "shares": delegation.shares_of(account, folders),
        "error": error, "error_field": error_field, "values": request.POST if error else {},
    })
    if error:
        response.status_code = 400
    return response


def _sharing_action(request: HttpRequest) -> str:
    """One POST of the sharing page; the French confirmation. Raises SharingError."""
    account = request.user
    action = request.POST.get("action", "")
    identifier = request.POST.get("identifier", "").strip()[:64]
    if action == "share":
        mailbox_id = parse_int(request.POST.get("mailbox"))
        if mailbox_id is None:
            raise SharingError(_("Choisissez le dossier à partager."), "mailbox")
        delegation.check_share_folder(account, mailbox_id, identifier, request.POST.get("level", ""))
        return _("Dossier partagé : il apparaît dans la liste de dossiers de votre collègue.")
    if action == "delegate":
        try:
            until = date.fromisoformat(request.POST.get("until", ""))
        except ValueError:
            until = None
        delegation.check_delegate(account, identifier, until, on_behalf=request.POST.get("on_behalf") == "1",
                                  agenda=request.POST.get("agenda", "none"))
        return _("Délégation enregistrée : votre collègue voit votre boîte jusqu'à la date choisie.")
    if action == "end":
        grantee = parse_int(request.POST.get("grantee"))
        if grantee is not None:
            delegation.do_unshare(account, grantee, parse_int(request.POST.get("mailbox")))
        return _("Accès retiré.")
    raise SharingError(_("Action inconnue : rechargez la page."))


@webmail_view
@require_http_methods(["GET", "POST"])
def functional_new(request: HttpRequest) -> HttpResponse:
    """Create one functional mailbox, or import a CSV file of them."""
    account = request.user
    if not functional.may_create(account):
        raise Http404()
    context: dict[str, object] = {"title": _("Nouvelle boîte fonctionnelle"), "values": {}, "report": None}
    status = 200
    if request.method == "POST" and request.POST.get("action") == "import":
        upload = request.FILES.get("file")
        if upload is None or upload.size is None or upload.size > MAX_IMPORT_BYTES:
            context["import_error"] = _("Choisissez un fichier CSV de 2 Mo au plus.")
            status = 400
        else:
            report = functional.import_functional(account, upload.read())
            context["report"] = report
            status = 400 if report.file_error else 200
    elif request.method == "POST":
        values = {key: request.POST.get(key, "").strip()[:300] for key in ("uai", "name", "address", "members",
                                                                            "managers", "establishment")}
        context["values"] = values
        try:
            box = functional.check_create_functional(
                account, uai=values["uai"], name=values["name"], address=values["address"],
                establishment=values["establishment"], members=functional.split_identifiers(values["members"]),
                managers=functional.split_identifiers(values["managers"]),
            )
        except SharingError as exc:
            context["error"], context["error_field"] = exc.message, exc.field
            status = 400
        else:
            messages.success(request, _("Boîte fonctionnelle %(address)s créée.") % {"address": box.account.address})
            return redirect("sharing:functional", box.account_id)
    context["default_pattern"] = functional.functional_address("0000000a").replace("0000000a", "<uai>")
    response = render_page(request, "functional_new.html", context)
    response.status_code = status
    return response


@webmail_view
@require_http_methods(["GET", "POST"])
def functional_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    """A functional mailbox's members (add, change rights, remove) and journal."""
    actor = request.user
    try:
        box = functional.access_functional(actor, account_id)
    except NotFound:
        raise Http404() from None
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "seen_mode":
                per_person = request.POST.get("seen") == "person"
                functional.do_set_seen_mode(actor, box, per_person)
                messages.success(request, _("Choix enregistré."))
            elif action == "remove":
                grantee = parse_int(request.POST.get("grantee"))
                if grantee is not None:
                    functional.do_remove_member(actor, box, grantee)
                    messages.success(request, _("Membre retiré : son accès a pris fin."))
            else:
                functional.check_set_member(
                    actor, box, request.POST.get("identifier", "").strip()[:64],
                    request.POST.getlist("rights"),
                )
                messages.success(request, _("Droits enregistrés."))
        except SharingError as exc:
            error = exc.message
        else:
            return redirect("sharing:functional", box.account_id)
    members = [(row, acl.presets_of(row.rights)) for row in functional.members_of(box)]
    journal = journal_page_of(box.account_id, before=parse_int(request.GET.get("avant")))
    response = render_page(request, "functional.html", {
        "title": box.name, "box": box, "members": members, "rights": RIGHT_LABELS, "error": error,
        "journal": journal, "default_rights": functional.MEMBER,
        "seen_per_person": functional.seen_per_person(box),
    })
    if error:
        response.status_code = 400
    return response
