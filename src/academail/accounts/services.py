"""Account services: creating an account (identifier, address, NUMEN, mailboxes),
finding one by NUMEN or by address, and the one sign-in check
(``check_sign_in`` / ``authenticate``) with its throttling, journal and
new-device detection.

Web, IMAP, SMTP and the import all come through here; none of them writes the
``Account`` table directly. Identifiers and addresses are stored lower-cased (see
``accounts.models``), so lower-casing the input and comparing for equality is a
case-insensitive lookup that uses the unique indexes on every database.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, models, transaction

from academail.accounts import apppasswords, authcache, journal, throttle
from academail.accounts.devices import describe_client, device_key, do_note_device, known_device
from academail.accounts.lazycommit import lazy_commit
from academail.accounts.models import (
    UAI_PATTERN,
    Account,
    Alias,
    AppPassword,
    Device,
    EventKind,
    Function,
    Kind,
    Role,
    Status,
)
from academail.accounts.naming import (
    base_identifier,
    base_local_part,
    candidates,
    name_key,
    next_free,
)
from academail.accounts.notices import send_new_device_alert
from academail.accounts.numen import validate_numen
from academail.accounts.secrets import encrypt_numen, numen_hash
from academail.metrics import count_throttled
from academail.store.mailboxes import do_provision_account, do_provision_new_accounts

# Who still gets mail delivered. A pending account (created, not yet activated
# by its owner) and a suspended one (locked for a while, e.g. after an incident)
# keep receiving: the mail is there when the person gets access, and senders get
# no bounce for a temporary state. A disabled account (person gone) bounces, so
# senders learn the address no longer works.
# (str() because mypy, without Django stubs, sees a choice as its (value, label) tuple.)
RECEIVING_STATUSES: frozenset[str] = frozenset(
    str(status) for status in (Status.PENDING, Status.ACTIVE, Status.SUSPENDED)
)

_IDENTIFIER_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_NAME_MAX_LENGTH = 150
# How many homonym candidates one query checks; beyond that, one query per name.
_CANDIDATE_BATCH = 32
# Candidates of every name in a batch's first query (``_pick_free``).
_FIRST_CANDIDATES = 4
# Values per IN query (SQLite's bound on parameters is 32,766).
_IN_CHUNK = 5000
_CREATE_ATTEMPTS = 3


class AccountError(ValueError):
    """A request about an account that cannot be honoured; ``str()`` is a French
    sentence that can be shown to the person who made it."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


# --- validation helpers -----------------------------------------------------


def _clean_name(value: str, label: str, field: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise AccountError(f"Le {label} est obligatoire.", field=field)
    if len(cleaned) > _NAME_MAX_LENGTH:
        raise AccountError(
            f"Le {label} dépasse {_NAME_MAX_LENGTH} caractères.", field=field
        )
    return cleaned


def _clean_role(role: str) -> str:
    if role not in Role.values:
        raise AccountError(f"Rôle inconnu : « {role} ».", field="role")
    return str(role)


def _clean_status(status: str) -> str:
    if status not in Status.values:
        raise AccountError(f"Statut inconnu : « {status} ».", field="status")
    return str(status)


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2]


def clean_secondary_address(address: str) -> str:
    """Lower-cased, checked secondary (recovery) address, or ``""``.

    It must be outside the académie's domains: it is where a person who lost
    access to their academic mailbox receives the recovery link."""
    cleaned = address.strip().lower()
    if not cleaned:
        return ""
    try:
        validate_email(cleaned)
    except ValidationError:
        raise AccountError(
            f"L'adresse de secours « {cleaned} » n'est pas une adresse électronique valide.",
            field="secondary_address",
        ) from None
    if _domain_of(cleaned) in settings.MAIL_DOMAINS:
        raise AccountError(
            "L'adresse de secours doit être une adresse personnelle, extérieure à la "
            f"messagerie académique (« {cleaned} » ne convient pas).",
            field="secondary_address",
        )
    return cleaned


def _clean_quota(quota_bytes: int | None) -> int:
    if quota_bytes is None:
        return int(settings.DEFAULT_QUOTA)
    if quota_bytes <= 0:
        raise AccountError("Le quota doit être un nombre positif.", field="quota_bytes")
    return int(quota_bytes)


