"""The secretariat's bulk import of accounts from a CSV file (an export of the
staff list, usually from a spreadsheet).

What it accepts: a header row, then one person per line. Header names are
matched case- and accent-insensitively, in French or English (``Prénom``,
``prenom``, ``first_name``...). Encoding: UTF-8 with or without BOM, UTF-16 with
BOM (spreadsheets' "Unicode text"), otherwise Windows-1252 (what French Excel
writes). Delimiter: ``;``, ``,`` or tab, whichever the header row uses most.

What it does: the NUMEN is the key. A NUMEN not yet known creates an account
(checked by ``services.clean_new_account``, the rules of
``check_create_account``); a known one updates the names, role,
establishment, UAI code, function and quota of that account, never its identifier, address or
password, so running the same file twice changes nothing. A bad line is
rejected whole (with its line number and a French reason) and never leaves
half an account: each line is checked alone before anything is written, each
update runs in its own savepoint, and the new accounts of a batch of
``COMMIT_EVERY`` lines are created together (``services.do_create_accounts``:
a few queries for the batch, not some twenty a person) in one savepoint, which,
if it fails, is rolled back and replayed one line at a time. A file whose header lacks a
required column is rejected whole, before anything is written. A dry run does
all of it inside one transaction rolled back at the end, so the identifiers it
reports are the ones a real run would give.

Decisions: an empty cell never erases anything (an import may come from a
partial export); the secondary address is only filled in when the account has
none (the owner may have set and verified another); the quota column is in
mebibytes ("Mo", 1 Mo = 1 048 576 octets, like ``DEFAULT_QUOTA``); the raw line
kept in a rejection has its NUMEN masked, since reports get pasted into
tickets and e-mails.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import IntegrityError, transaction

from academail.accounts.models import Account, Function, Role
from academail.accounts.naming import ascii_fold
from academail.accounts.numen import NumenError, validate_numen
from academail.accounts.secrets import mask_numen, numen_hash
from academail.accounts.services import (
    AccountError,
    NewAccount,
    check_create_new_account,
    check_update_account,
    clean_new_account,
    clean_secondary_address,
    do_create_accounts,
)

MEBIBYTE = 1024 * 1024
COMMIT_EVERY = 200

Source = str | os.PathLike[str] | bytes

# Folded header name -> field. Folding (``ascii_fold``) removes case, accents,
# spaces, underscores and hyphens: "Adresse de secours" and "adresse_secours"
# are the same column.
_COLUMN_NAMES: dict[str, str] = {
    **dict.fromkeys(["nom", "nomdefamille", "nomdusage", "lastname", "surname", "familyname"], "last_name"),
    **dict.fromkeys(["prenom", "firstname", "givenname"], "first_name"),
    **dict.fromkeys(["numen"], "numen"),
    **dict.fromkeys(["role", "profil", "profile"], "role"),
    **dict.fromkeys(["etablissement", "establishment", "school"], "establishment"),
    **dict.fromkeys(
        [
            "adressesecours", "adressedesecours", "courrielsecours", "courrieldesecours",
            "emailsecours", "mailsecours", "secondaryaddress", "secondaryemail",
            "recoveryaddress", "recoveryemail",
        ],
        "secondary_address",
    ),
    **dict.fromkeys(["quotamo", "quota", "quotamb", "quotamio", "quotamib"], "quota_mb"),
    **dict.fromkeys(["uai", "rne", "codeuai", "coderne"], "uai"),
    **dict.fromkeys(["fonction", "function", "poste"], "function"),
}
REQUIRED_FIELDS = ("last_name", "first_name", "numen")
# The column name shown in messages, in French.
_FIELD_LABELS = {
    "last_name": "nom",
    "first_name": "prenom",
    "numen": "numen",
    "role": "role",
    "establishment": "etablissement",
    "secondary_address": "adresse_secours",
    "quota_mb": "quota_mo",
    "uai": "uai",
    "function": "fonction",
}

# Folded function names (the directory's words) -> Account.function.
_FUNCTION_NAMES: dict[str, str] = {
    **dict.fromkeys(["enseignant", "enseignante", "professeur", "teacher"], str(Function.TEACHER)),
    **dict.fromkeys(
        ["chefdetablissement", "principal", "principale", "proviseur", "proviseure", "directeur", "directrice"],
        str(Function.PRINCIPAL),
    ),
    **dict.fromkeys(["adjoint", "adjointe", "principaladjoint", "proviseuradjoint", "deputy"], str(Function.DEPUTY)),
    **dict.fromkeys(["cpe", "conseillerprincipaldeducation"], str(Function.CPE)),
    **dict.fromkeys(["administratif", "administrative", "gestionnaire"], str(Function.ADMINISTRATIVE)),
}

_ROLE_NAMES: dict[str, str] = {
    **dict.fromkeys(["personnel", "staff", "agent", "enseignant"], str(Role.STAFF)),
    **dict.fromkeys(["secretariat", "secretary", "secretaire"], str(Role.SECRETARIAT)),
    **dict.fromkeys(
        ["assistance", "support", "agentdassistance", "helpdesk"], str(Role.SUPPORT)
    ),
    **dict.fromkeys(["administrateur", "admin", "administrator"], str(Role.ADMIN)),
}

_DELIMITERS = (";", ",", "\t")


@dataclass(frozen=True)
class RejectedLine:
    line_number: int
    reason_fr: str
    raw: str


@dataclass(frozen=True)
class CreatedLine:
    line_number: int
    identifier: str
    address: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedLine] = field(default_factory=list)
    created_accounts: list[CreatedLine] = field(default_factory=list)
    # Set when the whole file was refused; then nothing was imported.
    file_error: str | None = None
    # Things worth knowing that did not stop anything (ignored columns...).
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    encoding: str = ""
    delimiter: str = ""

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.rejected


class _LineRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- reading the file -------------------------------------------------------------


def _read_bytes(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source
    return Path(source).read_bytes()


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) for the encodings spreadsheets write."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # Bytes cp1252 leaves undefined (0x81, 0x8D...): Latin-1 maps every byte.
        return data.decode("latin-1"), "latin-1"


def sniff_delimiter(text: str) -> str:
    """The delimiter the header row uses most (``;`` on a tie: French Excel)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return max(_DELIMITERS, key=lambda d: (header.count(d), d == ";"))


