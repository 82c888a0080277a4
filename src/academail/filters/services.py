"""Read and change an account's filters: the script (the one source of truth),
the plain-French rules read from it, and saving either, each change journaled
(``accounts.journal``, kind ``filter_changed``).

Saving replaces the script and bumps ``updated_at``, which invalidates the
compiled program cached by ``filters.engine`` in every process.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from academail.accounts.journal import do_record
from academail.accounts.models import EventKind
from academail.filters.models import SieveScript
from academail.filters.rules import (
    Settings,
    check_rule,
    check_vacation,
    describe,
    from_sieve,
    to_sieve,
)
from academail.filters.sieve import ScriptError, compile_script


@dataclass(frozen=True)
class Filters:
    script: str
    settings: Settings | None  # None: the script was written in advanced mode
    error: str | None  # the stored script does not compile (written elsewhere)


def read_filters(account_id: int) -> Filters:
    script = SieveScript.objects.filter(account_id=account_id).values_list("content", flat=True).first() or ""
    try:
        return Filters(script, from_sieve(script), None)
    except ScriptError as exc:
        return Filters(script, None, exc.message)


def _store(account_id: int, content: str) -> None:
    SieveScript.objects.update_or_create(
        account_id=account_id, defaults={"content": content, "active": True, "updated_at": timezone.now()}
    )


def check_and_save_settings(account_id: int, settings: Settings, *, remote_addr: str = "") -> str:
    """Validate the rules and out-of-office, write them as the account's script,
    journal it; return the script. ScriptError (French) if something is invalid."""
    checked = Settings(tuple(check_rule(r) for r in settings.rules), check_vacation(settings.vacation))
    script = to_sieve(checked)
    compile_script(script)  # what we write must run
    with transaction.atomic():
        _store(account_id, script)
        vacation = checked.vacation
        summary = f"{len(checked.rules)} règle(s) ; absence {'activée' if vacation.enabled else 'désactivée'}"
        if checked.rules:
            summary += " ; " + describe(checked.rules[0])
        do_record(account_id, EventKind.FILTER_CHANGED, protocol="web", remote_addr=remote_addr, detail=summary)
    return script


def check_and_save_script(account_id: int, script: str, *, remote_addr: str = "") -> None:
    """Advanced mode: validate the raw script (syntax with its line, and what the
    interpreter supports), save, journal. ScriptError (French) if invalid."""
    script = script.replace("\r\n", "\n")
    compile_script(script)
    with transaction.atomic():
        _store(account_id, script)
        do_record(
            account_id, EventKind.FILTER_CHANGED, protocol="web", remote_addr=remote_addr,
            detail=f"script Sieve modifié en mode avancé ({len(script)} caractères)",
        )
