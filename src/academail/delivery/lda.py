"""``academail deliver``: the local delivery agent. One message on standard
input, recipients as arguments; exits with a sysexits code an MTA understands
(Postfix's ``pipe`` or ``mailbox_command``).

All or nothing: if any recipient is unknown or full, nothing is stored and the
exit code says why, so the MTA's retry or bounce covers every recipient once.
"""

from __future__ import annotations

import logging
import sys
from typing import BinaryIO

from django.conf import settings
from django.db import transaction

from academail.delivery.door import (
    DeliveryRefused,
    Recipient,
    Refusal,
    check_recipient,
)
from academail.delivery.route import do_route, prepare_route

log = logging.getLogger(__name__)

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_NOUSER = 67
EX_SOFTWARE = 70
EX_TEMPFAIL = 75

_EXIT_FOR = {
    Refusal.UNKNOWN_RECIPIENT: EX_NOUSER,
    Refusal.MAILBOX_FULL: EX_TEMPFAIL,
    Refusal.TOO_BIG: EX_DATAERR,
    Refusal.SPAM: EX_DATAERR,  # the MTA bounces it: never dropped silently
}


def run_lda(stream: BinaryIO, addresses: list[str], *, sender: str = "") -> int:
    if not addresses:
        print("academail deliver: au moins un destinataire est requis", file=sys.stderr)  # noqa: T201
        return EX_USAGE
    raw = stream.read(settings.MAX_MESSAGE_SIZE + 1)
    try:
        recipients: list[Recipient] = [check_recipient(a, size_hint=len(raw)) for a in addresses]
        prefix = f"Return-Path: <{sender}>\r\n".encode() if sender else b""
        route = prepare_route(raw, recipients, [], mail_from=sender, trace=prefix, screen=settings.SPAM_FILTER)
        with transaction.atomic():
            # All or nothing: one refused copy stores nothing, the MTA retries all.
            outcomes = do_route(route) or []
        refused = [o for o in outcomes if not o.delivered]
    except DeliveryRefused as error:
        print(f"academail deliver: {error.message}", file=sys.stderr)  # noqa: T201
        return _EXIT_FOR[error.refusal]
    except Exception:
        log.exception("local delivery failed")
        return EX_TEMPFAIL
    if refused:
        first = refused[0]
        print(f"academail deliver: {first.recipient.address}: refusé ({first.refusal})", file=sys.stderr)  # noqa: T201
        return _EXIT_FOR[first.refusal or Refusal.MAILBOX_FULL]
    return EX_OK
