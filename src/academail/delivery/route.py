"""The one routing service: every message that goes from a sender to its
recipients passes here, whatever brought it.

- ``do_submit`` / ``submit_batched``: a person's message (the webmail's send,
  SMTP submission), with the account's sending limits;
- ``release_held``: a message held by the sending limits, once an
  administrator releases it;
- ``deliver`` / ``deliver_batched``: mail arriving for the académie (the MX,
  the ``deliver`` command, imports, DSNs), bounces to our SRS addresses relayed;
- ``do_send_platform_mail``: **the platform's own mail** (acknowledgements,
  notices, alerts, invitations, quota warnings). Every feature that sends mail
  in the platform's name calls this function (or ``django.core.mail``, whose
  backend, ``delivery.mailbackend``, calls it): never the door or the queue
  directly.

Each is the same sequence in two steps:

1. ``check_route``, outside any transaction: split the recipients into
   académie addresses (``local``) and the others (``remote``); check the
   local ones in three queries whatever their number
   (``door.check_recipients``); write the blob durably and parse it when
   someone local gets it (``door.prepare``); DKIM-sign ``trace + raw`` when
   someone remote does (``dkim.sign``; RFC 6376 §5.4: the trace field is
   not signed).
2. ``do_route``, inside the caller's transaction, in a savepoint of its own:
   the gate (sending limits) first, then the local copies (``door
   .do_deliver_prepared``: filters, forwards, quota), then the queue entries
   (``queue.do_enqueue``). With ``all_or_nothing`` (one SMTP reply for the
   whole transaction) a refused local copy rolls the savepoint back: nothing
   stored, queued or counted, so a retry never duplicates.

Durable when the caller's transaction commits (``submit_batched`` and
``deliver_batched`` share a group commit: ``delivery.batcher``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from academail.delivery import dkim
from academail.delivery.batcher import DeliveryBatcher
from academail.delivery.door import (
    DeliveryRefused,
    Outcome,
    Recipient,
    Refusal,
    check_lists,
    check_recipients,
    check_relay,
    check_size,
    check_spam,
    do_calendar_mail,
    do_deliver_prepared,
    do_helpdesk,
    do_list_posts,
    prepare,
)
from academail.delivery.limits import (
    Decision,
    Verdict,
    check_sending_limits,
    do_count_release,
    take_held,
)
from academail.delivery.models import CapturedMessage
from academail.delivery.queue import do_enqueue, is_local
from academail.delivery.workers import Analysis
from academail.forwarding import sending
from academail.forwarding.policy import domain_of
from academail.mime.parse import parse_message
from academail.protection import rspamd
from academail.protection.learning import do_note_correspondents
from academail.protection.spam import Screening
from academail.store.blobs import blob_store
from academail.store.messages import PreparedContent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    """An authenticated sender: the account and every address it may send as:
    its own (``addresses``), other accounts' it may send *as* (a functional
    mailbox's member, ``send_as``) and those it may send *on behalf of* (a
    delegate, ``on_behalf``: its own address then goes in ``Sender:``)."""

    account_id: int
    identifier: str
    address: str
    addresses: frozenset[str]
    send_as: frozenset[str] = frozenset()
    on_behalf: frozenset[str] = frozenset()

    def owns(self, address: str) -> bool:
        return address.strip().lower() in self.addresses

    def may_send_as(self, address: str) -> bool:
        return address.strip().lower() in self.send_as

    def may_send_for(self, address: str) -> bool:
        return address.strip().lower() in self.on_behalf

    def may_use(self, address: str) -> bool:
        """An envelope sender (MAIL FROM) it may give: its own, or one it may
        send as or for (bounces then go back to that mailbox)."""
        return self.owns(address) or self.may_send_as(address) or self.may_send_for(address)


@dataclass(frozen=True)
class Route:
    """A message checked and ready to route (``check_route``); nothing is
    stored or queued yet, but the blob is durable when ``prepared`` is set."""

    mail_from: str
    local: list[Recipient]
    remote: list[str]
    prepared: PreparedContent | None  # when ``local``
    queued: bytes  # what the queue sends (trace + raw, signed); b"" without ``remote``
    trace: bytes = b""  # our Received field: the local copies' prefix
    account_id: int | None = None  # the sender's account, owner of the queue entries
    refused: dict[str, DeliveryRefused] = field(default_factory=dict)  # local addresses that cannot receive
    run_filters: bool = True
    enforce_quota: bool = True  # False: the platform's full-mailbox notice only (``store.quota``)
    screening: Screening | None = None  # spam verdicts and warnings (mail from outside, ``door.check_spam``)
    helpdesk: list[str] = field(default_factory=list)  # the helpdesk's addresses: tickets, not a mailbox
    raw: bytes = b""  # the message as received, for the helpdesk and the lists
    lists: list[str] = field(default_factory=list)  # distribution lists' addresses (``lists``), not a mailbox
    # Per account: fields above the shared ``trace`` in that person's copy only
    # (a list's per-member List-Unsubscribe, RFC 8058); the content stays one.
    own_prefix: dict[int, bytes] = field(default_factory=dict)


def split(addresses: Sequence[str]) -> tuple[list[str], list[str]]:
    """(académie addresses, the others), each once, in order, lower-cased."""
    unique = list(dict.fromkeys(a.strip().lower() for a in addresses if a.strip()))
    return [a for a in unique if is_local(a)], [a for a in unique if not is_local(a)]


def prepare_route(
    raw: bytes,
    local: Sequence[Recipient],
    remote: Sequence[str],
    *,
    mail_from: str,
    trace: bytes = b"",
    account_id: int | None = None,
    sign: bool = True,
    run_filters: bool = True,
    enforce_quota: bool = True,
    screen: bool = False,
    helpdesk: Sequence[str] = (),
    lists: Sequence[str] = (),
    analysis: Analysis | None = None,
) -> Route:
    """Step 1 for recipients already checked (SMTP checks at RCPT time): the
    durable blob for ``local`` and ``lists``, the signed bytes for ``remote``
    (unsigned with ``sign=False``: a relayed bounce keeps its sender's bytes).
    ``screen`` (mail from outside): the spam verdicts and phishing warnings
    (``door.check_spam``), once for all local recipients. ``helpdesk``: the
    helpdesk's addresses among the recipients (``door.do_helpdesk``);
    ``lists``: distribution lists' (``door.do_list_posts``). ``analysis``:
    the parse (and with ``screen`` the spam look, and the classifier's
    judgement of it for ``local``) that a delivery worker process made of
    ``raw`` with ``trace`` (``workers.analyse``). Raises
    DeliveryRefused (too big; spam refused). Needs no transaction."""
    prepared = (
        prepare(raw, parsed=analysis.parsed, index=analysis.index) if analysis else prepare(raw)
    ) if local or lists else None
    screening = (
        check_spam(
            prepared, trace, envelope_from=mail_from, raw=raw, recipients=local,
            looked=analysis.looked if analysis else None, judged=analysis.judged if analysis else None,
            reads=analysis.reads if analysis else None,
        ) if prepared and screen else None
    )
    queued = b""
    if remote:
        queued = dkim.sign(trace + raw) if sign else trace + raw
    return Route(
        mail_from, list(local), list(remote), prepared, queued, trace, account_id,
        run_filters=run_filters, enforce_quota=enforce_quota, screening=screening,
        helpdesk=list(helpdesk), raw=raw if helpdesk or lists else b"", lists=list(lists),
    )


def check_route(
    raw: bytes,
    addresses: Sequence[str],
    *,
    mail_from: str,
    trace: bytes = b"",
    account_id: int | None = None,
    sign: bool = True,
    run_filters: bool = True,
    all_or_nothing: bool = False,
    enforce_quota: bool = True,
) -> Route:
    """Step 1: split ``addresses``, check the local ones (refused ones go to
    ``Route.refused``, not into the route), then ``prepare_route``. With
    ``all_or_nothing`` a refused address stops there (nothing prepared: the
    route will not run). Raises DeliveryRefused (too big). Needs no
    transaction."""
    local_addresses, remote = split(addresses)
    lists = check_lists(local_addresses)
    local_addresses = [a for a in local_addresses if a not in lists]
    local: list[Recipient] = []
    refused: dict[str, DeliveryRefused] = {}
    for address, result in zip(
        local_addresses, check_recipients(local_addresses, size_hint=len(raw), enforce_quota=enforce_quota), strict=True
    ):
        if isinstance(result, DeliveryRefused):
            refused[address] = result
        else:
            local.append(result)
    if refused and all_or_nothing:
        return Route(mail_from, local, remote, None, b"", trace, account_id, refused, run_filters, enforce_quota)
    route = prepare_route(
        raw, local, remote, mail_from=mail_from, trace=trace, account_id=account_id, sign=sign,
        run_filters=run_filters, enforce_quota=enforce_quota, lists=sorted(lists),
    )
    return dataclasses.replace(route, refused=refused)


def do_route(
    route: Route, *, gate: Callable[[], bool] | None = None, all_or_nothing: bool = True, capture: bool = False,
    savepoint: bool = True,
) -> list[Outcome] | None:
    """Step 2: ``gate`` (the sending limits), then the local copies, then the
    queue entries, in one savepoint. Returns the local outcomes (in the order
    of ``route.local``), or None when ``gate`` returned False (nothing done).
    With ``all_or_nothing``, one local copy refused (mailbox full) rolls the
    savepoint back: nothing stored, queued or counted; the outcomes say who.
    With ``capture`` the remote copy goes to the outbound capture instead of
    the queue (``settings.OUTBOUND_CAPTURE``, platform mail only).
    ``savepoint=False``: the caller's innermost ``atomic`` block holds this
    route and nothing else (the batcher's job), so its savepoint is the
    route's and a refusal rolls that block back (two round trips fewer).

    Precondition: inside ``transaction.atomic()``. Publishes "exists" per
    mailbox that got a copy (after the commit, through the store)."""
    with transaction.atomic(savepoint=savepoint):
        if gate is not None and not gate():
            return None
        outcomes: list[Outcome] = []
        if route.local:
            assert route.prepared is not None, "prepare_route writes the blob for local recipients"
            outcomes = do_deliver_prepared(
                route.prepared, route.local, prefix=route.trace, envelope_from=route.mail_from,
                run_filters=route.run_filters, enforce_quota=route.enforce_quota, screening=route.screening,
                own_prefix=route.own_prefix,
            )
            if all_or_nothing and not all(o.delivered for o in outcomes):
                transaction.set_rollback(True)
                return outcomes
            do_calendar_mail(route.prepared, route.trace, outcomes)
        if route.helpdesk:
            do_helpdesk(route.raw, route.helpdesk, mail_from=route.mail_from, prefix=route.trace)
        if route.lists:
            assert route.prepared is not None, "prepare_route writes the blob for lists"
            do_list_posts(
                route.raw, route.lists, prepared=route.prepared, mail_from=route.mail_from, prefix=route.trace,
                account_id=route.account_id, screening=route.screening,
            )
        if route.remote and capture:
            CapturedMessage.objects.create(
                mail_from=route.mail_from, recipients=route.remote,
                subject=parse_message(route.queued).subject[:2000], raw=route.queued,
            )
        elif route.remote:
            # aiosmtpd gives the null sender as "<>"; the queue keeps it empty (RFC 5321 §4.5.5).
            queue_from = "" if route.mail_from.strip() in ("", "<>") else route.mail_from
            do_enqueue(route.queued, mail_from=queue_from, recipients=route.remote, account_id=route.account_id)
        return outcomes


# --- a person's message: the webmail's send and SMTP submission --------------------------


@dataclass(frozen=True)
class Submitted:
    """What became of a submitted message. ``outcomes``: the local copies
    (empty when held or refused by the limits); ``refused``: académie addresses
    that could not receive it (``do_submit`` only: SMTP refuses them at RCPT)."""

    outcomes: list[Outcome]
    decision: Decision
    local: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)
    refused: dict[str, DeliveryRefused] = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        """Sent (not held nor refused by the limits) and no local copy refused."""
        return self.decision.verdict is Verdict.SEND and not self.refused and all(o.delivered for o in self.outcomes)


def _limits_gate(
    identity: Identity, recipients: Sequence[str], raw: bytes, *, mail_from: str, origin: str, trace: bytes,
    decisions: list[Decision],
) -> Callable[[], bool]:
    def gate() -> bool:
        decision = check_sending_limits(
            account_id=identity.account_id, identifier=identity.identifier, recipients=recipients, raw=raw,
            mail_from=mail_from, origin=origin, trace=trace,
        )
        decisions.append(decision)
        return decision.verdict is Verdict.SEND

    return gate


def _route_submission(route: Route, gate: Callable[[], bool]) -> list[Outcome] | None:
    """``do_route`` for a person's message; once it went, the outside
    recipients become the sender's correspondents (their replies stay out of
    Indésirables, ``protection.learning``), in the same transaction.
    Precondition: inside an ``atomic`` block that holds this route alone."""
    outcomes = do_route(route, gate=gate, savepoint=False)
    if outcomes is not None and all(o.delivered for o in outcomes) and route.remote and route.account_id:
        do_note_correspondents(route.account_id, route.remote)
    return outcomes


def do_submit(
    raw: bytes,
    recipients: Sequence[str],
    *,
    identity: Identity,
    origin: str,
    trace: bytes = b"",
    mail_from: str | None = None,
) -> Submitted:
    """Route a person's message (final bytes: headers already fixed) to
    ``recipients``, synchronously (web views): académie addresses through the
    one door, all or nothing; the others queued DKIM-signed; the sending
    limits (``origin``: "webmail" or "smtp") checked and counted in the same
    transaction. Over a soft limit the message is held (``decision`` HOLD,
    nothing sent), over a hard one nothing happens (REFUSE).

    When an académie recipient cannot receive (``Submitted.refused``) or a
    mailbox is full at delivery (an outcome not delivered), nothing is stored,
    queued or counted. Raises DeliveryRefused (too big).
    Precondition: not inside a transaction (the blob is written first)."""
    mail_from = identity.address if mail_from is None else mail_from
    route = check_route(
        raw, recipients, mail_from=mail_from, trace=trace, account_id=identity.account_id, all_or_nothing=True
    )
    everyone = list(dict.fromkeys(a.strip().lower() for a in recipients if a.strip()))
    if route.refused:
        return Submitted([], Decision(Verdict.SEND), [], [], route.refused)
    decisions: list[Decision] = []
    gate = _limits_gate(identity, everyone, raw, mail_from=mail_from, origin=origin, trace=trace, decisions=decisions)
    with transaction.atomic():
        outcomes = _route_submission(route, gate)
    sent = outcomes is not None and all(o.delivered for o in outcomes)
    return Submitted(
        outcomes or [], decisions[-1] if decisions else Decision(Verdict.SEND),
        [r.address for r in route.local] if sent else [], route.remote if sent else [],
    )


async def submit_batched(
    batcher: DeliveryBatcher,
    raw: bytes,
    *,
    mail_from: str,
    local: Sequence[Recipient],
    remote: Sequence[str],
    identity: Identity,
    trace: bytes,
    lists: Sequence[str] = (),
) -> Submitted:
    """``do_submit`` for SMTP submission, whose local recipients were checked
    at RCPT time: the blob and signature are made in the batcher's pool, and
    the route runs in its next group commit (eight clients share one fsync);
    durable when it returns. ``trace`` is our Received field: prepended to the
    queued bytes before signing, and the local copies' prefix. Raises
    DeliveryRefused (too big) or storage errors."""
    check_size(len(raw))
    analysis = await batcher.analyse(raw) if local or lists else None
    route = await batcher.in_pool(
        prepare_route, raw, local, remote, mail_from=mail_from, trace=trace, account_id=identity.account_id,
        lists=lists, analysis=analysis,
    )
    decisions: list[Decision] = []
    # A list counts once for the sender, whatever its members (issue 19 §3).
    recipients = [*(r.address for r in local), *lists, *remote]
    gate = _limits_gate(identity, recipients, raw, mail_from=mail_from, origin="smtp", trace=trace, decisions=decisions)
    outcomes = await batcher.commit(lambda: _route_submission(route, gate))
    return Submitted(outcomes or [], decisions[-1] if decisions else Decision(Verdict.SEND), [r.address for r in local], list(remote))


# --- a held message released -------------------------------------------------------------


@dataclass
class Released:
    delivered: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # address -> French reason


def release_held(held_id: int, *, now: datetime | None = None) -> Released | None:
    """Send a message held by the sending limits as the original send would
    have (our Received field on the local copies and the queued bytes,
    DKIM-signed), then count it as sent (its held count removed); the held row
    goes. Not all or nothing: a local recipient that can no longer receive is
    reported, the others get the message. None when it was already released
    or deleted (by another administrator meanwhile).

    Precondition: none (own transaction; synchronous, for the admin)."""
    held = take_held(held_id, lock=False)
    if held is None:
        return None
    route = check_route(
        bytes(held.raw), list(held.recipients), mail_from=held.mail_from, trace=bytes(held.trace),
        account_id=held.account_id,
    )
    report = Released(refused={a: r.message for a, r in route.refused.items()})
    with transaction.atomic():
        locked = take_held(held_id, lock=True)
        if locked is None:
            return None
        outcomes = do_route(route, all_or_nothing=False) or []
        for outcome in outcomes:
            if outcome.delivered:
                report.delivered.append(outcome.recipient.address)
            else:
                report.refused[outcome.recipient.address] = "Boîte aux lettres pleine."
        report.queued.extend(route.remote)
        do_count_release(locked, now=now or timezone.now())
    log.info("sending limits: held message %s released (%d local, %d queued, %d refused)",
             held_id, len(report.delivered), len(report.queued), len(report.refused))
    return report


# --- mail arriving for the académie ---------------------------------------------------


def deliver(
    raw: bytes, addresses: Sequence[str], *, prefix: bytes = b"", envelope_from: str = "",
    enforce_quota: bool = True,
    screen: bool = False,
) -> list[Outcome | DeliveryRefused]:
    """The whole path for one message arriving for ``addresses``,
    synchronously (the ``deliver`` command, imports, DSNs, tests): per
    address, in order, an Outcome or the DeliveryRefused that kept it out.
    Bounces to our SRS addresses for outside senders are relayed (queued,
    unsigned). Not all or nothing: each address gets its own answer. Durable
    when it returns (or when the caller's transaction commits).
    ``enforce_quota=False`` is for the platform's full-mailbox notice only;
    ``screen``: spam verdicts (``door.check_spam``; a refusal applies to
    every address)."""
    relays: dict[int, str] = {}  # position -> outside address a bounce is relayed to
    refused: dict[int, DeliveryRefused] = {}
    local: list[tuple[int, str]] = []
    for position, address in enumerate(addresses):
        try:
            relay = check_relay(address)
        except DeliveryRefused as error:
            refused[position] = error
            continue
        if relay is not None and not is_local(relay):
            relays[position] = relay
        else:
            local.append((position, address))
    lists = check_lists([a for _, a in local])
    listed = {position: a.strip().lower() for position, a in local if a.strip().lower() in lists}
    local = [(position, a) for position, a in local if position not in listed]
    recipients: dict[int, Recipient] = {}
    stored: dict[int, Outcome] = {}
    checked = check_recipients([a for _, a in local], enforce_quota=enforce_quota)
    for (position, _address), result in zip(local, checked, strict=True):
        if isinstance(result, DeliveryRefused):
            refused[position] = result
        else:
            recipients[position] = result
    if recipients or relays or listed:
        try:
            route = prepare_route(
                raw, list(recipients.values()), list(relays.values()), mail_from=envelope_from, trace=prefix,
                sign=False, enforce_quota=enforce_quota, screen=screen, lists=list(dict.fromkeys(listed.values())),
            )
        except DeliveryRefused as spam_refused:
            if spam_refused.refusal is not Refusal.SPAM:
                raise
            return [spam_refused for _ in addresses]
        with transaction.atomic():
            stored = dict(zip(recipients, do_route(route, all_or_nothing=False) or [], strict=True))
    results: list[Outcome | DeliveryRefused] = []
    for position, address in enumerate(addresses):
        if position in refused:
            results.append(refused[position])
        elif position in relays or position in listed:
            results.append(Outcome(Recipient(address.strip().lower(), 0)))
        else:
            results.append(stored[position])
    return results


async def deliver_batched(
    batcher: DeliveryBatcher,
    raw: bytes,
    local: Sequence[Recipient],
    relays: Sequence[str],
    *,
    prefix: bytes,
    envelope_from: str,
    helpdesk: Sequence[str] = (),
    screen: bool = False,
    lists: Sequence[str] = (),
) -> list[Outcome]:
    """The MX's path: ``raw`` for ``local`` (checked at RCPT time) through the
    one door (``screen``: with spam verdicts), relayed bounces (``relays``,
    unsigned) into the queue, the helpdesk's addresses to ``assistance`` and
    the lists' to ``lists``,
    all or nothing, in the batcher's next group commit; durable when it
    returns. The message's parse, spam look and classifier reads run in a
    delivery worker process (``batcher.analyse``). Raises DeliveryRefused (too big, spam
    refused), WorkerCrashed or storage errors."""
    check_size(len(raw))
    # The classifier's reads go to the worker with the recipients (rspamd's judge instead when set).
    accounts = sorted({r.account_id for r in local}) if screen and not rspamd.enabled() else None
    analysis = await batcher.analyse(raw, prefix, screen=screen, accounts=accounts) if local or lists else None
    route = await batcher.in_pool(
        prepare_route, raw, local, relays, mail_from=envelope_from, trace=prefix, sign=False, screen=screen,
        helpdesk=helpdesk, lists=lists, analysis=analysis,
    )
    return await batcher.commit(lambda: do_route(route, savepoint=False)) or []


# --- forwarded copies (the person's forward, a Sieve redirect) ---------------------------


def do_send_forward(
    account_id: int,
    account_address: str,
    target: str,
    prepared: PreparedContent,
    *,
    prefix: bytes,
    envelope_from: str,
) -> None:
    """Send a forwarded copy of a stored message to ``target`` (the policy
    already allowed it), with the loop marker on top. An académie target gets
    it from the same stored content, without its own filters or forward (so
    two accounts never loop); another is queued as ``do_send_forward_outside``
    does. Precondition: inside the delivery transaction."""
    head = sending.marker(account_address) + prefix
    if not is_local(target):
        do_send_forward_outside(
            account_id, account_address, target, head + blob_store().get(prepared.sha256), envelope_from=envelope_from
        )
        return
    (checked,) = check_recipients([target])
    if isinstance(checked, DeliveryRefused):
        log.info("forward of account %s to %s not delivered: %s", account_id, target, checked.message)
        return
    route = Route(envelope_from, [checked], [], prepared, b"", head, account_id, run_filters=False)
    do_route(route, all_or_nothing=False)


def do_send_forward_outside(
    account_id: int, account_address: str, target: str, raw: bytes, *, envelope_from: str
) -> None:
    """Queue ``raw`` for ``target`` outside the académie: DKIM-signed for the
    account's domain (the original signature, if any, stays valid beside it),
    with an SRS envelope sender in that domain (``forwarding.srs``) so SPF
    holds and bounces come back to the original sender.
    Precondition: inside ``transaction.atomic()``."""
    signed = dkim.signature_for(raw, domain_of(account_address)) + raw
    mail_from = sending.envelope_sender(envelope_from, account_address)
    do_route(Route(mail_from, [], [target], None, signed, b"", account_id), all_or_nothing=False)


def release_held_forward(held_id: int) -> bool:
    """An administrator approved a held forward: send the copy (SRS sender and
    DKIM made now, so they are fresh) and drop it. False when already handled.

    Precondition: none (own transaction)."""
    with transaction.atomic():
        held = sending.take_held(held_id)
        if held is None:
            return False
        do_send_forward_outside(
            held.account_id, held.account.address, held.target, bytes(held.raw), envelope_from=held.mail_from
        )
        sending.do_discard_held(held)
    return True


# --- the platform's own mail --------------------------------------------------------------


@dataclass
class SendReport:
    delivered: list[str] = field(default_factory=list)
    captured: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def do_send_platform_mail(
    raw: bytes, *, mail_from: str, recipients: Sequence[str], enforce_quota: bool = True
) -> SendReport:
    """Send mail in the platform's name (acknowledgements, notices, alerts,
    invitations): ``raw`` is a whole message (French first; From one of the
    platform's addresses, DKIM-signed for its domain). Académie recipients get
    it through the one door (their filters apply); the others through the
    outbound queue, or into the outbound capture (``settings.OUTBOUND_CAPTURE``:
    demo, tests, any non-production run), where administrators read it. A
    recipient who cannot receive is reported in ``refused``, the others get it.
    No sending limits (the platform is not a person).

    ``enforce_quota=False`` stores local copies past a full quota (the
    full-mailbox notice of ``store.quota``, which must reach a full mailbox).

    ``django.core.mail.send_mail`` reaches here too (``delivery.mailbackend``).
    Precondition: none; durable when it returns (or, called inside a
    transaction, when that commits)."""
    # Captured mail is read by administrators as it was written: not signed.
    route = check_route(
        raw, recipients, mail_from=mail_from, sign=not settings.OUTBOUND_CAPTURE, enforce_quota=enforce_quota
    )
    report = SendReport(refused={a: r.message for a, r in route.refused.items()})
    if route.local or route.remote:
        with transaction.atomic():
            outcomes = do_route(route, all_or_nothing=False, capture=settings.OUTBOUND_CAPTURE) or []
        for outcome in outcomes:
            if outcome.delivered:
                report.delivered.append(outcome.recipient.address)
            else:
                report.refused[outcome.recipient.address] = (outcome.refusal.value if outcome.refusal else "")
        (report.captured if settings.OUTBOUND_CAPTURE else report.queued).extend(route.remote)
    if report.refused:
        log.warning("platform mail refused for %s", ", ".join(sorted(report.refused)))
    return report


def send_notice(raw: bytes, recipients: Sequence[str], enforce_quota: bool) -> None:
    """A notice of the platform (``store.quota``'s ``Sender``): from
    ``DEFAULT_FROM_EMAIL``, through ``do_send_platform_mail``."""
    do_send_platform_mail(raw, mail_from=settings.DEFAULT_FROM_EMAIL, recipients=recipients, enforce_quota=enforce_quota)
