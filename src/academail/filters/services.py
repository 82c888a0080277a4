"""Read and change an account's filters: the script (the one source of truth),
the plain-French rules read from it, and saving either, each change journaled
(``accounts.journal``, kind ``filter_changed``).

Saving replaces the script and bumps ``updated_at``, which invalidates the
compiled program cached by ``filters.engine`` in every process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from academail.accounts.journal import do_record
from academail.accounts.models import EventKind
from academail.filters.models import SieveScript
from academail.filters.rules import (
    Settings,
    Vacation,
    check_rule,
    check_vacation,
    describe,
    from_sieve,
    to_sieve,
)
from academail.filters.sieve import ScriptError, compile_script
from academail.store.errors import StoreError
from academail.store.mailboxes import check_mailbox_name, do_create_mailbox, list_mailboxes


@dataclass(frozen=True)
class Filters:
    script: str
    settings: Settings | None  # None: the script was written in advanced mode
    error: str | None  # the stored script does not compile (written elsewhere)


def read_filters(account_id: int) -> Filters:
    """The account's active script (ManageSieve may keep others, inactive),
    as rules when the rule editor can represent it."""
    script = (
        SieveScript.objects.filter(account_id=account_id, active=True).values_list("content", flat=True).first()
        or ""
    )
    try:
        return Filters(script, from_sieve(script), None)
    except ScriptError as exc:
        return Filters(script, None, exc.message)


# (script id, updated_at) -> the out-of-office read from that version of the
# script (None: none the rule editor can read). Every save bumps updated_at, so
# an entry is never stale; bounded so 60,000 accounts cannot grow it for ever.
_VACATION_CACHE: dict[tuple[int, datetime], Vacation | None] = {}
_VACATION_CACHE_SIZE = 4096


def read_vacation_on(account_id: int, today: date | None = None) -> Vacation | None:
    """The out-of-office reply if it answers mail today (on, and ``today``
    within its optional dates), else None. Called on every signed-in page
    (the banner of ``base.html``): one indexed query for the active script's
    (id, updated_at) (partial unique index ``filters_one_active_script``);
    the script is read and parsed only when that version is not cached yet.
    A script written in advanced mode is not interpreted (None)."""
    row = SieveScript.objects.filter(account_id=account_id, active=True).values_list("id", "updated_at").first()
    if row is None:
        return None
    key = (row[0], row[1])
    if key not in _VACATION_CACHE:
        content = SieveScript.objects.filter(pk=row[0]).values_list("content", flat=True).first() or ""
        try:
            settings = from_sieve(content)
        except ScriptError:
            settings = None
        if len(_VACATION_CACHE) >= _VACATION_CACHE_SIZE:
            _VACATION_CACHE.clear()
        _VACATION_CACHE[key] = settings.vacation if settings else None
    vacation = _VACATION_CACHE[key]
    day = today or timezone.localdate()
    if vacation is None or not vacation.enabled:
        return None
    if (vacation.start and day < vacation.start) or (vacation.end and day > vacation.end):
        return None
    return vacation


WEBMAIL_SCRIPT_NAME = "academail"


def _store(account_id: int, content: str) -> None:
    """Write ``content`` into the active script; without one (none yet, or all
    deactivated over ManageSieve), into a new active script named
    ``academail`` (``academail-2``... if an inactive script has that name: an
    inactive script the page does not show is never overwritten).

    Precondition: inside a transaction."""
    now = timezone.now()
    if SieveScript.objects.filter(account_id=account_id, active=True).update(content=content, updated_at=now):
        return
    taken = set(
        SieveScript.objects.filter(account_id=account_id, name__startswith=WEBMAIL_SCRIPT_NAME)
        .values_list("name", flat=True)
    )
    name, n = WEBMAIL_SCRIPT_NAME, 1
    while name in taken:
        n += 1
        name = f"{WEBMAIL_SCRIPT_NAME}-{n}"
    SieveScript.objects.create(account_id=account_id, name=name, content=content, active=True, updated_at=now)


def _create_missing_folders(account_id: int, settings: Settings) -> None:
    """A rule may name a new folder (the editor's "nouveau dossier"): create it
    now, so it shows in the folder list at once. Delivery would create it anyway
    (``fileinto :create``, RFC 5490 §3.2). Raises ScriptError for a bad name."""
    existing = {m.name for m in list_mailboxes(account_id)}
    for rule in settings.rules:
        if not rule.folder:
            continue
        try:
            name = check_mailbox_name(rule.folder)
            if name not in existing:
                do_create_mailbox(account_id, name)
                existing.add(name)
        except StoreError as error:
            raise ScriptError(error.message) from None


def check_and_save_settings(account_id: int, settings: Settings, *, remote_addr: str = "") -> str:
    """Validate the rules and out-of-office, write them as the account's script,
    journal it; return the script. ScriptError (French) if something is invalid."""
    checked = Settings(tuple(check_rule(r) for r in settings.rules), check_vacation(settings.vacation))
    script = to_sieve(checked)
    compile_script(script)  # what we write must run
    with transaction.atomic():
        _store(account_id, script)
        _create_missing_folders(account_id, checked)
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
            detail=f"script Sieve modifié en mode expert ({len(script)} caractères)",
        )
