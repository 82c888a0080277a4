"""The filter page (/courrier/filtres/): rules in plain French and the
out-of-office on one form, saved as the account's Sieve script; the advanced
mode edits the raw script. Works without JavaScript: order by number, delete by
checkbox, one blank rule to add. "Tester" runs what is on the form, unsaved,
over the newest INBOX messages. Views parse, call one service, render.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from academail.accounts.views import client_addr
from academail.filters import apply, queries, services
from academail.filters.rules import (
    FIELDS,
    Condition,
    Rule,
    Settings,
    Vacation,
    check_rule,
    check_vacation,
    to_sieve,
)
from academail.filters.sieve import DEFAULT_DAYS, ScriptError, compile_script
from academail.jobs.runner import JobError
from academail.store.webmail import folder_pane
from academail.web.frame import webmail_view

CONDITIONS_PER_RULE = 2
MAX_RULES = 1000


def _account_id(request: HttpRequest) -> int:
    return int(request.user.pk)


def _text(data: QueryDict, key: str, limit: int = 5000) -> str:
    return data.get(key, "").replace("\r\n", "\n").strip()[:limit]


def _date(data: QueryDict, key: str) -> date | None:
    try:
        return date.fromisoformat(data.get(key, "").strip()) if data.get(key, "").strip() else None
    except ValueError:
        raise ScriptError("Une date d'absence n'est pas valide (format attendu : AAAA-MM-JJ).") from None


def _parse_rule(data: QueryDict, i: int) -> Rule | None:
    """Rule ``i`` of the form, checked; None when it is blank or marked for deletion.
    The folder is the one chosen in the list, or the new one typed beside it."""
    p = f"rule-{i}-"
    if data.get(p + "delete"):
        return None
    conditions = tuple(
        Condition(data.get(f"{p}field{k}", "subject"), _text(data, f"{p}value{k}", 500))
        for k in range(CONDITIONS_PER_RULE)
        if _text(data, f"{p}value{k}")
    )
    folder = _text(data, p + "newfolder", 600) or _text(data, p + "folder", 600)
    forward = _text(data, p + "forward", 320)
    if not conditions and not folder and not forward:
        return None
    rule = Rule(
        conditions, data.get(p + "match") == "all", folder, bool(data.get(p + "read")),
        forward, bool(data.get(p + "stop")), bool(data.get(p + "enabled")),
    )
    try:
        return check_rule(rule)
    except ScriptError as exc:
        raise ScriptError(f"Règle {i + 1} : {exc.message}") from None


def _parse_form(data: QueryDict) -> Settings:
    """Rules and vacation from the form, in the order given; blank rules dropped."""
    try:
        count = min(int(data.get("rules", "0")), MAX_RULES + 1)
    except ValueError:
        count = 0
    ordered: list[tuple[float, int, Rule]] = []
    for i in range(count):
        rule = _parse_rule(data, i)
        if rule is None:
            continue
        try:
            order = float(data.get(f"rule-{i}-order", i + 1))
        except ValueError:
            order = i + 1
        ordered.append((order, i, rule))
    if len(ordered) > MAX_RULES:
        raise ScriptError(f"{MAX_RULES} règles au plus.")
    try:
        days = int(data.get("vac-days", DEFAULT_DAYS))
    except ValueError:
        days = 0
    vacation = Vacation(
        enabled=bool(data.get("vac-enabled")),
        start=_date(data, "vac-start"),
        end=_date(data, "vac-end"),
        subject=_text(data, "vac-subject", 200),
        text=_text(data, "vac-text"),
        days=days,
    )
    return Settings(tuple(r for _, _, r in sorted(ordered)), check_vacation(vacation))


Results = tuple[int, list[queries.Match]]


def _rows(settings: Settings, folders: set[str], tested: tuple[int, Results] | None = None) -> list[dict[str, Any]]:
    """One card per rule, then a blank one to add a rule ("ne pas appliquer les
    règles suivantes" off, as the issue asks: stopping is the exception).
    ``tested``: (position of a rule, its test results), shown in its card."""
    rows = []
    blank = Rule((), stop=False, enabled=True)
    for i, rule in enumerate((*settings.rules, blank)):
        conditions = list(rule.conditions) + [Condition("subject", "")] * CONDITIONS_PER_RULE
        results = tested[1] if tested is not None and tested[0] == i else None
        rows.append({"index": i, "number": i + 1, "rule": rule, "new": rule is blank,
                     "conditions": conditions[:CONDITIONS_PER_RULE],
                     "results": results, "results_id": f"rule-{i}-results",
                     "folder_missing": bool(rule.folder) and rule.folder not in folders})
    return rows


def _render(request: HttpRequest, *, settings: Settings, advanced: bool, script: str, error: str = "",
            results: Results | None = None, tested: tuple[int, Results] | None = None,
            status: int = 200) -> HttpResponse:
    account_id = _account_id(request)
    pane = folder_pane(account_id)
    context = {
        "title": _("Filtres et réponse d'absence"),
        "rows": _rows(settings, {f.mailbox.name for f in pane.folders}, tested),
        "rule_count": len(settings.rules) + 1,
        "vacation": settings.vacation,
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
    try:
        settings = _parse_form(request.POST)
    except ScriptError as exc:
        return _render(request, settings=current.settings or Settings(), advanced=current.settings is None,
                       script=current.script, error=exc.message, status=400)
    action = request.POST.get("action", "")
    if action == "test":
        results = queries.match_existing(account_id, compile_script(to_sieve(settings)))
        return _render(request, settings=settings, advanced=current.settings is None, script=current.script,
                       results=results)
    if action.startswith("test-") and action[5:].isdigit():
        # One rule alone, its results in its own card (where it now sits, the
        # form being re-read in order).
        rule = _parse_rule(request.POST, int(action[5:]))
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