def _clean_identifier(identifier: str) -> str:
    cleaned = identifier.strip().lower()
    if not _IDENTIFIER_RE.match(cleaned):
        raise AccountError(
            f"L'identifiant « {identifier} » n'est pas valide : 1 à 64 caractères parmi "
            "les lettres minuscules sans accent, les chiffres, le point, le tiret et le "
            "tiret bas, en commençant par une lettre ou un chiffre.",
            field="identifier",
        )
    return cleaned


def clean_own_address(address: str) -> str:
    """Lower-cased, checked address in one of ``settings.MAIL_DOMAINS`` (an
    account's main address or an alias). Does not check that it is free."""
    cleaned = address.strip().lower()
    try:
        validate_email(cleaned)
    except ValidationError:
        raise AccountError(
            f"L'adresse « {address} » n'est pas une adresse électronique valide.",
            field="address",
        ) from None
    if _domain_of(cleaned) not in settings.MAIL_DOMAINS:
        raise AccountError(
            f"L'adresse « {cleaned} » doit appartenir à un domaine de l'académie "
            f"({', '.join(settings.MAIL_DOMAINS)}).",
            field="address",
        )
    return cleaned


# --- existence checks ---------------------------------------------------------


def identifier_taken(identifier: str) -> bool:
    return Account.objects.filter(identifier=identifier.strip().lower()).exists()


def address_taken(address: str) -> bool:
    """True if ``address`` is the main address of an account or an alias."""
    cleaned = address.strip().lower()
    return (
        Account.objects.filter(address=cleaned).exists()
        or Alias.objects.filter(address=cleaned).exists()
    )


def _existing(fields: Iterable[tuple[type[models.Model], str]], values: list[str]) -> set[str]:
    found: set[str] = set()
    for model, field in fields:
        for start in range(0, len(values), _IN_CHUNK):
            found.update(
                model._default_manager.filter(**{f"{field}__in": values[start:start + _IN_CHUNK]})
                .values_list(field, flat=True)
            )
    return found


def _pick_free(
    bases: Sequence[str],
    to_value: Callable[[str], str],
    fields: list[tuple[type[models.Model], str]],
    max_length: int,
) -> list[str]:
    """For each of ``bases`` in turn, ``to_value`` of its first free candidate,
    ``next_free`` over the database and over the values picked for the bases
    before it (``to_value`` turns a candidate into the stored value, e.g. a
    local part into an address): two homonyms of one batch get ``jmartin``
    and ``jmartin1``, as if created one after the other.

    Queries, whatever the number of bases: one indexed ``IN`` query per
    column for the first ``_FIRST_CANDIDATES`` candidates of every base (most
    names have fewer homonyms); one more for the first ``_CANDIDATE_BATCH``
    of the bases that need more; further candidates one at a time (only a
    name with more than 32 homonyms gets there). An import's batch of 200
    people asks for some 800 values, not 6,400."""
    checked: dict[str, str] = {}  # candidate -> value, looked up in the database
    known: set[str] = set()  # values taken, in the database or by this batch

    def look_up(count: int, of: Iterable[str]) -> None:
        wanted: dict[str, str] = {}
        for base in of:
            for name in islice(candidates(base, max_length=max_length), count):
                if name not in checked:
                    wanted[name] = to_value(name)
        checked.update(wanted)
        known.update(_existing(fields, list(dict.fromkeys(wanted.values()))))

    wanted_per_base = Counter(bases)
    look_up(_FIRST_CANDIDATES, wanted_per_base)
    look_up(_CANDIDATE_BATCH, [
        base for base, wanted in wanted_per_base.items()
        if wanted + sum(checked[name] in known for name in islice(
            candidates(base, max_length=max_length), _FIRST_CANDIDATES)) > _FIRST_CANDIDATES
    ])

    def taken(name: str) -> bool:
        value = checked.get(name) or to_value(name)
        if value in known:
            return True
        if name in checked:
            return False
        return any(
            model._default_manager.filter(**{field: value}).exists() for model, field in fields
        )

    picked: list[str] = []
    for base in bases:
        value = to_value(next_free(base, taken, max_length=max_length))
        known.add(value)  # taken from now on, by this batch
        picked.append(value)
    return picked


