"""Forwarding at delivery: which recipients of a batch forward (one query), the
loop marker, the SRS envelope sender, and holding a forwarded copy for an
administrator. Sending a copy (the person's forward or a Sieve ``redirect``)
once the policy allowed it is routing: ``delivery.route.do_send_forward``
(this package sits below ``delivery``, which runs it at delivery time).

A forwarded copy carries ``X-Academail-Forwarded-For: <account address>`` on
top; a message that already carries the account's address there went through
its forward once (A → outside X → back to A) and is not forwarded again, only
kept. Copies to académie addresses are stored through the one door, without
the target's filters or forward (so two accounts never loop), from the same
stored content. Copies to other domains are queued DKIM-signed for the
account's domain, with an SRS envelope sender in that domain (``forwarding.srs``)
so SPF holds and bounces come back to the original sender.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from academail.accounts.models import Account, Role, Status
from academail.forwarding import srs
from academail.forwarding.models import Forwarding, HeldForward
from academail.forwarding.policy import domain_of, is_academie
from academail.store.blobs import blob_store
from academail.store.messages import PreparedContent

log = logging.getLogger(__name__)

MARKER = "X-Academail-Forwarded-For"
_MARKER_NAME = MARKER.lower()


@dataclass(frozen=True)
class ActiveForward:
    account_id: int
    address: str  # the account's main address: the loop marker's value
    target: str
    keep_copy: bool


def forwards_for(account_ids: Iterable[int]) -> dict[int, ActiveForward]:
    """The confirmed forwards among these accounts: one query (the unique
    account index, joined to the account for its address). Raw SQL: the
    delivery writer asks it for every message, and the ORM's query building
    cost 0.68 ms of Python a call, ten times the query (bench/README.md)."""
    ids = list(account_ids)
    if not ids:
        return {}
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT f.account_id, a.address, f.target, f.keep_copy FROM {Forwarding._meta.db_table} f"  # noqa: S608
            f" JOIN {Account._meta.db_table} a ON a.id = f.account_id"
            f" WHERE f.account_id IN ({marks}) AND f.confirmed_at IS NOT NULL",
            ids,
        )
        rows = cursor.fetchall()
    return {int(row[0]): ActiveForward(int(row[0]), row[1], row[2], bool(row[3])) for row in rows}


def already_forwarded(fields: Iterable[tuple[str, str]], address: str) -> bool:
    """Did this message already go through ``address``'s forward?"""
    address = address.strip().lower()
    for name, value in fields:
        if name.lower() == _MARKER_NAME:
            if address in {part.strip().strip("<>").lower() for part in value.split(",")}:
                return True
    return False


def marker(address: str) -> bytes:
    return f"{MARKER}: {address}\r\n".encode()


def envelope_sender(original: str, account_address: str) -> str:
    """SRS for senders outside the académie; the null sender and académie
    senders stay as they are (our SPF covers the latter)."""
    original = original.strip().strip("<>")
    if not original or is_academie(original):
        return original
    return srs.forward(original, domain_of(account_address))


def do_hold(
    account_id: int,
    account_address: str,
    target: str,
    prepared: PreparedContent,
    *,
    prefix: bytes,
    envelope_from: str,
    reason: str,
) -> HeldForward:
    """Keep a forwarded copy for an administrator. Precondition: inside the
    delivery transaction. Administrators are told after the commit."""
    raw = marker(account_address) + prefix + blob_store().get(prepared.sha256)
    held = HeldForward.objects.create(
        account_id=account_id, target=target, mail_from=envelope_from[:320],
        subject=prepared.parsed.subject[:2000], reason=reason, raw=raw, size=len(raw),
    )
    transaction.on_commit(lambda: notify_admins(account_address, target))
    return held


def notify_admins(account_address: str, target: str) -> int:
    """Tell active administrators a forward waits for them (never raises)."""
    from django.core.mail import send_mail

    addresses = list(Account.objects.filter(role=Role.ADMIN, status=Status.ACTIVE).values_list("address", flat=True))
    if not addresses:
        return 0
    body = (
        f"Un message reçu par {account_address} doit être transféré vers {target}, "
        "une adresse extérieure à l'Éducation nationale.\n"
        "Il attend votre accord dans l'administration, « Transferts retenus (approbation) » : "
        "autorisez-le ou refusez-le (la personne garde sa copie dans sa boîte).\n"
        f"{settings.PUBLIC_URL}/admin/forwarding/heldforward/\n"
    )
    try:
        send_mail(f"Transfert à approuver : {account_address} → {target}", body, None, addresses)
    except Exception:  # noqa: BLE001 - a notice must not break delivery
        log.exception("could not notify administrators of a held forward")
        return 0
    return len(addresses)


def take_held(held_id: int) -> HeldForward | None:
    """The held copy, its row locked until the transaction ends (two
    administrators approving it at once send it once), with its account; None
    when already handled. ``delivery.route.release_held_forward`` sends it,
    then calls ``do_discard_held``. Precondition: inside ``transaction.atomic()``."""
    return HeldForward.objects.select_for_update().select_related("account").filter(pk=held_id).first()


def do_discard_held(held: HeldForward) -> None:
    """Drop a held copy (sent, or refused by an administrator).
    Precondition: inside the transaction that sent it, if it was."""
    held.delete()
    log.info("held forward %s handled at %s", held.pk, timezone.now())
