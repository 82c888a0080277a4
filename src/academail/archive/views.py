"""Mailbox care pages: "Espace utilisé" (what takes the space, and bulk
actions to free it) and "Mes exports" (ask for an export, follow its
progress, download it with HTTP Range). Views parse, call one service,
render."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from academail.accounts.views import client_addr
from academail.archive import export as exporting
from academail.archive import importing, lighten, migration_jobs, uploads
from academail.archive.counting import do_request_count
from academail.archive.models import Export, ExportFormat
from academail.jobs.runner import JobError
from academail.store.errors import MailboxNotFound, MessageNotFound, StoreError
from academail.store.mailboxes import list_mailboxes
from academail.store.quota import is_full
from academail.store.space import do_archive, do_destroy, read_space_summary, space_report
from academail.store.webmail import folder_pane
from academail.web.frame import webmail_view

MAX_SELECTION = exporting.MAX_SELECTION
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _account_id(request: HttpRequest) -> int:
    return int(request.user.pk)


def _selection(values: list[str]) -> list[tuple[int, int]]:
    """"mailbox:uid" pairs from the form; anything else is ignored."""
    pairs: list[tuple[int, int]] = []
    for value in values[:MAX_SELECTION]:
        box, _sep, uid = value.partition(":")
        if box.isdigit() and uid.isdigit() and len(box) < 19 and len(uid) < 19:
            pairs.append((int(box), int(uid)))
    return pairs


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        raise exporting.ExportError(_("Une date n'est pas valide (format attendu : AAAA-MM-JJ).")) from None


@webmail_view
@require_GET
def space(request: HttpRequest) -> HttpResponse:
    account_id = _account_id(request)
    report = space_report(account_id)
    count = read_space_summary(account_id)
    if count is None or count.stale:
        do_request_count(account_id)
    return render(request, "archive/pages/space.html", {
        "pane": folder_pane(account_id), "report": report, "title": _("Espace utilisé"),
        "full": is_full(report.used, report.limit), "formats": ExportFormat.choices, "count": count,
        "lighten_job": lighten.latest(account_id), "lighten_ages": lighten.AGES, "lighten_sizes": lighten.SIZES,
    })


@webmail_view
@require_POST
def space_lighten(request: HttpRequest) -> HttpResponse:
    """"Alléger les anciens messages": queue the removal of old attachments."""
    try:
        lighten.check_and_queue_lighten(_account_id(request), lighten.LightenRequest(
            years=_int(request.POST.get("years", "")), min_size=_int(request.POST.get("min_size", "")),
            confirmed=request.POST.get("confirm") == "on",
        ))
    except (lighten.LightenError, JobError) as failure:
        messages.error(request, failure.message)
    else:
        messages.success(request, _("C'est parti : les pièces jointes sont retirées en arrière-plan. "
                                    "Le résultat s'affiche sur cette page."))
    return redirect(reverse("archive:space") + "#wm-space-lighten")


def _int(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 12 else -1


@webmail_view
@require_POST
def space_actions(request: HttpRequest) -> HttpResponse:
    """"Supprimer définitivement" (confirmation box required), "Déplacer dans
    Archives" or "Exporter puis supprimer" for the ticked messages."""
    selection = _selection(request.POST.getlist("m"))
    action = request.POST.get("action", "")
    account_id = _account_id(request)
    if not selection:
        messages.error(request, _("Cochez d'abord les messages à traiter."))
        return redirect("archive:space")
    try:
        if action == "delete":
            if request.POST.get("confirm") != "on":
                messages.error(request, _("Cochez la case de confirmation pour supprimer définitivement ces messages."))
                return redirect("archive:space")
            count = do_destroy(account_id, selection)
            messages.success(request, _("%(n)d message(s) supprimé(s) définitivement : l'espace est libéré.") % {"n": count})
        elif action == "archive":
            count = do_archive(account_id, selection)
            messages.success(request, _("%(n)d message(s) déplacé(s) dans Archives.") % {"n": count})
        elif action == "export_delete":
            fmt = request.POST.get("format", "eml")
            exporting.check_and_queue_export(
                account_id, exporting.ExportRequest(format=fmt, selection=tuple(selection), delete_after=True)
            )
            messages.success(request, _("Export lancé : les messages seront supprimés une fois le fichier prêt."))
            return redirect("archive:exports")
        else:
            messages.error(request, _("Action inconnue."))
    except (MailboxNotFound, MessageNotFound):
        raise  # another account's folder: 404 (webmail_view)
    except StoreError as failure:
        messages.error(request, failure.message)
    except (exporting.ExportError, JobError) as failure:
        messages.error(request, failure.message)
    return redirect("archive:space")