def _map_header(header: list[str], report: ImportReport) -> dict[str, int] | None:
    """Field -> column index; ``None`` (and ``report.file_error``) if unusable."""
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        folded = ascii_fold(name)
        if not folded:
            continue
        field_name = _COLUMN_NAMES.get(folded)
        if field_name is None:
            report.warnings.append(f"Colonne « {name.strip()} » inconnue : ignorée.")
            continue
        if field_name in columns:
            report.file_error = (
                f"La colonne « {_FIELD_LABELS[field_name]} » apparaît deux fois dans l'en-tête "
                f"(colonnes {columns[field_name] + 1} et {index + 1}). Aucun compte n'a été importé."
            )
            return None
        columns[field_name] = index
    missing = [_FIELD_LABELS[f] for f in REQUIRED_FIELDS if f not in columns]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        report.file_error = (
            f"Colonne{plural} obligatoire{plural} absente{plural} de la première ligne : "
            f"{', '.join(missing)}. La première ligne doit nommer les colonnes "
            "(nom, prenom, numen, et au choix role, etablissement, adresse_secours, quota_mo). "
            "Aucun compte n'a été importé."
        )
        return None
    return columns


# --- one line ---------------------------------------------------------------------


def _parse_choice(value: str, names: dict[str, str], refusal: str) -> str | None:
    """A role or function cell, matched folded (``ascii_fold``); None when empty."""
    if not value.strip():
        return None
    choice = names.get(ascii_fold(value))
    if choice is None:
        raise _LineRejected(refusal.format(value=value.strip()))
    return choice


def _parse_role(value: str) -> str | None:
    return _parse_choice(
        value, _ROLE_NAMES, "Rôle « {value} » inconnu : indiquez personnel, secretariat, assistance ou administrateur."
    )


def _parse_function(value: str) -> str | None:
    return _parse_choice(
        value, _FUNCTION_NAMES,
        "Fonction « {value} » inconnue : indiquez enseignant, chef d'établissement, adjoint, CPE ou administratif.",
    )


