"""An account's named Sieve scripts, as ManageSieve (RFC 5804) sees them: list,
read, check, store, activate, rename and delete, with the limits (script size,
number of scripts) and each change journaled (``filter_changed``, protocol
``sieve``). The webmail page edits the active script through
``filters.services``; both write the same rows.

Every function takes the signed-in account's id and only ever touches that
account's rows: a script name is looked up within the account, so no name can
reach another person's script. Errors are ``ScriptsError`` with a ``reason``
(the protocol turns it into its response code) and a French message.

Storage keeps line ends as LF (as the webmail does); ``access_script`` gives
CRLF, the line end of RFC 5228 §2.2, so what a client uploads with CRLF comes
back byte for byte.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from academail.accounts.journal import do_record
from academail.accounts.models import Account, EventKind
from academail.env import env_int
from academail.filters.models import SieveScript
from academail.filters.sieve import ScriptError, compile_script
from academail.store.sizes import taille

MAX_SCRIPT_BYTES = env_int("ACADEMAIL_SIEVE_MAX_SCRIPT_SIZE", 64 * 1024)
MAX_SCRIPTS = env_int("ACADEMAIL_SIEVE_MAX_SCRIPTS", 20)
MAX_NAME_CHARS = 200  # SieveScript.name
PROTOCOL = "sieve"


class Reason(enum.Enum):
    NONEXISTENT = "nonexistent"
    ALREADY_EXISTS = "alreadyexists"
    ACTIVE = "active"
    TOO_MANY = "maxscripts"
    TOO_BIG = "maxsize"
    INVALID_NAME = "invalid-name"
    INVALID_SCRIPT = "invalid-script"
    BUSY = "trylater"


class ScriptsError(Exception):
    """A refused change; ``message`` is French, for the person."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ScriptInfo:
    name: str
    active: bool


def check_name(name: str) -> str:
    """RFC 5804 §1.6: a script name is non-empty Unicode without control
    characters (U+0000-001F, U+007F-009F), line or paragraph separators."""
    if not name:
        raise ScriptsError(Reason.INVALID_NAME, "Le nom du script ne peut pas être vide.")
    if len(name) > MAX_NAME_CHARS:
        raise ScriptsError(Reason.INVALID_NAME, f"Le nom du script est trop long ({MAX_NAME_CHARS} caractères au plus).")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in name):
        raise ScriptsError(Reason.INVALID_NAME, "Le nom du script contient un caractère de contrôle : choisissez-en un autre.")
    return unicodedata.normalize("NFC", name)


def check_script(content: str) -> None:
    """Validate a script as delivery would run it; ScriptsError (French, with
    the line) if it would not."""
    _check_size(len(content.encode()))
    try:
        compile_script(_lf(content))
    except ScriptError as exc:
        raise ScriptsError(Reason.INVALID_SCRIPT, exc.message) from None


def check_space(account_id: int, name: str, size: int) -> None:
    """RFC 5804 §2.5 HAVESPACE: would a script of ``size`` octets named
    ``name`` fit? ScriptsError (TOO_BIG, TOO_MANY) if not."""
    name = check_name(name)
    _check_size(size)
    scripts = SieveScript.objects.filter(account_id=account_id)
    if not scripts.filter(name=name).exists() and scripts.count() >= MAX_SCRIPTS:
        raise ScriptsError(Reason.TOO_MANY, _too_many())


def access_scripts(account_id: int) -> list[ScriptInfo]:
    """The account's scripts by name (LISTSCRIPTS)."""
    rows = SieveScript.objects.filter(account_id=account_id).order_by("name").values_list("name", "active")
    return [ScriptInfo(name, active) for name, active in rows]


def access_script(account_id: int, name: str) -> str:
    """The content of the account's script ``name``, CRLF line ends
    (GETSCRIPT); ScriptsError NONEXISTENT."""
    content = SieveScript.objects.filter(account_id=account_id, name=name).values_list("content", flat=True).first()
    if content is None:
        raise ScriptsError(Reason.NONEXISTENT, _missing(name))
    return content.replace("\n", "\r\n")


def check_and_put_script(account_id: int, name: str, content: str, *, remote_addr: str = "") -> None:
    """PUTSCRIPT (RFC 5804 §2.6): validate, then create or replace ``name``; an
    active script takes effect for the next delivery. Journaled."""
    name = check_name(name)
    check_script(content)
    content = _lf(content)
    try:
        with transaction.atomic():
            _lock(account_id)
            now = timezone.now()
            updated = SieveScript.objects.filter(account_id=account_id, name=name).update(
                content=content, updated_at=now
            )
            if not updated:
                if SieveScript.objects.filter(account_id=account_id).count() >= MAX_SCRIPTS:
                    raise ScriptsError(Reason.TOO_MANY, _too_many())
                SieveScript.objects.create(account_id=account_id, name=name, content=content, active=False,
                                           updated_at=now)
            do_record(account_id, EventKind.FILTER_CHANGED, protocol=PROTOCOL, remote_addr=remote_addr,
                      detail=f"script « {name} » {'remplacé' if updated else 'ajouté'} ({len(content)} caractères)")
    except IntegrityError:
        raise ScriptsError(Reason.BUSY, _busy()) from None


