"""Each recipient's filters at delivery: where the message goes (folder, flags,
discard), and what it sets off (redirects, the person's forward, an
out-of-office reply).

Runs inside the delivery transaction, for the door only. Decisions come from
``filters.engine.decide`` (which only reads); this module turns them into store
placements and, after storing, into outbound mail. A filter never loses mail:
a broken script is an implicit keep, a folder that cannot be made falls back to
the INBOX, a redirect or forward the académie's policy does not allow
(``forwarding.policy``) or that would loop keeps the message and journals why.
The person's forward (``forwarding``) applies after the filters, to what they
kept; without "keep a copy" the local copies go only once the forward is allowed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import format_datetime, make_msgid
from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from academail.accounts.journal import do_record
from academail.accounts.models import Account, EventKind
from academail.filters.engine import (
    IMPLICIT_KEEP,
    FilterDecision,
    accounts_with_filters,
    decide,
    do_remember_vacation,
)
from academail.forwarding import policy, sending
from academail.mime.headers import split_header
from academail.protection import spam
from academail.protection.learning import do_learn
from academail.protection.spam import Screening
from academail.store.blobs import blob_store
from academail.store.mailboxes import do_file_into
from academail.store.messages import Placement, PreparedContent, special_mailbox_ids

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Forward:
    """One copy to send for an account (Sieve redirect or the person's
    forward), with the policy's verdict for this message."""

    account_id: int
    account_address: str
    target: str
    decision: policy.Decision


@dataclass(frozen=True)
class Plan:
    decisions: dict[int, FilterDecision]
    placements: list[Placement]
    forwards: list[Forward] = field(default_factory=list)
    learn: list[int] = field(default_factory=list)  # accounts whose own Sieve filed it as junk


def plan(
    prepared: PreparedContent,
    recipients: Mapping[int, str],
    inboxes: Mapping[int, int],
    *,
    envelope_from: str,
    size: int,
    screening: Screening | None = None,
    prefix: bytes = b"",
) -> Plan:
    """Run each recipient's filters and list the placements (0, 1 or 2 per
    account). With ``screening`` (``protection.spam.screen``), each person's
    spam verdict follows ``prefix`` in their copy, Sieve's
    ``spamtest`` sees it, and what the filters would keep in the INBOX goes to
    Indésirables when it is junk (junk is not forwarded). A person's own
    ``fileinto "Indésirables"`` teaches their classifier (``Plan.learn``).
    Precondition: inside the delivery transaction."""
    raw: Callable[[], bytes] = cache(lambda: blob_store().get(prepared.sha256))
    # Header tests on fields the parser does not carry read the header section only.
    header: Callable[[], bytes] = cache(
        lambda: blob_store().read_range(prepared.sha256, 0, prepared.parsed.root.body_start)
    )
    marks = cache(lambda: _marks(prepared, raw()))
    decisions: dict[int, FilterDecision] = {}
    placements: list[Placement] = []
    forwards: list[Forward] = []
    learn: list[int] = []
    present = [a for a in recipients if a in inboxes]
    filtered = accounts_with_filters(present)
    forwarding = sending.forwards_for(present)
    verdicts = spam.verdicts(screening, present) if screening is not None else {}
    junk_boxes = special_mailbox_ids([*(a for a, v in verdicts.items() if v.junk), *filtered], "junk")
    for account_id, address in recipients.items():
        if account_id not in inboxes:
            continue
        verdict = verdicts.get(account_id)
        own_prefix = prefix + verdict.header() if verdict is not None else None
        junk_box = junk_boxes.get(account_id) if verdict is not None and verdict.junk else None
        keep_box = junk_box or inboxes[account_id]
        active = forwarding.get(account_id) if junk_box is None else None
        if account_id not in filtered and active is None:
            placements.append(Placement(account_id, keep_box, prefix=own_prefix))
            continue
        decision = IMPLICIT_KEEP
        if account_id in filtered:
            decision = decide(
                account_id, prepared.parsed, envelope_from=envelope_from, envelope_to=address, size=size,
                raw=raw, header=header,
                spam=(verdict.spamtest(), verdict.spamtest_percent()) if verdict is not None else None,
            )
        decisions[account_id] = decision
        folders = decision.local_mailboxes
        targets = list(decision.redirects)
        if active is not None and folders:  # the forward takes what the filters kept
            targets.append(active.target)
        if targets:
            own = active.address if active is not None else _main_address(account_id, address)
            judged = [Forward(account_id, own, t, _judge(own, t, marks)) for t in targets]
            forwards.extend(judged)
            if active is not None and folders and judged[-1].decision.allowed and not active.keep_copy:
                folders = []
            if not folders and not all(f.decision.allowed for f in judged):
                folders = [None]  # a copy that does not go keeps the message here
        bits, keywords = decision.store_flags()
        for folder in folders:
            box_id = keep_box if folder is None else do_file_into(account_id, folder, fallback_id=inboxes[account_id])
            if folder is not None and box_id == junk_boxes.get(account_id) and junk_box is None:
                learn.append(account_id)  # the person's own rule says junk
            placements.append(Placement(account_id, box_id, bits, keywords, prefix=own_prefix))
    return Plan(decisions, placements, forwards, learn)