def _parse_quota(value: str) -> int | None:
    text = value.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        megabytes = Decimal(text)
    except InvalidOperation:
        raise _LineRejected(
            f"Quota « {value.strip()} » illisible : indiquez un nombre de mégaoctets (ex. 2048)."
        ) from None
    if not megabytes.is_finite() or megabytes <= 0:
        raise _LineRejected(f"Quota « {value.strip()} » invalide : il doit être positif.")
    return int(megabytes * MEBIBYTE)


def _cell(row: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def _masked_raw(row: list[str], columns: dict[str, int], delimiter: str) -> str:
    cells = list(row)
    index = columns.get("numen")
    if index is not None and index < len(cells) and cells[index].strip():
        cells[index] = mask_numen(cells[index].strip())
    return delimiter.join(cells)


# Roles a secretariat may give through its console's import.
SCOPED_ROLES = frozenset({str(Role.STAFF), str(Role.SECRETARIAT)})


def _check_scope(
    scope: list[str], establishment: str | None, role: str | None, account: Account | None
) -> str:
    """A secretariat imports for its own établissement(s) only: the line's
    établissement (or its only one, when the column is empty) must be one of
    them, an existing person must already belong to one, and no line may give
    a role beyond staff or secretariat. Returns the établissement to use."""
    if establishment is None:
        if len(scope) != 1:
            raise _LineRejected("Indiquez l'établissement de cette personne (colonne « etablissement »).")
        establishment = scope[0]
    if establishment not in scope:
        raise _LineRejected(f"L'établissement « {establishment} » n'est pas le vôtre : ligne ignorée.")
    if role is not None and role not in SCOPED_ROLES:
        raise _LineRejected("Ce rôle ne peut être donné que par un administrateur.")
    if account is not None and (account.establishment not in scope or account.role not in SCOPED_ROLES):
        raise _LineRejected(
            "Cette personne est rattachée à un autre établissement : demandez son transfert à l'administrateur."
        )
    return establishment


@dataclass(frozen=True)
class _Line:
    """One data line, its cells read and checked, before any query."""

    number: int
    row: list[str]
    values: dict[str, str]
    numen: str
    numen_hash: str
    role: str | None
    quota: int | None
    establishment: str | None
    uai: str | None
    function: str | None


def _read_line(row: list[str], columns: dict[str, int], line_number: int) -> _Line:
    """The cells of one line, checked; raises ``_LineRejected`` or ``NumenError``."""
    values = {name: _cell(row, columns, name) for name in _FIELD_LABELS}
    for name in REQUIRED_FIELDS:
        if not values[name]:
            raise _LineRejected(f"La colonne « {_FIELD_LABELS[name]} » est vide.")
    numen = validate_numen(values["numen"])
    return _Line(
        number=line_number,
        row=row,
        values=values,
        numen=numen,
        numen_hash=numen_hash(numen),
        role=_parse_role(values["role"]),
        quota=_parse_quota(values["quota_mb"]),
        establishment=values["establishment"] or None,
        uai=values["uai"] or None,  # an empty cell never erases (module docstring)
        function=_parse_function(values["function"]),
    )


def _new_account(line: _Line, establishment: str | None) -> NewAccount:
    """The account a line creates, checked by the one set of rules
    (``services.clean_new_account``); raises its errors."""
    return clean_new_account(
        first_name=line.values["first_name"],
        last_name=line.values["last_name"],
        numen=line.numen,
        role=line.role or str(Role.STAFF),
        establishment=establishment or "",
        secondary_address=line.values["secondary_address"],
        quota_bytes=line.quota,
        uai=line.uai or "",
        function=line.function or "",
    )


def _update(account: Account, line: _Line, establishment: str | None, report: ImportReport) -> None:
    """Update the account a line names. Caller holds a savepoint."""
    changed = check_update_account(
        account,
        first_name=line.values["first_name"],
        last_name=line.values["last_name"],
        role=line.role,
        establishment=establishment,
        quota_bytes=line.quota,
        uai=line.uai,
        function=line.function,
    )
    secondary = clean_secondary_address(line.values["secondary_address"])
    if secondary and not account.secondary_address:
        account.secondary_address = secondary
        account.secondary_verified = False
        account.save(update_fields=["secondary_address", "secondary_verified", "updated_at"])
        changed.append("secondary_address")
    if changed:
        report.updated += 1
    else:
        report.unchanged += 1


# --- the whole file -----------------------------------------------------------------


def import_accounts(
    source: Source,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    scope: list[str] | None = None,
) -> ImportReport:
    """Import the accounts of a CSV file (a path or its bytes); see the module
    docstring for the format and the rules. ``progress(done, total)`` is called
    after each data line. ``scope`` (the secretariat's console): the
    établissements the importer may touch (see ``_check_scope``). Never raises
    for bad content: problems are in the report (``file_error`` for the whole
    file, ``rejected`` per line)."""
    report = ImportReport(dry_run=dry_run)
    text, report.encoding = decode(_read_bytes(source))
    if not text.strip():
        report.file_error = "Le fichier est vide. Aucun compte n'a été importé."
        return report
    report.delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=report.delimiter)
    try:
        header = next(reader)
        rows: list[tuple[int, list[str]]] = []
        previous_end = reader.line_num
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((previous_end + 1, row))
            previous_end = reader.line_num
    except csv.Error as exc:
        report.file_error = (
            f"Le fichier n'est pas un CSV lisible (ligne {reader.line_num} : {exc}). "
            "Aucun compte n'a été importé."
        )
        return report
    columns = _map_header(header, report)
    if columns is None:
        return report

    if not dry_run:
        # No transaction around the whole file: each line commits on its own, so
        # a long import does not hold the write lock delivery needs, and a run
        # cut short is finished by running it again.
        _import_rows(rows, columns, len(header), report, progress, scope)
        return report
    with transaction.atomic():
        _import_rows(rows, columns, len(header), report, progress, scope)
        transaction.set_rollback(True)
    return report