@webmail_view
@require_http_methods(["GET", "POST"])
def exports(request: HttpRequest) -> HttpResponse:
    """"Mes exports": the form (scope, dates, format) and the recent exports."""
    account_id = _account_id(request)
    error = ""
    if request.method == "POST":
        scope = request.POST.get("scope", "")
        try:
            mailbox_id = int(scope) if scope.isdigit() and len(scope) < 19 else None
            exporting.check_and_queue_export(account_id, exporting.ExportRequest(
                format=request.POST.get("format", ""), mailbox_id=mailbox_id,
                since=_date(request.POST.get("since", "")), until=_date(request.POST.get("until", "")),
            ))
        except (exporting.ExportError, JobError) as failure:
            error = failure.message
        else:
            messages.success(request, _("Export lancé : vous recevrez un message quand il sera prêt."))
            return redirect("archive:exports")
    rows = exporting.account_exports(account_id)
    return render(request, "archive/pages/exports.html", {
        "pane": folder_pane(account_id), "title": _("Mes exports"), "error": error,
        "rows": [(e, exporting.status(e), exporting.export_path(e) is not None) for e in rows],
        "folders": list_mailboxes(account_id), "formats": ExportFormat.choices,
    })


@webmail_view
@require_GET
def export_status(request: HttpRequest, export_id: int) -> HttpResponse:
    """The export's progress as JSON (the page's polling script)."""
    return JsonResponse(exporting.status(exporting.access_export(_account_id(request), export_id)))


@webmail_view
@require_GET
def export_download(request: HttpRequest, export_id: int) -> HttpResponseBase:
    """The zip, for its owner only, with HTTP Range (RFC 9110 §14) so a broken
    download resumes: one range per request (browsers and download managers
    ask for one); an unsatisfiable range gets 416."""
    export = exporting.access_export(_account_id(request), export_id)
    path = exporting.export_path(export)
    if path is None:
        raise Http404(_("Cet export n'est plus disponible : relancez-le."))
    return _send_file(request, export, path)


@require_GET
def departure_download(request: HttpRequest, token: str) -> HttpResponseBase:
    """The departure export, by the link mailed to the secondary address of
    an account that left (disabled: no sign-in possible); the signed token is
    the only credential. Same Range support as ``export_download``."""
    try:
        export = exporting.access_departure_export(token)
    except exporting.ExportError as failure:
        return render(request, "archive/pages/departure_link_invalid.html", {"reason": failure.message}, status=410)
    path = exporting.export_path(export)
    if path is None:  # removed between the check and now
        return render(request, "archive/pages/departure_link_invalid.html", status=410)
    return _send_file(request, export, path)


def _send_file(request: HttpRequest, export: Export, path: Path) -> HttpResponseBase:
    size = path.stat().st_size
    start, end, status = 0, size - 1, 200
    header = request.headers.get("Range", "")
    match = _RANGE.match(header.strip()) if header else None
    if header and request.headers.get("If-Range", export.sha256) not in (export.sha256, f'"{export.sha256}"'):
        match = None  # the file changed since the client's first part: send it whole (§13.1.5)
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        else:  # the last N bytes
            start = max(0, size - int(match.group(2)))
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        status = 206
    if start == 0:
        exporting.do_record_download(export, client_addr(request))
    response = StreamingHttpResponse(exporting.read_range(path, start, end), status=status, content_type="application/zip")
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{export.sha256}"'
    response["Content-Disposition"] = f'attachment; filename="academail-export-{export.pk}.zip"'
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


@webmail_view
@require_http_methods(["GET", "POST"])
def imports(request: HttpRequest) -> HttpResponse:
    """"Importer des messages": upload an mbox, an .eml or a zip into a folder
    (chosen, or new), then follow the job and read its report."""
    account_id = _account_id(request)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise importing.ImportError_(_("Choisissez le fichier à importer."))
            importing.check_and_queue_import(
                account_id, upload, upload.name or "import", **_destination(request),
            )
        except MailboxNotFound:
            raise  # another account's folder: 404 (webmail_view)
        except StoreError as failure:
            error = failure.message
        except (importing.ImportError_, JobError) as failure:
            error = failure.message
        else:
            messages.success(request, _("Import lancé : le compte rendu s'affiche ici quand il est terminé."))
            return redirect("archive:imports")
    return render(request, "archive/pages/imports.html", {
        "pane": folder_pane(account_id), "title": _("Importer des messages"), "error": error,
        "rows": importing.account_imports(account_id), "folders": list_mailboxes(account_id),
        "chunk_bytes": settings.IMPORT_CHUNK_BYTES,
    })