def _identifiers(bases: Sequence[str]) -> list[str]:
    return _pick_free(bases, lambda name: name, [(Account, "identifier")], max_length=64)


def _addresses(local_bases: Sequence[str]) -> list[str]:
    domain = settings.MAIL_DOMAINS[0]
    return _pick_free(
        local_bases,
        lambda local: f"{local}@{domain}",
        [(Account, "address"), (Alias, "address")],
        max_length=64,
    )


def new_identifier(first_name: str, last_name: str) -> str:
    return _identifiers([base_identifier(first_name, last_name)])[0]


def new_address(first_name: str, last_name: str) -> str:
    return _addresses([base_local_part(first_name, last_name)])[0]


# --- creation -------------------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    """An account checked by ``clean_new_account``, not created yet: the
    cleaned fields, the NUMEN (normalised) and its keyed hash, the wanted
    identifier and address if any (``None``: made from the names when
    created), and the bases those are made from."""

    first_name: str
    last_name: str
    role: str
    status: str
    establishment: str
    uai: str
    function: str
    secondary_address: str
    quota_bytes: int
    numen: str | None
    numen_hash: str | None
    identifier: str | None
    address: str | None
    identifier_base: str
    local_part_base: str


def clean_new_account(
    *,
    first_name: str,
    last_name: str,
    numen: str | None,
    role: str = str(Role.STAFF),
    establishment: str = "",
    secondary_address: str = "",
    quota_bytes: int | None = None,
    identifier: str | None = None,
    address: str | None = None,
    status: str = str(Status.PENDING),
    uai: str = "",
    function: str = "",
) -> NewAccount:
    """Every rule on a new account's fields, without a query: see
    ``check_create_account`` for the arguments and the exceptions."""
    first_name = _clean_name(first_name, "prénom", "first_name")
    last_name = _clean_name(last_name, "nom", "last_name")
    role = _clean_role(role)
    status = _clean_status(status)
    establishment = " ".join(establishment.split())
    uai = clean_uai(uai)
    function = _clean_function(function)
    secondary = clean_secondary_address(secondary_address)
    quota = _clean_quota(quota_bytes)
    wanted_identifier = _clean_identifier(identifier) if identifier is not None else None
    wanted_address = clean_own_address(address) if address is not None else None
    numen_value = validate_numen(numen) if numen is not None and numen.strip() else None
    return NewAccount(
        first_name=first_name,
        last_name=last_name,
        role=role,
        status=status,
        establishment=establishment,
        uai=uai,
        function=function,
        secondary_address=secondary,
        quota_bytes=quota,
        numen=numen_value,
        numen_hash=numen_hash(numen_value) if numen_value else None,
        identifier=wanted_identifier,
        address=wanted_address,
        # Raised here, before any query, so a name without letters is reported as such.
        identifier_base=base_identifier(first_name, last_name),
        local_part_base=base_local_part(first_name, last_name),
    )


def check_create_account(
    *,
    first_name: str,
    last_name: str,
    numen: str | None,
    role: str = str(Role.STAFF),
    establishment: str = "",
    secondary_address: str = "",
    quota_bytes: int | None = None,
    identifier: str | None = None,
    address: str | None = None,
    status: str = str(Status.PENDING),
    uai: str = "",
    function: str = "",
) -> Account:
    """Validate, then create an account with its mailboxes and quota row.

    When ``identifier`` / ``address`` are not given they are made from the names
    (``accounts.naming``), numbered past any existing identifier, address or
    alias. Given ones are used as they are, and refused if taken. The NUMEN is
    stored encrypted and as a keyed hash, never in clear; a NUMEN already held
    by another account is refused. The password is unusable until the owner
    activates the account.

    Raises ``NumenError`` for a malformed NUMEN, ``AccountError`` for anything
    else the caller can fix, ``ValueError`` (French message) when a name has no
    usable letter. Everything, including ``store.do_provision_new_accounts``, runs in
    one transaction: on error, nothing is left behind.
    """
    return check_create_new_account(
        clean_new_account(
            first_name=first_name, last_name=last_name, numen=numen, role=role,
            establishment=establishment, secondary_address=secondary_address,
            quota_bytes=quota_bytes, identifier=identifier, address=address,
            status=status, uai=uai, function=function,
        )
    )


def check_create_new_account(new: NewAccount) -> Account:
    """``check_create_account`` of an account already cleaned
    (``clean_new_account``): refuses a NUMEN, identifier or address already
    held (``AccountError``), then ``do_create_accounts``. One transaction."""
    with transaction.atomic():
        for attempt in range(_CREATE_ATTEMPTS):
            if new.numen_hash is not None and Account.objects.filter(numen_hash=new.numen_hash).exists():
                raise AccountError("Ce NUMEN est déjà attribué à un autre compte.", field="numen")
            if new.identifier is not None and identifier_taken(new.identifier):
                raise AccountError(
                    f"L'identifiant « {new.identifier} » est déjà utilisé.", field="identifier"
                )
            if new.address is not None and address_taken(new.address):
                raise AccountError(
                    f"L'adresse « {new.address} » est déjà utilisée.", field="address"
                )
            try:
                # A savepoint: a concurrent creation that took the same name
                # (possible on PostgreSQL under READ COMMITTED) makes us pick again.
                with transaction.atomic():
                    return do_create_accounts([new])[0]
            except IntegrityError:
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise
    raise AssertionError("unreachable")


def do_create_accounts(new: Sequence[NewAccount]) -> list[Account]:
    """Create accounts cleaned by ``clean_new_account``, with their folders
    and quota rows, in a handful of queries whatever their number (the
    import's batches): the identifiers and addresses not given are picked for
    all of them at once (``_pick_free``: homonyms numbered in the order given,
    past every existing identifier, address and alias), the rows inserted
    together, then ``store.do_provision_new_accounts``. Returns the accounts
    in the order given.

    Preconditions: inside a transaction, and the caller has checked that no
    NUMEN, wanted identifier or wanted address is already held
    (``check_create_new_account``; the import looks the NUMENs up by the
    hundred). A conflict with a creation committed meanwhile raises
    ``IntegrityError``: the caller's savepoint rolls back and it tries again,
    or one account at a time."""
    made = iter(_identifiers([n.identifier_base for n in new if n.identifier is None]))
    identifiers = [n.identifier if n.identifier is not None else next(made) for n in new]
    made = iter(_addresses([n.local_part_base for n in new if n.address is None]))
    addresses = [n.address if n.address is not None else next(made) for n in new]
    accounts = []
    for n, identifier, address in zip(new, identifiers, addresses, strict=True):
        account = Account(
            identifier=identifier,
            address=address,
            first_name=n.first_name,
            last_name=n.last_name,
            numen_ciphertext=encrypt_numen(n.numen) if n.numen else None,
            numen_hash=n.numen_hash,
            secondary_address=n.secondary_address,
            role=n.role,
            status=n.status,
            establishment=n.establishment,
            uai=n.uai,
            function=n.function,
            quota_bytes=n.quota_bytes,
        )
        account.set_unusable_password()
        account.normalize_stored_fields()  # what save() would do
        accounts.append(account)
    Account.objects.bulk_create(accounts)
    do_provision_new_accounts([account.pk for account in accounts])
    return accounts


def check_create_functional_account(
    *, name: str, address: str, establishment: str = "", quota_bytes: int | None = None
) -> Account:
    """A functional mailbox's account (issue 19): active at once, with no
    password of its own (its members sign in as themselves and reach it
    through their rights, ``store.acl``), the identifier being the address's
    local part. Raises ``AccountError`` for a name, an address or an
    identifier that cannot be used. One transaction, mailboxes included."""
    name = _clean_name(name, "nom", "name")
    cleaned = clean_own_address(address)
    identifier = _clean_identifier(cleaned.split("@", 1)[0])
    with transaction.atomic():
        if address_taken(cleaned):
            raise AccountError(f"L'adresse « {cleaned} » est déjà utilisée.", field="address")
        if identifier_taken(identifier):
            raise AccountError(f"L'identifiant « {identifier} » est déjà utilisé.", field="address")
        account = Account(
            identifier=identifier, address=cleaned, first_name="", last_name=name, role=Role.STAFF,
            status=Status.ACTIVE, kind=Kind.FUNCTIONAL, establishment=" ".join(establishment.split()),
            quota_bytes=_clean_quota(quota_bytes),
        )
        account.set_unusable_password()
        account.save()
        do_provision_account(account)
        return account


_UAI = re.compile(UAI_PATTERN)


def clean_uai(value: str) -> str:
    """An établissement's UAI code (RNE): seven characters (three digits of the
    département, then four) and a check letter, upper-cased; "" stays "".
    Raises AccountError (French) otherwise."""
    cleaned = value.strip().upper()
    if cleaned and not _UAI.fullmatch(cleaned):
        raise AccountError(
            f"« {value.strip()} » n'est pas un code UAI : sept chiffres et une lettre (ex. 0341234X).", field="uai"
        )
    return cleaned


def _clean_function(value: str) -> str:
    cleaned = value.strip().lower()
    if cleaned not in Function.values:
        raise AccountError(f"Fonction inconnue : « {value.strip()} ».", field="function")
    return cleaned


def check_add_alias(account: Account, address: str) -> str:
    """Give ``account`` another address of the académie (mail to it arrives in
    the same mailbox). Raises AccountError (French) when the address is not
    the académie's or is already someone's. Returns the cleaned address."""
    cleaned = clean_own_address(address)
    with transaction.atomic():
        if address_taken(cleaned):
            raise AccountError(f"L'adresse « {cleaned} » est déjà utilisée.", field="address")
        Alias.objects.create(account=account, address=cleaned)
    return cleaned


def check_update_account(
    account: Account,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    role: str | None = None,
    establishment: str | None = None,
    quota_bytes: int | None = None,
    uai: str | None = None,
    function: str | None = None,
) -> list[str]:
    """Change the given fields (``None`` leaves a field as it is) and return the
    names of the fields that actually changed; saves only if there are some.

    Never changes the identifier, the address or the NUMEN: people and other
    systems already know them."""
    wanted: dict[str, object] = {}
    if first_name is not None:
        wanted["first_name"] = _clean_name(first_name, "prénom", "first_name")
    if last_name is not None:
        wanted["last_name"] = _clean_name(last_name, "nom", "last_name")
    if role is not None:
        wanted["role"] = _clean_role(role)
    if establishment is not None:
        wanted["establishment"] = " ".join(establishment.split())
    if quota_bytes is not None:
        wanted["quota_bytes"] = _clean_quota(quota_bytes)
    if uai is not None:
        wanted["uai"] = clean_uai(uai)
    if function is not None:
        wanted["function"] = _clean_function(function)
    changed = [name for name, value in wanted.items() if getattr(account, name) != value]
    for name in changed:
        setattr(account, name, wanted[name])
    if changed:
        account.save(update_fields=[*changed, "updated_at"])
    if "role" in changed:
        from academail.accounts.totp import do_check_role_change

        do_check_role_change(account)
    return changed


# --- lookups --------------------------------------------------------------------


def find_by_numen(numen: str) -> Account | None:
    """The account holding this NUMEN, by its keyed hash (one indexed query).

    Raises ``NumenError`` when ``numen`` is malformed, so a form can show the
    precise typo rather than "not found"."""
    return Account.objects.filter(numen_hash=numen_hash(validate_numen(numen))).first()


def resolve_address(address: str) -> Account | None:
    """The account that receives mail for ``address`` (main address, then alias),
    or ``None``. Case-insensitive (RFC 5321 §2.4 allows it, and every
    institutional system does it). Only accounts in ``RECEIVING_STATUSES``: a
    disabled account does not receive mail, so the sender gets a bounce."""
    cleaned = address.strip().lower()
    if not cleaned:
        return None
    account = Account.objects.filter(address=cleaned, status__in=RECEIVING_STATUSES).first()
    if account is not None:
        return account
    alias = (
        Alias.objects.select_related("account")
        .filter(address=cleaned, account__status__in=RECEIVING_STATUSES)
        .first()
    )
    return alias.account if alias is not None else None



def resolve_addresses(addresses: Iterable[str]) -> dict[str, int]:
    """``resolve_address`` for many addresses at once (a circular's RCPTs):
    {cleaned address: account id} for those that resolve, in at most two
    queries whatever their number. Same rules: case-insensitive, the main
    address before an alias, only accounts in ``RECEIVING_STATUSES``."""
    cleaned = {a.strip().lower() for a in addresses} - {""}
    if not cleaned:
        return {}
    owners: dict[str, int] = dict(
        Account.objects.filter(address__in=cleaned, status__in=RECEIVING_STATUSES).values_list("address", "pk")
    )
    if cleaned - owners.keys():
        owners.update(
            Alias.objects.filter(
                address__in=cleaned - owners.keys(), account__status__in=RECEIVING_STATUSES
            ).values_list("address", "account_id")
        )
    return owners


def staff_named(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The full name of a staff member (an account that receives mail)
    whose first and last names are one of ``pairs`` ((first, last)),
    compared without case, accents, spaces or hyphens (``naming.name_key``:
    "Helene MARTIN" is Hélène Martin), or None: the phishing warning for an
    outside sender using a colleague's name. One query on the name key's
    index, whatever the number of accounts (``staff_named_query`` and
    ``staff_named_in``, which a delivery sends with its other reads in one
    statement: ``protection.spam.screen``)."""
    query = staff_named_query(pairs)
    if query is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(*query)
        return staff_named_in(cursor.fetchall())


def staff_named_query(pairs: Iterable[tuple[str, str]]) -> tuple[str, list[str]] | None:
    """``staff_named``'s query and parameters (columns ``c1`` first name,
    ``c2`` last name, ``c3`` status), or None when no pair can name anyone."""
    keys = sorted({name_key(first, last) for first, last in pairs if first.strip() and last.strip()})
    keys = [k for k in keys if not k.startswith(" ") and not k.endswith(" ")]  # a name with no letter
    if not keys:
        return None
    # The status is checked in ``staff_named_in``, not in SQL: given it,
    # SQLite's planner may walk the status index (every active account)
    # instead of the names'. Raw SQL: compiling the ORM query cost more
    # than running it.
    return (
        f"SELECT first_name AS c1, last_name AS c2, status AS c3 FROM {Account._meta.db_table} "  # noqa: S608
        f"WHERE name_key IN ({','.join(['%s'] * len(keys))}) LIMIT 200",
        keys,
    )


def staff_named_in(rows: Iterable[Sequence[object]]) -> str | None:
    """``staff_named``'s answer from the rows of ``staff_named_query``."""
    for first, last, status in rows:
        if status in RECEIVING_STATUSES:
            return f"{first} {last}"
    return None


# --- authentication ---------------------------------------------------------------


def normalize_identifier(text: str) -> str | None:
    """The identifier as stored, or ``None`` if it cannot be one.

    NFKC folds compatibility look-alikes to their plain form (full-width
    ``ｊｍａｒｔｉｎ`` is ``jmartin``); what is still not ASCII afterwards
    (a Cyrillic ``а`` in ``jmаrtin``) is refused rather than guessed, so two
    different strings never reach the same account."""
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    if not folded or not folded.isascii() or len(folded) > 64:
        return None
    return folded


@dataclass(frozen=True)
class SignInResult:
    """The outcome of ``check_sign_in``. ``account`` is None when refused;
    ``retry_after`` > 0 says the attempt was refused by throttling without the
    password being checked (IMAP answers ``[UNAVAILABLE]``, SMTP ``454``).
    ``slow_down`` > 0 (refusals only) is how many seconds the caller waits
    before sending the refusal: the source address is over its ceiling
    (``throttle.slow_down``)."""

    account: Account | None
    retry_after: int = 0
    slow_down: float = 0.0
    device: Device | None = None
    new_device: bool = False
    app_password: AppPassword | None = None  # the one used (IMAP, SMTP)

    @property
    def throttled(self) -> bool:
        return self.retry_after > 0


def _password_matches(account: Account | None, password: str, protocol: str) -> bool:
    # A functional mailbox has no password: its members sign in as themselves.
    if account is None or not account.has_usable_password() or account.kind == Kind.FUNCTIONAL:
        # Same cost as a real check (Django's ModelBackend does the same).
        authcache.decoy_hash(password)
        return False
    if protocol in apppasswords.MAIL_PROTOCOLS:
        # Mail clients reconnect all day: a remembered success, or Argon2 in the bounded pool.
        return authcache.password_matches(account, password)
    return account.check_password(password)


def _app_password_matches(account: Account | None, password: str, *, protocol: str,
                          remote_addr: str) -> AppPassword | None:
    if account is None or protocol not in apppasswords.MAIL_PROTOCOLS or account.kind == Kind.FUNCTIONAL:
        return None  # never for the web sign-in, never for a functional mailbox
    return apppasswords.match(account, password, protocol=protocol, remote_addr=remote_addr)


def check_sign_in(
    identifier: str,
    password: str,
    *,
    protocol: str,
    remote_addr: str,
    device: str = "",
    client_name: str = "",
    base_url: str = "",
) -> SignInResult:
    """The one sign-in check of the web, IMAP and SMTP submission: throttling,
    password, journal, device recognition and new-device alert.

    ``device`` is the browser id from the device cookie (web); ``client_name``
    the user agent (web), the IMAP ``ID`` name or the SMTP client's name. A
    refusal never says which part was wrong: unknown identifier, wrong password
    and inactive account look the same, and throttling treats known and unknown
    identifiers alike (see ``accounts.throttle``). Never sleeps: a refusal
    carries ``slow_down``, the seconds the caller waits before answering.

    For ``imap`` and ``smtp`` an app password of the account is accepted too
    (``accounts.apppasswords``), and only one when the administrator sets
    ``REQUIRE_APP_PASSWORDS``; the web accepts the account password only, and
    its second factor is the caller's next step (``accounts.totp``).
    """
    ident = normalize_identifier(identifier)
    # ``[:1]``, not ``first()``: the identifier is unique, no ORDER BY to build.
    account = next(iter(Account.objects.filter(identifier=ident)[:1]), None) if ident else None
    key = device_key(protocol, device=device, client_name=client_name, remote_addr=remote_addr)
    known = known_device(account, key) if account is not None else None
    if account is not None and known is not None:
        buckets = [throttle.device_bucket_key(account.pk, key)]
    else:
        raw = unicodedata.normalize("NFKC", identifier).strip().lower()
        buckets = throttle.sign_in_buckets(remote_addr, ident or "#" + raw)
    wait, failed_before = throttle.check(buckets)
    label = describe_client(protocol, client_name)
    if wait:
        count_throttled(protocol)
        if account is not None and protocol in journal.MAIL_PROTOCOLS:
            journal.do_record_refusal(account, journal.FailureReason.THROTTLED, protocol=protocol,
                                      remote_addr=remote_addr, device=label)
        return SignInResult(None, retry_after=wait, slow_down=throttle.slow_down(remote_addr))
    app_password = _app_password_matches(account, password, protocol=protocol, remote_addr=remote_addr)
    reason = ""
    if app_password is not None:
        matches = True
    elif protocol in apppasswords.MAIL_PROTOCOLS and apppasswords.required():
        # The administrator requires app passwords for IMAP/SMTP: the account
        # password fails like any wrong one (same cost, same throttle, same
        # answer); only the owner's journal says it was the account password,
        # so "Configurer mon téléphone" can tell them what to change.
        matches = False
        reason = (journal.FailureReason.APP_PASSWORD_REQUIRED if _password_matches(account, password, protocol)
                  else journal.FailureReason.WRONG_PASSWORD)
    else:
        matches = _password_matches(account, password, protocol)
        reason = journal.FailureReason.WRONG_PASSWORD
    if matches and account is not None and account.status != Status.ACTIVE:
        matches, reason = False, journal.FailureReason.INACTIVE
    if not matches or account is None:
        throttle.record_failure(buckets)
        if account is not None:
            journal.do_record(account, EventKind.SIGNIN_FAILED, protocol=protocol,
                              remote_addr=remote_addr, device=label, detail=reason)
        return SignInResult(None, slow_down=throttle.slow_down(remote_addr))
    if failed_before:
        throttle.record_success(buckets)
    seen = None
    # The device's sighting and the journal line: one commit, which waits for
    # no fsync (``lazy_commit``): a phone reconnecting all day would otherwise
    # pay two disk flushes per LOGIN, most of a cached LOGIN's time.
    with lazy_commit():
        if key:
            seen = do_note_device(account, key, protocol=protocol, label=label, remote_addr=remote_addr,
                                  known=known)
        is_new = seen is not None and seen.is_new
        journal.do_record(account, EventKind.NEW_DEVICE if is_new and seen and seen.had_devices else EventKind.SIGNIN,
                          protocol=protocol, remote_addr=remote_addr, device=label,
                          detail=f"mot de passe d'application « {app_password.name} »" if app_password else "")
    if seen is not None and seen.is_new and seen.had_devices and account.alert_new_device:
        from academail.accounts.lifecycle import not_me_url

        send_new_device_alert(account, seen.device, remote_addr=remote_addr,
                              secure_url=not_me_url(account, base_url or settings.PUBLIC_URL))
    return SignInResult(account, device=seen.device if seen else None, new_device=is_new,
                        app_password=app_password)


def do_note_plaintext_refused(identifier: str, *, protocol: str, remote_addr: str, client_name: str = "") -> None:
    """A mail client sent its credentials without TLS and was refused before
    any check (IMAP LOGINDISABLED): journal it for the account it named, if
    any, so "Configurer mon téléphone" can say "turn on SSL/TLS". Answers
    nothing, so it tells the client nothing about the identifier."""
    ident = normalize_identifier(identifier)
    account = Account.objects.filter(identifier=ident).first() if ident else None
    if account is not None:
        journal.do_record_refusal(account, journal.FailureReason.PLAINTEXT, protocol=protocol,
                                  remote_addr=remote_addr, device=describe_client(protocol, client_name))


def authenticate(
    identifier: str,
    password: str,
    *,
    protocol: str,
    remote_addr: str,
    device: str = "",
    client_name: str = "",
) -> Account | None:
    """The one password check used by the web, IMAP and SMTP submission.

    Returns the account if ``identifier`` (trimmed, case-insensitive, NFKC)
    names an ACTIVE account whose password is ``password`` and throttling lets
    the attempt through; otherwise ``None``, with no hint of which part was
    wrong. An unknown identifier, or an account without a usable password,
    costs one password hash too, so timing does not tell which identifiers
    exist. ``check_sign_in`` says more (seconds to wait when throttled, the
    device); this wrapper keeps the original signature for protocol code.
    """
    return check_sign_in(
        identifier, password, protocol=protocol, remote_addr=remote_addr,
        device=device, client_name=client_name,
    ).account


async def pause_before_refusal(result: SignInResult) -> None:
    """Asyncio protocol code awaits this before sending a refusal: the address
    ceiling's delay (``throttle.slow_down``). One command at a time per
    connection, so this bounds the guesses a connection can make."""
    if result.account is None and result.slow_down > 0:
        await asyncio.sleep(result.slow_down)


def active_account_id(identifier: str) -> int | None:
    """The id of the active account signing in as ``identifier`` (an IMAP
    ACL identifier, RFC 4314 §2), or None."""
    ident = normalize_identifier(identifier)
    if not ident:
        return None
    return Account.objects.filter(identifier=ident, status=Status.ACTIVE).values_list("pk", flat=True).first()


def account_label(account_id: int) -> tuple[str, str]:
    """("First Last (identifier)", address) of an account, for a journal line;
    ("?", "?") when it is gone."""
    row = Account.objects.filter(pk=account_id).values_list("first_name", "last_name", "identifier", "address").first()
    if row is None:
        return "?", "?"
    first, last, identifier, address = row
    return f"{first} {last}".strip() + f" ({identifier})", address