def _import_rows(
    rows: list[tuple[int, list[str]]],
    columns: dict[str, int],
    width: int,
    report: ImportReport,
    progress: Callable[[int, int], None] | None,
    scope: list[str] | None = None,
) -> None:
    # NUMEN hash -> line number, to refuse the same person twice in one file.
    seen: dict[str, int] = {}
    for first in range(0, len(rows), COMMIT_EVERY):
        # One commit per COMMIT_EVERY lines: a commit per line made 60,000
        # people wait for 60,000 fsyncs (bench/load_academie.py). A crash
        # loses at most the lines since the last commit, and a re-run creates
        # only those.
        with transaction.atomic():
            _import_batch(rows[first:first + COMMIT_EVERY], columns, width, report, scope, seen)
        if progress is not None:
            for done in range(first + 1, min(first + COMMIT_EVERY, len(rows)) + 1):
                progress(done, len(rows))
    # A batch that fell back to one line at a time reported its creations
    # and rejections after the others: the report follows the file.
    report.rejected.sort(key=lambda rejected: rejected.line_number)
    report.created_accounts.sort(key=lambda created: created.line_number)


# What rejects one line, its reason being ``_reason``.
_LINE_ERRORS = (_LineRejected, NumenError, AccountError, IntegrityError, ValueError)


def _reason(exc: Exception) -> str:
    if isinstance(exc, _LineRejected):
        return exc.reason
    if isinstance(exc, IntegrityError):
        return "Conflit avec un compte créé au même moment : relancez l'import."
    # NumenError, AccountError, and ValueError for a name without usable
    # letters (accounts.naming): French sentences.
    return str(exc)