def do_set_active(account_id: int, name: str, *, remote_addr: str = "") -> None:
    """SETACTIVE (RFC 5804 §2.8): make ``name`` the one active script, or,
    with ``""``, leave none active (no filters at delivery). Journaled."""
    try:
        with transaction.atomic():
            _lock(account_id)
            now = timezone.now()
            if name and not SieveScript.objects.filter(account_id=account_id, name=name).exists():
                raise ScriptsError(Reason.NONEXISTENT, _missing(name))
            current = SieveScript.objects.filter(account_id=account_id, active=True).values_list("name", flat=True).first()
            if current == (name or None):
                return
            # Deactivate first: the partial unique index allows one active row.
            SieveScript.objects.filter(account_id=account_id, active=True).update(active=False, updated_at=now)
            if name:
                SieveScript.objects.filter(account_id=account_id, name=name).update(active=True, updated_at=now)
            detail = f"script « {name} » activé" if name else "filtres désactivés (aucun script actif)"
            do_record(account_id, EventKind.FILTER_CHANGED, protocol=PROTOCOL, remote_addr=remote_addr, detail=detail)
    except IntegrityError:
        raise ScriptsError(Reason.BUSY, _busy()) from None


def check_and_delete_script(account_id: int, name: str, *, remote_addr: str = "") -> None:
    """DELETESCRIPT (RFC 5804 §2.10): never the active script (ACTIVE). Journaled."""
    with transaction.atomic():
        _lock(account_id)
        row = SieveScript.objects.filter(account_id=account_id, name=name).values_list("pk", "active").first()
        if row is None:
            raise ScriptsError(Reason.NONEXISTENT, _missing(name))
        if row[1]:
            raise ScriptsError(
                Reason.ACTIVE,
                f"Le script « {name} » est actif : activez-en un autre (ou aucun) avant de le supprimer.",
            )
        SieveScript.objects.filter(pk=row[0]).delete()
        do_record(account_id, EventKind.FILTER_CHANGED, protocol=PROTOCOL, remote_addr=remote_addr,
                  detail=f"script « {name} » supprimé")


def check_and_rename_script(account_id: int, old: str, new: str, *, remote_addr: str = "") -> None:
    """RENAMESCRIPT (RFC 5804 §2.11.1): an active script stays active. Journaled."""
    new = check_name(new)
    try:
        with transaction.atomic():
            _lock(account_id)
            if not SieveScript.objects.filter(account_id=account_id, name=old).exists():
                raise ScriptsError(Reason.NONEXISTENT, _missing(old))
            if old == new:
                return
            if SieveScript.objects.filter(account_id=account_id, name=new).exists():
                raise ScriptsError(Reason.ALREADY_EXISTS,
                                   f"Un script « {new} » existe déjà : choisissez un autre nom.")
            SieveScript.objects.filter(account_id=account_id, name=old).update(name=new)
            do_record(account_id, EventKind.FILTER_CHANGED, protocol=PROTOCOL, remote_addr=remote_addr,
                      detail=f"script « {old} » renommé en « {new} »")
    except IntegrityError:
        raise ScriptsError(Reason.BUSY, _busy()) from None


# --- helpers -------------------------------------------------------------------------


def _lock(account_id: int) -> None:
    """Serialise the changes of one account's scripts (counting, activating):
    the account row is the lock (PostgreSQL; SQLite transactions are
    IMMEDIATE, hence serial already)."""
    Account.objects.select_for_update().filter(pk=account_id).values_list("pk", flat=True).first()


def _lf(content: str) -> str:
    return content.replace("\r\n", "\n")


def _check_size(size: int) -> None:
    if size > MAX_SCRIPT_BYTES:
        raise ScriptsError(
            Reason.TOO_BIG, f"Le script est trop gros ({taille(MAX_SCRIPT_BYTES)} au plus) : raccourcissez-le."
        )


def _too_many() -> str:
    return f"Vous avez déjà {MAX_SCRIPTS} scripts, le maximum : supprimez-en un avant d'en ajouter."


def _missing(name: str) -> str:
    return f"Aucun script ne s'appelle « {name} » : LISTSCRIPTS donne les noms existants."


def _busy() -> str:
    return "Une autre modification de vos scripts est en cours : réessayez dans un instant."
