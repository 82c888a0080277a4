"""Account services: creating an account (identifier, address, NUMEN, mailboxes),
finding one by NUMEN or by address, and checking a password.

Web, IMAP, SMTP and the import all come through here; none of them writes the
``Account`` table directly. Identifiers and addresses are stored lower-cased (see
``accounts.models``), so lower-casing the input and comparing for equality is a
case-insensitive lookup that uses the unique indexes on every database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from itertools import islice

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction

from academail.accounts.models import Account, Alias, Role, Status
from academail.accounts.naming import base_identifier, base_local_part, candidates, next_free
from academail.accounts.numen import validate_numen
from academail.accounts.secrets import encrypt_numen, numen_hash
from academail.store.mailboxes import do_provision_account

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
        found.update(
            model._default_manager.filter(**{f"{field}__in": values}).values_list(field, flat=True)
        )
    return found


def _pick_free(
    base: str,
    to_value: Callable[[str], str],
    fields: list[tuple[type[models.Model], str]],
    max_length: int,
) -> str:
    """``to_value`` of the first free candidate, ``next_free`` over the
    database (``to_value`` turns a candidate into the stored value, e.g. a local
    part into an address). The first batch of candidates is checked
    with one indexed ``IN`` query per column, further ones one at a time (only
    a name with more than 32 homonyms gets there)."""
    first = list(islice(candidates(base, max_length=max_length), _CANDIDATE_BATCH))
    values = {name: to_value(name) for name in first}
    known = _existing(fields, list(values.values()))

    def taken(name: str) -> bool:
        if name in values:
            return values[name] in known
        value = to_value(name)
        return any(
            model._default_manager.filter(**{field: value}).exists() for model, field in fields
        )

    return to_value(next_free(base, taken, max_length=max_length))


def _new_identifier(first_name: str, last_name: str) -> str:
    return _pick_free(
        base_identifier(first_name, last_name),
        lambda name: name,
        [(Account, "identifier")],
        max_length=64,
    )


def _new_address(first_name: str, last_name: str) -> str:
    domain = settings.MAIL_DOMAINS[0]
    return _pick_free(
        base_local_part(first_name, last_name),
        lambda local: f"{local}@{domain}",
        [(Account, "address"), (Alias, "address")],
        max_length=64,
    )


# --- creation -------------------------------------------------------------------


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
    usable letter. Everything, including ``store.do_provision_account``, runs in
    one transaction: on error, nothing is left behind.
    """
    first_name = _clean_name(first_name, "prénom", "first_name")
    last_name = _clean_name(last_name, "nom", "last_name")
    role = _clean_role(role)
    status = _clean_status(status)
    establishment = " ".join(establishment.split())
    secondary = clean_secondary_address(secondary_address)
    quota = _clean_quota(quota_bytes)
    wanted_identifier = _clean_identifier(identifier) if identifier is not None else None
    wanted_address = clean_own_address(address) if address is not None else None
    numen_value = validate_numen(numen) if numen is not None and numen.strip() else None
    hashed = numen_hash(numen_value) if numen_value else None
    # Raised before any query, so a name without letters is reported as such.
    base_identifier(first_name, last_name)
    base_local_part(first_name, last_name)

    with transaction.atomic():
        for attempt in range(_CREATE_ATTEMPTS):
            if hashed is not None and Account.objects.filter(numen_hash=hashed).exists():
                raise AccountError("Ce NUMEN est déjà attribué à un autre compte.", field="numen")
            if wanted_identifier is not None and identifier_taken(wanted_identifier):
                raise AccountError(
                    f"L'identifiant « {wanted_identifier} » est déjà utilisé.", field="identifier"
                )
            if wanted_address is not None and address_taken(wanted_address):
                raise AccountError(
                    f"L'adresse « {wanted_address} » est déjà utilisée.", field="address"
                )
            account = Account(
                identifier=wanted_identifier or _new_identifier(first_name, last_name),
                address=wanted_address or _new_address(first_name, last_name),
                first_name=first_name,
                last_name=last_name,
                numen_ciphertext=encrypt_numen(numen_value) if numen_value else None,
                numen_hash=hashed,
                secondary_address=secondary,
                role=role,
                status=status,
                establishment=establishment,
                quota_bytes=quota,
            )
            account.set_unusable_password()
            try:
                # A savepoint: a concurrent creation that took the same name
                # (possible on PostgreSQL under READ COMMITTED) makes us pick again.
                with transaction.atomic():
                    account.save()
            except IntegrityError:
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise
                continue
            do_provision_account(account)
            return account
    raise AssertionError("unreachable")


def check_update_account(
    account: Account,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    role: str | None = None,
    establishment: str | None = None,
    quota_bytes: int | None = None,
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
    changed = [name for name, value in wanted.items() if getattr(account, name) != value]
    for name in changed:
        setattr(account, name, wanted[name])
    if changed:
        account.save(update_fields=[*changed, "updated_at"])
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


# --- authentication ---------------------------------------------------------------


def authenticate(identifier: str, password: str, *, protocol: str, remote_addr: str) -> Account | None:
    """The one password check used by the web, IMAP and SMTP submission.

    Returns the account if ``identifier`` (trimmed, case-insensitive) names an
    ACTIVE account whose password is ``password``; otherwise ``None``, with no
    hint of which part was wrong. An unknown identifier, or an account without a
    usable password, costs one password hash too, so timing does not tell which
    identifiers exist.

    ``protocol`` ("web", "imap", "smtp") and ``remote_addr`` are not used yet:
    this is the basic version. Throttling per identifier and per address, and
    the sign-in journal with new-device detection, come with a later issue and
    will use them; callers pass them already so that no call site changes then.
    """
    account = Account.objects.filter(identifier=identifier.strip().lower()).first()
    if account is None or not account.has_usable_password():
        # Same cost as a real check (Django's ModelBackend does the same).
        make_password(password)
        return None
    if not account.check_password(password):
        return None
    if account.status != Status.ACTIVE:
        return None
    return account
