"""The one door for a new message into académie mailboxes, whatever brought
it: resolve the recipients, check size and quota, store the content once for
all of them (each person's filters and forward applied), publish events.

Nobody calls ``do_deliver_prepared`` but ``delivery.route`` (and the filters'
and forwards' own copies): the route decides who is local, who is remote, and
runs local delivery and queueing in one transaction. Protocol code calls
``check_recipient``/``check_recipients`` early (SMTP RCPT) and the route once
the bytes are in; nothing here knows about SMTP codes: each outcome is a
``Refusal`` kind the caller maps to its own reply.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import transaction

from academail import metrics
from academail.accounts.services import resolve_addresses
from academail.delivery import filtering
from academail.forwarding import srs
from academail.mime.parse import ParsedMessage
from academail.protection import spam
from academail.protection.classifier import Judged
from academail.protection.spam import Look, Reads, Screening
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
    quota_usages,
)
from academail.store.search import IndexRows

log = logging.getLogger(__name__)

UNKNOWN_TEXT = "Adresse inconnue dans l'académie."
FULL_TEXT = "La boîte aux lettres du destinataire est pleine."


class Refusal(enum.Enum):
    UNKNOWN_RECIPIENT = "unknown"
    MAILBOX_FULL = "full"
    TOO_BIG = "too_big"
    SPAM = "spam"  # above the reject score and failing authentication (protection.spam)
    LIST_POSTING = "list_posting"  # a list that does not take posts from this sender (``lists``)


class DeliveryRefused(Exception):
    """A recipient or message refused (counted in the metrics, per reason)."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        metrics.REFUSALS.labels(refusal.value).inc()
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
    if address.rpartition("@")[2].lower() not in settings.MAIL_DOMAINS or not srs.is_srs(address):
        return None
    try:
        return srs.reverse(address)
    except srs.SRSError:
        raise DeliveryRefused(Refusal.UNKNOWN_RECIPIENT, "Adresse de retour invalide ou expirée.") from None


# Mail for the helpdesk's addresses becomes tickets rather than a mailbox's.
# ``assistance`` registers its two functions when it starts
# (``AssistanceConfig.ready``): delivery, below it, imports nothing of it.
_helpdesk: list[tuple[Callable[[str], bool], Callable[..., object]]] = []


def register_helpdesk(is_address: Callable[[str], bool], receive: Callable[..., object]) -> None:
    """Called once by ``assistance``: ``is_address(address)`` says whether an
    address is the helpdesk's; ``receive(raw, *, mail_from, recipients,
    prefix)`` turns a message for it into a ticket (inside the delivery
    transaction)."""
    _helpdesk[:] = [(is_address, receive)]


def check_helpdesk(address: str) -> bool:
    """Whether ``address`` is the helpdesk's (``ASSISTANCE_ADDRESS`` or one of
    its ``+tag`` forms): its mail becomes tickets (``do_helpdesk``), not a
    mailbox's. Reads no database."""
    return any(is_address(address) for is_address, _receive in _helpdesk)


def do_helpdesk(raw: bytes, recipients: Sequence[str], *, mail_from: str = "", prefix: bytes = b"") -> None:
    """Hand a message for the helpdesk over to ``assistance`` (thread into a
    ticket or open one). Precondition: inside the transaction that makes the
    message durable, before the ``250``."""
    for _is_address, receive in _helpdesk:
        receive(raw, mail_from=mail_from, recipients=list(recipients), prefix=prefix)


# Calendar mail (iMIP, RFC 6047) is applied to the recipients' agendas once
# delivered: ``calendar`` registers its function when it starts
# (``AgendaConfig.ready``); delivery, below it, imports nothing of it.
_calendar_mail: list[Callable[..., object]] = []


def register_calendar_mail(apply: Callable[..., object]) -> None:
    """Called once by ``calendar``: ``apply(raw, prefix, account_ids)`` acts on
    the ``text/calendar`` part of a message just delivered to those accounts
    (after the commit; it must not raise)."""
    _calendar_mail[:] = [apply]


