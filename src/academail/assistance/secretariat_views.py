"""The secretariat's pages. Every view starts with ``access_secretary`` (role)
and, for one account, ``access_scoped_account`` (scope): anyone else, and any
account of another établissement, gets a 404."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from academail.accounts.helpdesk import HelpdeskError
from academail.accounts.models import Account
from academail.accounts.views import secured
from academail.archive.migration import account_migrations
from academail.assistance import access, secretariat
from academail.assistance.forms import DepartureForm, ImportForm, LetterForm, NumenForm, RenameForm

_IMPORT_KEY = "secretariat_import"
MAX_IMPORT_BYTES = 5 * 1024 * 1024


def secretary_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            secretary = access.access_secretary(request.user)
        except access.Denied:
            if not request.user.is_authenticated:
                return redirect(f"{reverse('accounts:login')}?next={request.path}")
            raise Http404() from None
        if "account_id" in kwargs:
            try:
                kwargs["account"] = access.access_scoped_account(secretary, kwargs.pop("account_id"))
            except access.OutOfScope:
                raise Http404() from None
        return view(request, secretary, *args, **kwargs)

    return secured(wrapper)


@secretary_view
def home(request: HttpRequest, secretary: Account) -> HttpResponse:
    page = request.GET.get("page", "1")
    result = secretariat.list_accounts(secretary, search=request.GET.get("q", ""),
                                       page=int(page) if page.isdigit() else 1)
    return render(request, "assistance/secretariat/home.html", {
        "page": result, "q": request.GET.get("q", ""), "secretary": secretary,
        "establishments": access.establishments_of(secretary),
    })


@secretary_view
def import_page(request: HttpRequest, secretary: Account) -> HttpResponse:
    """Upload -> preview (a dry run: what would change) -> import (the same
    bytes, kept in the session between the two steps) -> line-by-line report."""
    form = ImportForm()
    report = text = None
    stage = "upload"
    if request.method == "POST" and request.POST.get("step") == "import":
        kept = request.session.pop(_IMPORT_KEY, None)
        if not kept or hashlib.sha256(base64.b64decode(kept["data"])).hexdigest() != request.POST.get("digest"):
            messages.error(request, _("Le fichier à importer n'est plus disponible : déposez-le à nouveau."))
            return redirect("assistance:secretariat_import")
        report, text = secretariat.do_import(secretary, base64.b64decode(kept["data"]), dry_run=False)
        stage = "done"
    elif request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_IMPORT_BYTES:
                form.add_error("file", _("Le fichier dépasse 5 Mo : découpez-le en plusieurs fichiers."))
            else:
                data = upload.read()
                report, text = secretariat.do_import(secretary, data, dry_run=True)
                if report.file_error is None:
                    request.session[_IMPORT_KEY] = {"data": base64.b64encode(data).decode()}
                stage = "preview"
                digest = hashlib.sha256(data).hexdigest()
                return render(request, "assistance/secretariat/import.html",
                              {"form": form, "report": report, "text": text, "stage": stage, "digest": digest})
    return render(request, "assistance/secretariat/import.html",
                  {"form": form, "report": report, "text": text, "stage": stage})


@secretary_view
def account_page(request: HttpRequest, secretary: Account, account: Account) -> HttpResponse:
    return render(request, "assistance/secretariat/account.html", _account_context(secretary, account))


def _account_context(secretary: Account, account: Account, **extra: Any) -> dict[str, Any]:
    """What the account page shows (its forms, aliases, migrations from the
    previous platform), with ``extra`` (a filled form, a revealed NUMEN)."""
    return {
        "account": account, "numen_form": NumenForm(), "rename_form": RenameForm(),
        "departure_form": DepartureForm(), "letter_form": LetterForm(auto_id="lettre_%s"), "secretary": secretary,
        "aliases": list(account.aliases.values_list("address", flat=True)),
        "migrations": account_migrations(account.pk), **extra,
    }


@require_POST
@secretary_view
def show_numen(request: HttpRequest, secretary: Account, account: Account) -> HttpResponse:
    form = NumenForm(request.POST)
    numen = ""
    if form.is_valid():
        try:
            numen = secretariat.reveal_numen(secretary, account, form.cleaned_data["reason"])
        except HelpdeskError as exc:
            form.add_error("reason", str(exc))
    return render(request, "assistance/secretariat/account.html",
                  _account_context(secretary, account, numen_form=form, numen=numen))


@require_POST
@secretary_view
def letter(request: HttpRequest, secretary: Account, account: Account) -> HttpResponse:
    form = LetterForm(request.POST)
    if not form.is_valid():
        raise Http404()
    include = form.cleaned_data["include_numen"]
    try:
        pdf = secretariat.activation_letter(secretary, account, include_numen=include,
                                            reason=form.cleaned_data["reason"])
    except HelpdeskError as exc:
        messages.error(request, str(exc))
        return redirect("assistance:secretariat_account", account_id=account.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="activation-{account.identifier}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@secretary_view
def departure(request: HttpRequest, secretary: Account, account: Account) -> HttpResponse:
    if not DepartureForm(request.POST).is_valid():
        messages.error(request, _("Cochez la case pour confirmer le départ."))
    else:
        when = secretariat.do_depart(secretary, account)
        messages.success(request, _("Compte désactivé ; sa boîte sera supprimée après le %(d)s.") % {"d": when})
    return redirect("assistance:secretariat_account", account_id=account.pk)


@require_POST
@secretary_view
def reenable(request: HttpRequest, secretary: Account, account: Account) -> HttpResponse:
    try:
        secretariat.do_reenable(secretary, account)
    except HelpdeskError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Compte réactivé."))
    return redirect("assistance:secretariat_account", account_id=account.pk)


@require_POST
@secretary_view
def rename(request: HttpRequest, secretary: Account, account: Account) -> HttpResponse:
    form = RenameForm(request.POST)
    if form.is_valid():
        try:
            identifier, address = secretariat.check_rename(secretary, account, form.cleaned_data["first_name"],
                                                           form.cleaned_data["last_name"])
        except HelpdeskError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Nouvel identifiant %(i)s, nouvelle adresse %(a)s ; l'ancienne adresse "
                                        "reste valable comme alias.") % {"i": identifier, "a": address})
    else:
        messages.error(request, _("Indiquez le nouveau prénom et le nouveau nom."))
    return redirect("assistance:secretariat_account", account_id=account.pk)
