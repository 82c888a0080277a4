"""Each recipient's filters at delivery: where the message goes (folder, flags,
discard), and what it sets off (redirects, an out-of-office reply).

Runs inside the delivery transaction, for the door only. Decisions come from
``filters.engine.decide`` (which only reads); this module turns them into store
placements and, after storing, into outbound mail. A filter never loses mail:
a broken script is an implicit keep, a folder that cannot be made falls back to
the INBOX, a refused redirect keeps the message and journals why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from academail.accounts.journal import do_record
from academail.accounts.models import EventKind
from academail.filters.engine import (
    FilterDecision,
    accounts_with_filters,
    decide,
    do_remember_vacation,
)
from academail.store.blobs import blob_store
from academail.store.errors import StoreError
from academail.store.mailboxes import access_mailbox_by_name, do_create_mailbox
from academail.store.messages import Placement, PreparedContent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    decisions: dict[int, FilterDecision]
    placements: list[Placement]


def plan(
    prepared: PreparedContent,
    recipients: Mapping[int, str],
    inboxes: Mapping[int, int],
    *,
    envelope_from: str,
    size: int,
) -> Plan:
    """Run each recipient's filters and list the placements (0, 1 or 2 per
    account). Precondition: inside the delivery transaction."""
    raw: Callable[[], bytes] = cache(lambda: blob_store().get(prepared.sha256))
    decisions: dict[int, FilterDecision] = {}
    placements: list[Placement] = []
    filtered = accounts_with_filters([a for a in recipients if a in inboxes])
    for account_id, address in recipients.items():
        if account_id not in inboxes:
            continue
        if account_id not in filtered:
            placements.append(Placement(account_id, inboxes[account_id]))
            continue
        decision = decide(
            account_id, prepared.parsed, envelope_from=envelope_from, envelope_to=address, size=size, raw=raw
        )
        decisions[account_id] = decision
        bits, keywords = decision.store_flags()
        for folder in decision.local_mailboxes:
            box_id = inboxes[account_id] if folder is None else _folder_id(account_id, folder, inboxes[account_id])
            placements.append(Placement(account_id, box_id, bits, keywords))
    return Plan(decisions, placements)


def _folder_id(account_id: int, folder: str, inbox_id: int) -> int:
    try:
        return access_mailbox_by_name(account_id, folder).pk
    except StoreError:
        pass
    try:
        with transaction.atomic():
            return do_create_mailbox(account_id, folder).pk
    except StoreError:
        return inbox_id  # an unusable folder name never loses the message


def do_follow_up(prepared: PreparedContent, decisions: Mapping[int, FilterDecision], addresses: Mapping[int, str]) -> None:
    """After storing: journal script errors, send redirects and out-of-office
    replies. Precondition: inside the delivery transaction (the outbound mail
    commits with the delivery)."""
    for account_id, decision in decisions.items():
        if decision.error:
            do_record(account_id, EventKind.FILTER_ERROR, detail=decision.error[:500])
        for target in decision.redirects:
            _redirect(account_id, prepared, target, addresses[account_id])
        if decision.vacation is not None:
            _vacation(account_id, decision)


def _local(address: str) -> bool:
    return address.rpartition("@")[2].lower() in settings.MAIL_DOMAINS


def _allowed(address: str) -> bool:
    domain = address.rpartition("@")[2].lower()
    return domain in settings.MAIL_DOMAINS or domain in settings.FORWARD_ALLOWED_DOMAINS


def _send(raw: bytes, *, mail_from: str, to: str) -> None:
    # Imported here: the door imports this module, and these import the door.
    from academail.delivery.door import (
        DeliveryRefused,
        check_recipient,
        do_deliver_prepared,
        prepare,
    )
    from academail.delivery.queue import do_enqueue

    if _local(to):
        try:
            recipient = check_recipient(to)
        except DeliveryRefused as refused:
            log.info("filter mail to %s not delivered: %s", to, refused.message)
            return
        # No filters for this copy (run_filters=False): a redirect between two
        # accounts' filters can never loop.
        do_deliver_prepared(prepare(raw), [recipient], run_filters=False)
    else:
        do_enqueue(raw, mail_from=mail_from, recipients=[to])


def _redirect(account_id: int, prepared: PreparedContent, target: str, own_address: str) -> None:
    """Sieve redirect (RFC 5228 §4.2), within the académie's forwarding rules:
    outside the allowed domains it is refused and journaled; the message stays."""
    if not _allowed(target):
        do_record(account_id, EventKind.FILTER_ERROR, detail=f"Transfert vers {target} refusé : domaine non autorisé.")
        return
    # The envelope sender is the forwarding person (SPF stays valid without SRS;
    # a bounce comes back to them, who set up the rule).
    _send(blob_store().get(prepared.sha256), mail_from=own_address, to=target)


def _vacation(account_id: int, decision: FilterDecision) -> None:
    reply = decision.vacation
    assert reply is not None
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = reply.from_
    message["To"] = reply.to
    message["Subject"] = reply.subject
    message["Date"] = format_datetime(timezone.localtime())
    message["Message-ID"] = make_msgid(domain=settings.MAIL_DOMAINS[0])
    message["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5
    if reply.in_reply_to:
        message["In-Reply-To"] = reply.in_reply_to
        message["References"] = reply.in_reply_to
    message.set_content(reply.body)
    # RFC 5230 §5.1: the reply's envelope sender is empty, so it never bounces back.
    _send(message.as_bytes(), mail_from="", to=reply.to)
    do_remember_vacation(account_id, reply.remember, timezone.now(), days=reply.days)
