"""The one door for a new message, whatever brought it (SMTP MX, the ``deliver``
command, later submission, the webmail and imports): resolve the recipients,
check size and quota, store the content once for all of them, publish events.

Protocol code calls ``check_recipient`` early (SMTP RCPT) and ``deliver`` or a
``DeliveryBatcher`` once the bytes are in; nothing here knows about SMTP codes:
each outcome is a ``Refusal`` kind the caller maps to its own reply.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from academail.accounts.models import Account, Alias
from academail.accounts.services import RECEIVING_STATUSES, resolve_address
from academail.delivery import filtering
from academail.protection import spam
from academail.protection.spam import Screening
from academail.protection.warnings import do_remember as do_remember_warnings
from academail.store.blobs import blob_store
from academail.store.errors import QuotaExceeded
from academail.store.messages import (
    Placement,
    PreparedContent,
    do_store,
    fits_quota,
    inbox_ids,
    prepare_content,
    quota_usage,
)
from academail.store.models import Usage

log = logging.getLogger(__name__)

UNKNOWN_TEXT = "Adresse inconnue dans l'académie."
FULL_TEXT = "La boîte aux lettres du destinataire est pleine."


class Refusal(enum.Enum):
    UNKNOWN_RECIPIENT = "unknown"
    MAILBOX_FULL = "full"
    TOO_BIG = "too_big"
    SPAM = "spam"  # above the reject score and failing authentication (protection.spam)


class DeliveryRefused(Exception):
    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message


@dataclass(frozen=True)
class Recipient:
    address: str
    account_id: int


@dataclass(frozen=True)
class Outcome:
    recipient: Recipient
    uid: int | None = None
    refusal: Refusal | None = None

    @property
    def delivered(self) -> bool:
        return self.refusal is None


def check_relay(address: str) -> str | None:
    """For an SRS address of ours (a bounce to mail we forwarded,
    ``forwarding.srs``): the address it stands for, to relay the bounce to;
    None when ``address`` is no SRS address of our domains. Raises
    DeliveryRefused (unknown recipient) for a forged or expired one. Reads no
    database."""
    from academail.forwarding import srs

    if address.rpartition("@")[2].lower() not in settings.MAIL_DOMAINS or not srs.is_srs(address):
        return None
    try:
        return srs.reverse(address)
    except srs.SRSError:
        raise DeliveryRefused(Refusal.UNKNOWN_RECIPIENT, "Adresse de retour invalide ou expirée.") from None


def do_relay(raw: bytes, recipients: Sequence[str], *, mail_from: str = "") -> None:
    """Queue a bounce that came to SRS addresses for the original senders
    (``check_relay``'s answers). Precondition: inside ``transaction.atomic()``."""
    from academail.delivery.queue import do_enqueue

    null = mail_from.strip() in ("", "<>")  # aiosmtpd gives the null sender as "<>"
    do_enqueue(raw, mail_from="" if null else mail_from, recipients=recipients)


def check_helpdesk(address: str) -> bool:
    """Whether ``address`` is the helpdesk's (``ASSISTANCE_ADDRESS`` or one of
    its ``+tag`` forms): its mail becomes tickets (``do_helpdesk``), not a
    mailbox's. Reads no database."""
    from academail.assistance.mailin import is_helpdesk_address

    return is_helpdesk_address(address)


def do_helpdesk(raw: bytes, recipients: Sequence[str], *, mail_from: str = "", prefix: bytes = b"") -> None:
    """Hand a message for the helpdesk over to ``assistance`` (thread into a
    ticket or open one). Precondition: inside the transaction that makes the
    message durable, before the ``250``."""
    from academail.assistance.mailin import do_receive

    do_receive(raw, mail_from=mail_from, recipients=list(recipients), prefix=prefix)


def check_recipient(address: str, *, size_hint: int = 0, enforce_quota: bool = True) -> Recipient:
    """Resolve ``address`` (case-insensitive, aliases included) to an account that
    can receive mail now; raise DeliveryRefused otherwise. ``size_hint`` (SMTP
    SIZE=) lets a full mailbox be refused before the data is sent (unless
    ``enforce_quota`` is False: the platform's full-mailbox notice). An SRS
    address standing for an académie address resolves to that address."""
    relay = check_relay(address)
    if relay is not None and relay.rpartition("@")[2].lower() in settings.MAIL_DOMAINS:
        address = relay
    account = resolve_address(address)
    if account is None:
        raise DeliveryRefused(Refusal.UNKNOWN_RECIPIENT, UNKNOWN_TEXT)
    used, limit = quota_usage(account.pk)
    if enforce_quota and not fits_quota(used, limit, size_hint):
        raise DeliveryRefused(Refusal.MAILBOX_FULL, FULL_TEXT)
    return Recipient(address.strip().lower(), account.pk)


def check_recipients(addresses: Sequence[str], *, size_hint: int = 0) -> list[Recipient | DeliveryRefused]:
    """``check_recipient`` for many addresses at once (the pipelined RCPTs of a
    circular): per address, in order, the Recipient or the DeliveryRefused that
    ``check_recipient`` would give, in three queries whatever their number
    instead of up to three each. Same rules: SRS addresses standing for ours,
    case-insensitive, main address before alias, only receiving accounts, quota
    with ``size_hint``."""
    targets: list[str | DeliveryRefused] = []
    for address in addresses:
        try:
            relay = check_relay(address)
        except DeliveryRefused as refused:
            targets.append(refused)
            continue
        if relay is not None and relay.rpartition("@")[2].lower() in settings.MAIL_DOMAINS:
            address = relay
        targets.append(address)
    cleaned = {t.strip().lower() for t in targets if isinstance(t, str)} - {""}
    # resolve_address's rules, for a set: a main address wins over an alias.
    owners: dict[str, int] = dict(
        Account.objects.filter(address__in=cleaned, status__in=RECEIVING_STATUSES).values_list("address", "pk")
    )
    if cleaned - owners.keys():
        owners.update(
            Alias.objects.filter(
                address__in=cleaned - owners.keys(), account__status__in=RECEIVING_STATUSES
            ).values_list("address", "account_id")
        )
    # quota_usage's rule: no Usage row counts as (0, 0), i.e. unlimited.
    usage: dict[int, tuple[int, int]] = {
        account_id: (int(used), int(limit))
        for account_id, used, limit in Usage.objects.filter(account_id__in=set(owners.values())).values_list(
            "account_id", "bytes", "account__quota_bytes"
        )
    }
    results: list[Recipient | DeliveryRefused] = []
    for target in targets:
        if isinstance(target, DeliveryRefused):
            results.append(target)
            continue
        account_id = owners.get(target.strip().lower())
        if account_id is None:
            results.append(DeliveryRefused(Refusal.UNKNOWN_RECIPIENT, UNKNOWN_TEXT))
        elif not fits_quota(*usage.get(account_id, (0, 0)), size_hint):
            results.append(DeliveryRefused(Refusal.MAILBOX_FULL, FULL_TEXT))
        else:
            results.append(Recipient(target.strip().lower(), account_id))
    return results


def check_size(size: int) -> None:
    if size > settings.MAX_MESSAGE_SIZE:
        limit_mb = settings.MAX_MESSAGE_SIZE // (1024 * 1024)
        raise DeliveryRefused(Refusal.TOO_BIG, f"Message trop volumineux (limite : {limit_mb} Mo).")


def prepare(raw: bytes) -> PreparedContent:
    """Check the size, write the blob durably and parse. Needs no transaction."""
    check_size(len(raw))
    return prepare_content(raw)


def check_spam(
    prepared: PreparedContent, prefix: bytes = b"", *, envelope_from: str = "", raw: bytes | None = None
) -> Screening:
    """Screen mail from outside once, before storing it (``protection.spam``):
    raises DeliveryRefused (``Refusal.SPAM``) for mail above the reject score
    that also fails authentication; otherwise returns the screening that
    ``do_deliver_prepared`` turns into each person's verdict, with the
    message's phishing warnings (computed from ``raw``, the message's bytes,
    read from the blob when not given). Needs no transaction (reads the
    classifier's counts)."""
    if raw is None:
        raw = blob_store().get(prepared.sha256)
    screening = spam.screen(prepared.parsed, prefix, envelope_from=envelope_from, raw=raw)
    if screening.reject:
        raise DeliveryRefused(Refusal.SPAM, spam.REJECT_TEXT)
    return screening


def do_deliver_prepared(
    prepared: PreparedContent,
    recipients: Sequence[Recipient],
    *,
    prefix: bytes = b"",
    envelope_from: str = "",
    run_filters: bool = True,
    enforce_quota: bool = True,
    screening: Screening | None = None,
) -> list[Outcome]:
    """Store a prepared message for each distinct account among ``recipients``
    (two aliases of one person give one copy), where each person's filters put
    it (INBOX by default), then send what the filters set off (redirects,
    out-of-office replies) in the same transaction.

    A message discarded by a filter counts as delivered (``uid`` None); a person
    is refused as full only if every copy for them was. ``screening``
    (``check_spam``, mail from outside): each person's spam verdict goes in
    their copy's prefix, and junk to Indésirables.
    Precondition: inside ``transaction.atomic()``. Publishes "exists" per mailbox."""
    unique: dict[int, Recipient] = {}
    for recipient in recipients:
        unique.setdefault(recipient.account_id, recipient)
    inboxes = inbox_ids(unique)
    addresses = {account_id: r.address for account_id, r in unique.items()}
    if run_filters:
        planned = filtering.plan(
            prepared, addresses, inboxes, envelope_from=envelope_from, size=len(prefix) + prepared.size,
            screening=screening, prefix=prefix,
        )
        placements, decisions, forwards = planned.placements, planned.decisions, planned.forwards
        learn = planned.learn
    else:
        placements = [Placement(a, inboxes[a]) for a in unique if a in inboxes]
        decisions, forwards, learn = {}, [], []
    if screening is not None:
        do_remember_warnings(prepared.sha256, prefix, screening.findings)
    results = do_store(prepared, placements, prefix=prefix, enforce_quota=enforce_quota)
    stored: dict[int, int | None] = {}
    full: set[int] = set()
    for placement, result in zip(placements, results, strict=True):
        if isinstance(result, QuotaExceeded):
            full.add(placement.account_id)
        elif stored.get(placement.account_id) is None:
            stored[placement.account_id] = result.uid
    by_account: dict[int, Outcome] = {}
    for account_id, recipient in unique.items():
        if account_id not in inboxes:
            continue
        if account_id in stored:
            by_account[account_id] = Outcome(recipient, uid=stored[account_id])
        elif account_id in full:
            by_account[account_id] = Outcome(recipient, refusal=Refusal.MAILBOX_FULL)
        else:  # discarded by a filter: delivered, nothing stored
            by_account[account_id] = Outcome(recipient, uid=None)
    delivered = {a: d for a, d in decisions.items() if a not in full or a in stored}
    if delivered:
        filtering.do_follow_up(
            prepared, delivered, addresses, forwards=forwards, prefix=prefix, envelope_from=envelope_from,
            learn=[a for a in learn if a in stored],
        )
    return [
        by_account.get(r.account_id, Outcome(r, refusal=Refusal.UNKNOWN_RECIPIENT)) for r in recipients
    ]


def deliver(
    raw: bytes, addresses: Sequence[str], *, prefix: bytes = b"", envelope_from: str = "",
    enforce_quota: bool = True, screen: bool = False,
) -> list[Outcome | DeliveryRefused]:
    """The whole path for one message, synchronously (the ``deliver`` command,
    imports, tests): per address, an Outcome or the DeliveryRefused that kept it
    out. Durable when it returns. ``enforce_quota=False`` is for the platform's
    full-mailbox notice only (``store.quota``). ``screen``: spam verdicts
    (``check_spam``; a refusal applies to every address)."""
    checked: list[Recipient | DeliveryRefused | str] = []
    for address in addresses:
        try:
            relay = check_relay(address)
            if relay is not None and relay.rpartition("@")[2].lower() not in settings.MAIL_DOMAINS:
                checked.append(relay)  # a bounce for an outside sender whose mail we forwarded
            else:
                checked.append(check_recipient(address, enforce_quota=enforce_quota))
        except DeliveryRefused as refused:
            checked.append(refused)
    good = [r for r in checked if isinstance(r, Recipient)]
    relays = [r for r in checked if isinstance(r, str)]
    if not good and not relays:
        return [r for r in checked if isinstance(r, DeliveryRefused)]
    prepared = prepare(raw) if good else None
    screening = None
    if prepared is not None and screen:
        try:
            screening = check_spam(prepared, prefix, envelope_from=envelope_from, raw=raw)
        except DeliveryRefused as refused:
            return [refused for _ in addresses]
    with transaction.atomic():
        stored = (
            do_deliver_prepared(
                prepared, good, prefix=prefix, envelope_from=envelope_from, enforce_quota=enforce_quota,
                screening=screening,
            )
            if prepared else []
        )
        if relays:
            do_relay(prefix + raw, relays, mail_from=envelope_from)
    outcomes = iter(stored)
    results: list[Outcome | DeliveryRefused] = []
    for address, item in zip(addresses, checked, strict=True):
        if isinstance(item, Recipient):
            results.append(next(outcomes))
        elif isinstance(item, str):
            results.append(Outcome(Recipient(address.strip().lower(), 0)))
        else:
            results.append(item)
    return results