def do_calendar_mail(prepared: PreparedContent, prefix: bytes, outcomes: Sequence[Outcome]) -> None:
    """Hand a delivered message with a ``text/calendar`` part to ``calendar``,
    once the transaction that stored it commits (a rolled-back delivery changes
    no agenda; the agenda write never delays or fails the delivery).
    Precondition: inside the delivery's transaction."""
    if not _calendar_mail or not any(p.content_type == "text/calendar" for p in prepared.parsed.root.walk()):
        return
    account_ids = sorted({o.recipient.account_id for o in outcomes if o.uid is not None})
    if not account_ids:
        return

    def apply() -> None:
        raw = blob_store().get(prepared.sha256)  # the stored bytes (durable before the commit)
        for function in _calendar_mail:
            try:
                function(raw, prefix, account_ids)
            except Exception:
                log.exception("calendar mail: applying a delivered invitation failed")

    transaction.on_commit(apply)


# Mail for a distribution list's address (a post) or one of its bounce
# addresses goes to ``lists``, which registers its two functions when it starts
# (``ListsConfig.ready``), like the helpdesk: delivery imports nothing of it.
_lists: list[tuple[Callable[[Sequence[str]], set[str]], Callable[..., object], Callable[..., str | None]]] = []


@dataclass(frozen=True)
class ListAddress:
    """A recipient that is a distribution list (or one of its bounce
    addresses): ``lists`` receives the message, not a mailbox."""

    address: str


def register_lists(
    find: Callable[[Sequence[str]], set[str]], receive: Callable[..., object], check: Callable[..., str | None]
) -> None:
    """Called once by ``lists``: ``find(addresses)`` returns those that are
    lists' addresses (one query, whatever their number); ``receive(raw,
    addresses, *, prepared, mail_from, prefix, account_id, screening)`` takes a message
    for them (inside the delivery transaction); ``check(raw, addresses, *,
    mail_from)`` says, before anything is stored, why a post would be
    refused (French and English), or None."""
    _lists[:] = [(find, receive, check)]


def check_lists(addresses: Sequence[str]) -> set[str]:
    """The lists' addresses among ``addresses`` (lower-cased, as given
    stripped), in one query."""
    wanted = [a.strip().lower() for a in addresses if a.strip()]
    if not wanted:
        return set()
    return set().union(*(find(wanted) for find, _receive, _check in _lists))


def do_list_posts(
    raw: bytes, addresses: Sequence[str], *, prepared: PreparedContent, mail_from: str = "", prefix: bytes = b"",
    account_id: int | None = None, screening: Screening | None = None,
) -> None:
    """Hand a message for lists' addresses over to ``lists`` (moderation,
    expansion, bounce counting). ``account_id``: the authenticated sender, if
    any; ``screening``: the spam verdicts of mail from outside, for the
    members' copies. Precondition: inside the transaction that makes the
    message durable, before the ``250``; ``prepared`` is ``raw``'s durable blob."""
    for _find, receive, _check in _lists:
        receive(
            raw, list(addresses), prepared=prepared, mail_from=mail_from, prefix=prefix, account_id=account_id,
            screening=screening,
        )


def check_list_posts(raw: bytes, addresses: Sequence[str], *, mail_from: str = "") -> None:
    """Raise DeliveryRefused (``Refusal.LIST_POSTING``) when one of these
    lists would refuse ``raw`` from its sender (not held for moderation):
    the MX asks before accepting a message whose only recipients are lists,
    so the refusal is its reply rather than a DSN. Reads the lists' rights."""
    for _find, _receive, check in _lists:
        reason = check(raw, list(addresses), mail_from=mail_from)
        if reason:
            raise DeliveryRefused(Refusal.LIST_POSTING, reason)


def check_recipient(address: str, *, size_hint: int = 0, enforce_quota: bool = True) -> Recipient:
    """Resolve ``address`` (case-insensitive, aliases included) to an account that
    can receive mail now; raise DeliveryRefused otherwise. ``size_hint`` (SMTP
    SIZE=) lets a full mailbox be refused before the data is sent (unless
    ``enforce_quota`` is False: the platform's full-mailbox notice). An SRS
    address standing for an académie address resolves to that address.
    ``check_recipients`` for one address: the rules live there."""
    (result,) = check_recipients([address], size_hint=size_hint, enforce_quota=enforce_quota)
    if isinstance(result, DeliveryRefused):
        raise result
    return result


