"""The filter page (/courrier/filtres/): rules in plain French and the
out-of-office on one form, saved as the account's Sieve script; the advanced
mode edits the raw script. Works without JavaScript: order by number, delete by
checkbox, one blank rule to add, condition lines added and removed one by one
(the form re-drawn as typed, ``editor.edit_conditions``). "Tester" runs what is
on the form, unsaved, over the newest INBOX messages. Views read the form with
``editor``, call one service, render.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from academail.accounts.views import client_addr
from academail.filters import apply, editor, queries, services
from academail.filters.editor import Results
from academail.filters.rules import FIELDS, Settings, to_sieve
from academail.filters.sieve import ScriptError, compile_script
from academail.jobs.runner import JobError
from academail.store.webmail import folder_pane
from academail.web.frame import webmail_view


def _account_id(request: HttpRequest) -> int:
    return int(request.user.pk)


def _render(request: HttpRequest, *, settings: Settings, advanced: bool, script: str, error: str = "",
            results: Results | None = None, tested: tuple[int, Results] | None = None,
            draft: editor.Draft | None = None, status: int = 200) -> HttpResponse:
    account_id = _account_id(request)
    pane = folder_pane(account_id)
    cards = draft.cards if draft is not None else editor.cards(settings)
    context = {
        "title": _("Filtres et réponse d'absence"),
        "rows": editor.rows(cards, {f.mailbox.name for f in pane.folders}, tested),
        "rule_count": len(cards),
        "vacation": draft.vacation if draft is not None else settings.vacation,
        "fields": FIELDS.items(),
        # The target folder is chosen from the existing ones (special folders under their French name).
        "folders": [(f.mailbox.name, f.label if f.mailbox.special_use else f.mailbox.name)
                    for f in pane.folders if f.mailbox.special_use != "inbox"],
        "advanced": advanced,
        "script": script,
        "error": error,
        "results": results,
        "apply_job": apply.latest(account_id),
    }
    context["pane"] = pane
    return render(request, "filters/pages/filters.html", context, status=status)


@webmail_view
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    account_id = _account_id(request)
    current = services.read_filters(account_id)
    if request.method == "GET":
        settings = current.settings or Settings()
        return _render(request, settings=settings, advanced=current.settings is None, script=current.script,
                       error=current.error or "")
    action = request.POST.get("action", "")
    if editor.is_condition_action(action):
        # A condition line added or removed: the form re-drawn as typed, nothing saved.
        draft = editor.edit_conditions(request.POST, action)
        return _render(request, settings=Settings(), advanced=current.settings is None, script=current.script,
                       draft=draft, error=draft.error, status=400 if draft.error else 200)
    try:
        settings = editor.parse_form(request.POST)
    except ScriptError as exc:
        return _render(request, settings=current.settings or Settings(), advanced=current.settings is None,
                       script=current.script, error=exc.message, status=400)
    if action == "test":
        results = queries.match_existing(account_id, compile_script(to_sieve(settings)))
        return _render(request, settings=settings, advanced=current.settings is None, script=current.script,
                       results=results)
    if action.startswith("test-") and action[5:].isdigit():
        # One rule alone, its results in its own card (where it now sits, the
        # form being re-read in order).
        rule = editor.parse_rule(request.POST, int(action[5:]))
        if rule is None or rule not in settings.rules:
            return _render(request, settings=settings, advanced=current.settings is None, script=current.script,
                           error=_("Cette règle est vide : choisissez une condition et une action, puis testez-la."),
                           status=400)
        results = queries.match_existing(account_id, compile_script(to_sieve(Settings((rule,)))))
        return _render(request, settings=settings, advanced=current.settings is None, script=current.script,
                       tested=(settings.rules.index(rule), results))
    services.check_and_save_settings(account_id, settings, remote_addr=client_addr(request))
    messages.success(request, "Filtres enregistrés.")
    return redirect("filters:index")


@webmail_view
@require_http_methods(["GET", "POST"])
def advanced(request: HttpRequest) -> HttpResponse:
    account_id = _account_id(request)
    current = services.read_filters(account_id)
    if request.method == "GET":
        return _render(request, settings=current.settings or Settings(), advanced=True, script=current.script,
                       error=current.error or "")
    script = request.POST.get("script", "").replace("\r\n", "\n")
    try:
        if request.POST.get("action") == "test":
            results = queries.match_existing(account_id, compile_script(script))
            return _render(request, settings=current.settings or Settings(), advanced=True, script=script,
                           results=results)
        services.check_and_save_script(account_id, script, remote_addr=client_addr(request))
    except ScriptError as exc:
        return _render(request, settings=current.settings or Settings(), advanced=True, script=script,
                       error=exc.message, status=400)
    messages.success(request, "Script enregistré.")
    return redirect("filters:advanced")


@webmail_view
@require_http_methods(["POST"])
def apply_existing(request: HttpRequest) -> HttpResponse:
    """"Appliquer aux messages existants": queue the job, back to the page."""
    try:
        apply.check_and_queue(_account_id(request))
    except (ScriptError, JobError) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Le tri des messages existants a commencé ; sa progression s'affiche ci-dessous."))
    page = "filters:advanced" if request.POST.get("back") == "advanced" else "filters:index"
    return redirect(reverse(page) + "#flt-apply")


@webmail_view
@require_http_methods(["GET"])
def apply_status(request: HttpRequest, job_id: int) -> HttpResponse:
    """The job's progress as JSON, for the page's polling script; 404 for
    another account's job."""
    try:
        job = apply.access_apply_job(_account_id(request), job_id)
    except JobError:
        raise Http404(_("Ce traitement n'existe pas.")) from None
    return JsonResponse(apply.status(job))