def _destination(request: HttpRequest) -> dict[str, Any]:
    """Where the import form says to put the messages: a folder id, a new
    folder's name, or "dossiers" (each message of a zip back into its folder)."""
    choice = request.POST.get("mailbox", "")
    return {
        "mailbox_id": int(choice) if choice.isdigit() and len(choice) < 19 else None,
        "new_folder": request.POST.get("new_folder", "")[:200],
        "spread": choice == "dossiers",
    }


@webmail_view
@require_http_methods(["GET", "POST"])
def migrate(request: HttpRequest) -> HttpResponse:
    """"Depuis l'ancienne messagerie": the old server and the person's old
    login and password; the copy runs as a job whose progress shows here.
    The password is sealed for the job's life only (archive.migration_jobs)."""
    account_id = _account_id(request)
    error = ""
    form = {"host": "", "port": "", "tls": "implicit", "login": ""}
    if request.method == "POST":
        form = {name: request.POST.get(name, "")[:300] for name in form}
        try:
            migration_jobs.check_and_queue_own_migration(
                account_id, **form, password=request.POST.get("password", "")[:1001],
                remote_addr=client_addr(request),
            )
        except (migration_jobs.MigrationRequestError, JobError) as failure:
            error = failure.message
        else:
            messages.success(request, _("Migration lancée : vous pouvez fermer cette page, la copie continue. "
                                        "Votre ancien mot de passe sera oublié dès la fin de la copie."))
            return redirect("archive:migrate")
    return render(request, "archive/pages/migrate.html", {
        "pane": folder_pane(account_id), "title": _("Depuis l'ancienne messagerie"), "error": error, "form": form,
        "rows": [(job, migration_jobs.status(job)) for job in migration_jobs.own_migrations(account_id)],
        "tls_modes": migration_jobs.TLS_LABELS, "help_url": migration_jobs.help_url(),
    }, status=400 if error else 200)


@webmail_view
@require_GET
def migrate_status(request: HttpRequest, job_id: int) -> HttpResponse:
    """The migration's progress as JSON (progress.js)."""
    try:
        job = migration_jobs.access_own_migration(_account_id(request), job_id)
    except JobError:
        raise Http404() from None
    return JsonResponse(migration_jobs.status(job))


# --- piecewise upload (archive.uploads; the page's upload.js) ----------------------


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@webmail_view
@require_POST
def upload_start(request: HttpRequest) -> HttpResponse:
    """Declare a file (``name``, ``size`` from the form); answer where to send it."""
    size = request.POST.get("size", "")
    try:
        upload = uploads.do_start_upload(
            _account_id(request), request.POST.get("name", "")[:200], int(size) if size.isdigit() and len(size) < 16 else 0
        )
    except importing.ImportError_ as failure:
        return _json_error(failure.message)
    url = reverse("archive:upload_piece", args=[upload.key])
    return JsonResponse({"url": url, "received": 0, "chunk": settings.IMPORT_CHUNK_BYTES}, status=201)


@webmail_view
@require_http_methods(["GET", "POST"])
def upload_piece(request: HttpRequest, key: str) -> HttpResponse:
    """GET: how much has arrived. POST: the piece starting at the offset in
    ``Upload-Offset`` (the raw body); 409 with the right offset otherwise."""
    try:
        upload = uploads.access_upload(_account_id(request), key)
    except uploads.UploadNotFound:
        raise Http404(_("Cet envoi n'existe pas ou a expiré : recommencez.")) from None
    if request.method == "GET":
        return JsonResponse({"received": upload.received, "size": upload.size})
    offset = request.headers.get("Upload-Offset", "")
    length = request.headers.get("Content-Length", "")
    if not offset.isdigit() or not length.isdigit():
        return _json_error(_("Envoi mal formé : rechargez la page et recommencez."))
    try:
        received = uploads.do_append(upload, int(offset), request, int(length))
    except uploads.OffsetMismatch as mismatch:
        return JsonResponse({"received": mismatch.received}, status=409)
    except importing.ImportError_ as failure:
        return _json_error(failure.message)
    return JsonResponse({"received": received, "size": upload.size})


@webmail_view
@require_POST
def upload_finish(request: HttpRequest, key: str) -> HttpResponse:
    """The file is whole: queue its import into the chosen (or new) folder."""
    account_id = _account_id(request)
    try:
        upload = uploads.access_upload(account_id, key)
    except uploads.UploadNotFound:
        raise Http404(_("Cet envoi n'existe pas ou a expiré : recommencez.")) from None
    try:
        uploads.do_finish(upload, **_destination(request))
    except MailboxNotFound:
        raise
    except StoreError as failure:
        return _json_error(failure.message)
    except (importing.ImportError_, JobError) as failure:
        return _json_error(failure.message)
    messages.success(request, _("Import lancé : le compte rendu s'affiche ici quand il est terminé."))
    return JsonResponse({"next": reverse("archive:imports")})