def check_recipients(
    addresses: Sequence[str], *, size_hint: int = 0, enforce_quota: bool = True
) -> list[Recipient | DeliveryRefused]:
    """``check_recipient`` for many addresses at once (the pipelined RCPTs of a
    circular): per address, in order, the Recipient or the DeliveryRefused that
    ``check_recipient`` would give, in three queries whatever their number
    instead of up to three each (``accounts.services.resolve_addresses``, then
    ``store.messages.quota_usages``). Same rules: SRS addresses standing for
    ours, case-insensitive, main address before alias, only receiving
    accounts, quota with ``size_hint``."""
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
    owners = resolve_addresses(t for t in targets if isinstance(t, str))
    usage = quota_usages(set(owners.values())) if enforce_quota else {}
    results: list[Recipient | DeliveryRefused] = []
    for target in targets:
        if isinstance(target, DeliveryRefused):
            results.append(target)
            continue
        account_id = owners.get(target.strip().lower())
        if account_id is None:
            results.append(DeliveryRefused(Refusal.UNKNOWN_RECIPIENT, UNKNOWN_TEXT))
        elif enforce_quota and not fits_quota(*usage.get(account_id, (0, 0)), size_hint):  # no Usage row: unlimited
            results.append(DeliveryRefused(Refusal.MAILBOX_FULL, FULL_TEXT))
        else:
            results.append(Recipient(target.strip().lower(), account_id))
    return results


def check_size(size: int) -> None:
    if size > settings.MAX_MESSAGE_SIZE:
        limit_mb = settings.MAX_MESSAGE_SIZE // (1024 * 1024)
        raise DeliveryRefused(Refusal.TOO_BIG, f"Message trop volumineux (limite : {limit_mb} Mo).")


def prepare(raw: bytes, *, parsed: ParsedMessage | None = None, index: IndexRows | None = None) -> PreparedContent:
    """Check the size, write the blob durably and parse (``parsed``: that
    parse, and ``index`` its search index rows, made by a delivery worker
    process). Needs no transaction."""
    check_size(len(raw))
    return prepare_content(raw, parsed=parsed, index=index)


def check_spam(
    prepared: PreparedContent,
    prefix: bytes = b"",
    *,
    envelope_from: str = "",
    raw: bytes | None = None,
    recipients: Sequence[Recipient] = (),
    looked: Look | None = None,
    judged: Judged | None = None,
    reads: Reads | None = None,
) -> Screening:
    """Screen mail from outside once, before storing it (``protection.spam``):
    raises DeliveryRefused (``Refusal.SPAM``) for mail above the reject score
    that also fails authentication; otherwise returns the screening that
    ``do_deliver_prepared`` turns into each person's verdict, with the
    message's phishing warnings (computed from ``raw``, the message's bytes,
    read from the blob when not given). ``recipients``, when known, have
    their own classifiers read in the same query (and go to rspamd).
    ``looked``: the pure part (``spam.look``), ``judged``, the
    classifier's probabilities for ``recipients``, and ``reads``, the rows
    the screening needs (``spam.read``), made by a delivery worker process.
    Needs no transaction (reads the classifier's counts)."""
    if raw is None:
        raw = blob_store().get(prepared.sha256)
    screening = spam.screen(
        prepared.parsed, prefix, envelope_from=envelope_from, raw=raw,
        recipients=[(r.address, r.account_id) for r in recipients], looked=looked, judged=judged,
        reads=reads,
    )
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
    own_prefix: Mapping[int, bytes] | None = None,
) -> list[Outcome]:
    """Store a prepared message for each distinct account among ``recipients``
    (two aliases of one person give one copy), where each person's filters put
    it (INBOX by default), then send what the filters set off (redirects,
    out-of-office replies) in the same transaction.

    A message discarded by a filter counts as delivered (``uid`` None); a person
    is refused as full only if every copy for them was. ``screening``
    (``check_spam``, mail from outside): each person's spam verdict goes in
    their copy's prefix, and junk to Indésirables. ``own_prefix``: fields
    placed above the prefix in one person's copy only (by account).
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
        do_remember_warnings(prepared.sha256, prefix, screening.findings, screening.auth)
        spam.do_count(screening)
    if own_prefix:
        placements = [
            replace(p, prefix=own_prefix[p.account_id] + (prefix if p.prefix is None else p.prefix))
            if p.account_id in own_prefix else p
            for p in placements
        ]
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
    copies, refused_full = len(stored), sum(1 for a in unique if a in full and a not in stored)
    transaction.on_commit(lambda: metrics.count_deliveries(copies, refused_full))
    delivered = {a: d for a, d in decisions.items() if a not in full or a in stored}
    if delivered:
        filtering.do_follow_up(
            prepared, delivered, addresses, forwards=forwards, prefix=prefix, envelope_from=envelope_from,
            learn=[a for a in learn if a in stored],
        )
    return [
        by_account.get(r.account_id, Outcome(r, refusal=Refusal.UNKNOWN_RECIPIENT)) for r in recipients
    ]

