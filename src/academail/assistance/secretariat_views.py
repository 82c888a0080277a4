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
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from academail.accounts.helpdesk import HelpdeskError
from academail.accounts.models import Account
from academail.accounts.views import client_addr, secured
from academail.archive import migration_jobs
from academail.archive.migration import account_migrations
from academail.assistance import access, secretariat
from academail.assistance.forms import DepartureForm, ImportForm, LetterForm, NumenForm, RenameForm
from academail.jobs.runner import JobError

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


def operator_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """``access_migration_operator``: a secretary (their établissement's
    accounts) or an administrator (all); anyone else gets a 404."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            operator, scope = access.access_migration_operator(request.user)
        except access.Denied:
            if not request.user.is_authenticated:
                return redirect(f"{reverse('accounts:login')}?next={request.path}")
            raise Http404() from None
        return view(request, operator, scope, *args, **kwargs)

    return secured(wrapper)


@operator_view
def migration_page(request: HttpRequest, operator: Account, scope: list[int] | None) -> HttpResponse:
    """Migrate many accounts from the previous platform: the old server, a
    CSV (compte;identifiant_source;mot_de_passe) and/or a master user; one
    job per account, each with its progress and its errors (plain French,
    with the help article)."""
    error, refused = "", []
    form = {"host": "", "port": "", "tls": "implicit", "master_user": "", "master_method": "plain"}
    if request.method == "POST":
        form = {name: request.POST.get(name, "")[:300] for name in form}
        upload = request.FILES.get("csv")
        try:
            if upload is None or upload.size > migration_jobs.MAX_CSV_BYTES:
                raise migration_jobs.MigrationRequestError(
                    _("Déposez le fichier CSV des comptes (au plus 2 Mo) : compte;identifiant_source;mot_de_passe."))
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise migration_jobs.MigrationRequestError(
                    _("Le fichier CSV doit être enregistré en UTF-8.")) from None
            result = migration_jobs.check_and_queue_bulk(
                operator.pk, scope, csv_text=text, master_password=request.POST.get("master_password", "")[:1000],
                remote_addr=client_addr(request), **form,
            )
        except migration_jobs.MigrationRequestError as failure:
            error = failure.message
        else:
            refused = result.refused
            if result.queued:
                messages.success(request, _("%(n)d migration(s) lancée(s) : la progression de chaque compte "
                                            "s'affiche ci-dessous.") % {"n": len(result.queued)})
            if not refused:
                return redirect("assistance:secretariat_migration")
    rows = [(job, migration_jobs.status(job)) for job in migration_jobs.operator_migrations(operator.pk, scope)]
    return render(request, "assistance/secretariat/migration.html", {
        "form": form, "error": error, "refused": refused, "rows": rows, "operator": operator,
        "tls_modes": migration_jobs.TLS_LABELS, "help_url": migration_jobs.help_url(),
    }, status=400 if error else 200)


@operator_view
def migration_status(request: HttpRequest, operator: Account, scope: list[int] | None, job_id: int) -> HttpResponse:
    """One account's migration progress as JSON (progress.js), for the operator who started it."""
    try:
        job = migration_jobs.access_operator_migration(operator.pk, scope, job_id)
    except JobError:
        raise Http404() from None
    return JsonResponse(migration_jobs.status(job))