def _marks(prepared: PreparedContent, raw: bytes) -> tuple[policy.MessageMarks, list[tuple[str, str]]]:
    fields = split_header(raw, 0, len(raw), allow_unixfrom=True).fields()
    return policy.marks_from(prepared.parsed.subject, fields), fields


def _main_address(account_id: int, fallback: str) -> str:
    return Account.objects.filter(pk=account_id).values_list("address", flat=True).first() or fallback


def _judge(
    own: str, target: str, marks: Callable[[], tuple[policy.MessageMarks, list[tuple[str, str]]]]
) -> policy.Decision:
    message, fields = marks()
    if sending.already_forwarded(fields, own):
        return policy.Decision(policy.Verdict.REFUSE, (
            f"Message non transféré vers {target} : il a déjà été transféré depuis {own} et y revient "
            "(boucle de transfert). Il reste dans votre boîte."
        ))
    decision = policy.decide(own, target, message)
    if decision.allowed and _local(target):
        from academail.delivery.door import DeliveryRefused, check_recipient

        try:
            check_recipient(target)
        except DeliveryRefused as refused:  # checked now, so the message stays rather than vanish
            return policy.Decision(policy.Verdict.REFUSE, f"Transfert vers {target} impossible : {refused.message}")
    return decision


def do_follow_up(
    prepared: PreparedContent,
    decisions: Mapping[int, FilterDecision],
    addresses: Mapping[int, str],
    *,
    forwards: Sequence[Forward] = (),
    prefix: bytes = b"",
    envelope_from: str = "",
    learn: Sequence[int] = (),
) -> None:
    """After storing: journal script errors, send (or hold, or journal the
    refusal of) redirects and forwards, send out-of-office replies. Only for
    the accounts in ``decisions`` (those that got the message). Once
    committed, the classifiers of the ``learn`` accounts (whose own Sieve filed
    the message in Indésirables) learn it as junk.
    Precondition: inside the delivery transaction (the outbound mail commits
    with the delivery)."""
    # Imported here: the route imports the door, which imports this module.
    from academail.delivery.route import do_send_forward

    for account_id in learn:
        _learn_on_commit(account_id, prepared.sha256, prefix)
    for account_id, decision in decisions.items():
        if decision.error:
            do_record(account_id, EventKind.FILTER_ERROR, detail=decision.error[:500])
        if decision.vacation is not None:
            _vacation(account_id, decision)
    for forward in forwards:
        if forward.account_id not in decisions:
            continue
        verdict = forward.decision.verdict
        if verdict is policy.Verdict.ALLOW:
            do_send_forward(forward.account_id, forward.account_address, forward.target, prepared,
                            prefix=prefix, envelope_from=envelope_from)
        elif verdict is policy.Verdict.HOLD:
            sending.do_hold(forward.account_id, forward.account_address, forward.target, prepared,
                            prefix=prefix, envelope_from=envelope_from, reason=forward.decision.reason)
            do_record(forward.account_id, EventKind.FILTER_ERROR,
                      detail=f"Transfert vers {forward.target} en attente de l'accord d'un administrateur.")
        else:
            do_record(forward.account_id, EventKind.FILTER_ERROR, detail=forward.decision.reason)


def _learn_on_commit(account_id: int, sha256: str, prefix: bytes) -> None:
    def learn() -> None:
        try:
            do_learn(account_id, [(sha256, prefix)], spam=True)
        except Exception:  # learning never undoes a delivery
            log.exception("learning from account %s's filter failed", account_id)

    transaction.on_commit(learn)


def _local(address: str) -> bool:
    return address.rpartition("@")[2].lower() in settings.MAIL_DOMAINS


def _send(raw: bytes, *, mail_from: str, to: str) -> None:
    """A redirect or an out-of-office reply, through the one routing service:
    an académie address gets it without its filters (``run_filters=False``: a
    redirect between two accounts' filters can never loop), another is queued
    as is. Precondition: inside the delivery transaction."""
    # Imported here: the route imports the door, which imports this module.
    from academail.delivery.route import check_route, do_route

    route = check_route(raw, [to], mail_from=mail_from, sign=False, run_filters=False)
    for address, refused in route.refused.items():
        log.info("filter mail to %s not delivered: %s", address, refused.message)
    do_route(route, all_or_nothing=False)


def _vacation(account_id: int, decision: FilterDecision) -> None:
    reply = decision.vacation
    assert reply is not None
    # The reason as a MIME entity (":mime", RFC 5230 §4.3) or as UTF-8 text.
    message = reply.entity()
    for name in ("From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "In-Reply-To", "References"):
        del message[name]
    message["From"] = reply.from_
    message["To"] = reply.to
    message["Subject"] = reply.subject
    message["Date"] = format_datetime(timezone.localtime())
    message["Message-ID"] = make_msgid(domain=settings.MAIL_DOMAINS[0])
    message["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5
    if reply.in_reply_to:
        message["In-Reply-To"] = reply.in_reply_to
        message["References"] = reply.in_reply_to
    if "MIME-Version" not in message:
        message["MIME-Version"] = "1.0"
    # RFC 5230 §5.1: the reply's envelope sender is empty, so it never bounces back.
    _send(message.as_bytes(), mail_from="", to=reply.to)
    do_remember_vacation(account_id, reply.remember, timezone.now(), days=reply.days)