def _import_batch(
    batch: list[tuple[int, list[str]]],
    columns: dict[str, int],
    width: int,
    report: ImportReport,
    scope: list[str] | None,
    seen: dict[str, int],
) -> None:
    """The lines of one commit: each is read and checked alone (a bad line
    is rejected alone, with its reason), their accounts looked up with one
    query, the known ones updated each in its own savepoint, the new ones
    created together (``_create``). Caller holds the transaction."""
    lines: list[_Line] = []
    for line_number, row in batch:
        try:
            if any(cell.strip() for cell in row[width:]):
                raise _LineRejected(
                    f"La ligne a {len(row)} colonnes alors que l'en-tête n'en nomme que "
                    f"{width} : un « {report.delimiter} » en trop dans un champ ?"
                )
            numen_cell = _cell(row, columns, "numen")
            if numen_cell:
                key = numen_hash(validate_numen(numen_cell))
                if key in seen:
                    raise _LineRejected(
                        f"Ce NUMEN figure déjà ligne {seen[key]} du fichier : "
                        "ligne ignorée (une personne, une ligne)."
                    )
                seen[key] = line_number
            lines.append(_read_line(row, columns, line_number))
        except _LINE_ERRORS as exc:
            _reject(report, line_number, _reason(exc), row, columns)

    known = Account.objects.in_bulk([line.numen_hash for line in lines], field_name="numen_hash")
    new: list[tuple[_Line, NewAccount]] = []
    for line in lines:
        account = known.get(line.numen_hash)
        try:
            establishment = line.establishment
            if scope is not None:
                establishment = _check_scope(scope, establishment, line.role, account)
            if account is None:
                new.append((line, _new_account(line, establishment)))
            else:
                with transaction.atomic():
                    _update(account, line, establishment, report)
        except _LINE_ERRORS as exc:
            _reject(report, line.number, _reason(exc), line.row, columns)
    _create(new, columns, report)


def _create(new: list[tuple[_Line, NewAccount]], columns: dict[str, int], report: ImportReport) -> None:
    """Create the accounts of checked lines, all in one savepoint
    (``services.do_create_accounts``). When that fails (an account created
    meanwhile took a NUMEN or a name: IntegrityError; or any line's own
    error), it is rolled back and each line is created alone in its own
    savepoint (``services.check_create_new_account``), so only the line at
    fault is rejected, with its reason, and the others get the identifiers
    they would have had anyway."""
    if not new:
        return
    try:
        with transaction.atomic():
            accounts = do_create_accounts([account for _, account in new])
    except _LINE_ERRORS:
        for line, account in new:
            try:
                created = check_create_new_account(account)
            except _LINE_ERRORS as exc:
                _reject(report, line.number, _reason(exc), line.row, columns)
            else:
                _created(report, line, created)
        return
    for (line, _), created in zip(new, accounts, strict=True):
        _created(report, line, created)


def _created(report: ImportReport, line: _Line, account: Account) -> None:
    report.created += 1
    report.created_accounts.append(CreatedLine(line.number, account.identifier, account.address))


def _reject(
    report: ImportReport, line_number: int, reason: str, row: list[str], columns: dict[str, int]
) -> None:
    report.rejected.append(
        RejectedLine(line_number, reason, _masked_raw(row, columns, report.delimiter))
    )


# --- the report, in French ----------------------------------------------------------


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n <= 1 else plural}"


def format_report(report: ImportReport) -> str:
    """The report as French text, for the command line and the secretariat's page."""
    lines: list[str] = []
    if report.dry_run:
        lines.append("Simulation : aucune modification n'a été enregistrée.")
    if report.file_error is not None:
        lines.append(f"Fichier refusé. {report.file_error}")
        lines.extend(report.warnings)
        return "\n".join(lines)
    lines.append(
        ", ".join(
            [
                _count(report.created, "compte créé", "comptes créés"),
                _count(report.updated, "mis à jour", "mis à jour"),
                _count(report.unchanged, "inchangé", "inchangés"),
                _count(len(report.rejected), "ligne rejetée", "lignes rejetées"),
            ]
        )
        + "."
    )
    lines.extend(report.warnings)
    if report.created_accounts:
        lines.append("")
        lines.append("Comptes créés :" if not report.dry_run else "Comptes qui seraient créés :")
        lines.extend(
            f"  ligne {c.line_number} : {c.identifier} <{c.address}>"
            for c in report.created_accounts
        )
    if report.rejected:
        lines.append("")
        lines.append("Lignes rejetées :")
        for rejected in report.rejected:
            lines.append(f"  ligne {rejected.line_number} : {rejected.reason_fr}")
            lines.append(f"    {rejected.raw}")
    return "\n".join(lines)
