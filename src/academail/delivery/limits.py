"""Per-account sending limits, in the style of the national platform: the
recipients an account sends to (académie and outside addresses alike) are
counted over the last minute, hour and day. Over a *soft* limit the message is
accepted but held (``HeldMessage``) until an administrator releases or deletes
it; over a *hard* limit it is refused for now (SMTP ``450 4.7.1``, a French
message in the webmail). Administrators are told by e-mail, at most once per
account per ``SEND_LIMIT_NOTIFY_EVERY``.

``check_sending_limits`` is the one place both SMTP submission and the webmail
call (through ``delivery.route``), inside the transaction that stores or
queues the message, so a send and
its count commit together (and a rolled-back send counts nothing).

Counting reads ``SendEvent`` rows of one account through the (account_id, at)
index, one aggregate query for the three windows: a send within the limits
costs that query and one insert. Rows older than a day are purged per
account, at most once an hour (when its oldest row is a day and an hour old). Held recipients count against the
hard limits (a compromised account soon gets 450s instead of filling the held
list) but not the soft ones; a released message is counted as sent then.

A message whose recipients alone exceed a hard limit could never pass by
waiting, so a 450 would only make the client retry for days: it is held for
review instead (unless the account is already over that limit).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from academail.accounts.models import Account, Role, Status
from academail.delivery.models import HeldMessage, SendEvent, SendingState
from academail.delivery.queue import subject_of

log = logging.getLogger(__name__)

DAY = timedelta(days=1)
PURGE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class Window:
    name: str
    span: timedelta
    label: str  # French, for the reasons people read

    @property
    def soft(self) -> int:
        return int(getattr(settings, f"SEND_LIMIT_SOFT_{self.name.upper()}"))

    @property
    def hard(self) -> int:
        return int(getattr(settings, f"SEND_LIMIT_HARD_{self.name.upper()}"))


WINDOWS = (
    Window("minute", timedelta(minutes=1), "sur la dernière minute"),
    Window("hour", timedelta(hours=1), "sur la dernière heure"),
    Window("day", DAY, "sur les dernières 24 heures"),
)


class Verdict(enum.Enum):
    SEND = "send"
    HOLD = "hold"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str = ""  # French: the held message's motive, the webmail's refusal
    held_id: int | None = None


@dataclass(frozen=True)
class Usage:
    """Recipients counted per window name: sent only, and sent + held."""

    sent: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    stale: int = 0  # events older than a day and an hour: time to purge


def limits_enabled() -> bool:
    return any(w.soft or w.hard for w in WINDOWS)


def _usage_sql() -> str:
    table = connection.ops.quote_name(SendEvent._meta.db_table)
    columns = ["SUM(CASE WHEN at <= %s THEN 1 ELSE 0 END)"]
    for _ in WINDOWS:
        columns.append("SUM(CASE WHEN at > %s AND NOT held THEN recipients ELSE 0 END)")
        columns.append("SUM(CASE WHEN at > %s THEN recipients ELSE 0 END)")
    # Only constant fragments and the model's table name; the values are parameters.
    return f"SELECT {', '.join(columns)} FROM {table} WHERE account_id = %s"  # noqa: S608


def usage(account_id: int, now: datetime) -> Usage:
    """One aggregate query over the account's events (an index range scan: the
    purge keeps at most a day and an hour of them). Plain SQL: the ORM spent
    more time building this query than the database answering it."""
    adapt = connection.ops.adapt_datetimefield_value
    params: list[object] = [adapt(now - DAY - PURGE_EVERY)]
    for window in WINDOWS:
        since = adapt(now - window.span)
        params += [since, since]
    with connection.cursor() as cursor:
        cursor.execute(_usage_sql(), [*params, account_id])
        row = cursor.fetchone()
    values = [int(v or 0) for v in row]
    return Usage(
        sent={w.name: values[1 + 2 * i] for i, w in enumerate(WINDOWS)},
        total={w.name: values[2 + 2 * i] for i, w in enumerate(WINDOWS)},
        stale=values[0],
    )


def decide(used: Usage, count: int) -> tuple[Verdict, str]:
    """Pure: the verdict for ``count`` more recipients, and its French reason."""
    hold_reason = ""
    for window in WINDOWS:
        hard, total = window.hard, used.total[window.name]
        if hard and total + count > hard:
            if count > hard and total < hard:
                hold_reason = hold_reason or (
                    f"{count} destinataires en un seul message : plus que la limite de {hard} {window.label}."
                )
                continue
            return Verdict.REFUSE, (
                f"Limite d'envoi atteinte : {total + count} destinataires {window.label} "
                f"(maximum {hard}). Le message n'est pas parti ; réessayez plus tard."
            )
    if hold_reason:
        return Verdict.HOLD, hold_reason
    for window in WINDOWS:
        soft, sent = window.soft, used.sent[window.name]
        if soft and sent + count > soft:
            return Verdict.HOLD, (
                f"Seuil de vérification dépassé : {sent + count} destinataires {window.label} "
                f"(seuil {soft})."
            )
    return Verdict.SEND, ""


def _locked_state(account_id: int) -> SendingState:
    state = SendingState.objects.select_for_update().filter(account_id=account_id).first()
    if state is None:
        SendingState.objects.get_or_create(account_id=account_id)
        state = SendingState.objects.select_for_update().get(account_id=account_id)
    return state


def check_sending_limits(
    *,
    account_id: int,
    identifier: str,
    recipients: Sequence[str],
    raw: bytes,
    mail_from: str,
    origin: str,  # HeldMessage.Origin: "smtp" or "webmail"
    trace: bytes = b"",
    now: datetime | None = None,
) -> Decision:
    """Check ``account_id``'s limits for ``recipients`` more and act:

    - SEND: the recipients are counted; the caller sends, in this transaction;
    - HOLD: ``raw`` (final bytes but for ``trace``, our Received field, and the
      DKIM signature, both added at release) is stored as a HeldMessage and
      counted as held; the caller sends nothing and tells the sender it is accepted;
    - REFUSE: nothing is counted; the caller refuses (450 4.7.1).

    Administrators are notified after the commit on HOLD and REFUSE (at most
    once per account per ``SEND_LIMIT_NOTIFY_EVERY``).

    Precondition: inside the ``transaction.atomic()`` that sends the message;
    on PostgreSQL locks the account's SendingState row (SELECT ... FOR UPDATE)
    until it ends, so one account's concurrent sends are counted one after
    the other (SQLite's IMMEDIATE transactions already serialise writers)."""
    count = len(recipients)
    if not limits_enabled() or count == 0:
        return Decision(Verdict.SEND)
    now = now or timezone.now()
    # SQLite transactions here are IMMEDIATE: writers already go one at a time.
    state = _locked_state(account_id) if connection.vendor != "sqlite" else None
    used = usage(account_id, now)
    verdict, reason = decide(used, count)
    held_id: int | None = None
    if verdict is Verdict.SEND:
        SendEvent.objects.create(account_id=account_id, at=now, recipients=count)
    elif verdict is Verdict.HOLD:
        event = SendEvent.objects.create(account_id=account_id, at=now, recipients=count, held=True)
        held_id = HeldMessage.objects.create(
            created_at=now, account_id=account_id, identifier=identifier, origin=origin, mail_from=mail_from,
            recipients=list(recipients), subject=subject_of(raw), reason=reason,
            trace=trace, raw=raw, size=len(raw), event=event,
        ).pk
        log.warning("sending limits: message from %s held (%s)", identifier, reason)
    else:
        log.warning("sending limits: message from %s refused (%s)", identifier, reason)
    if used.stale:
        SendEvent.objects.filter(account_id=account_id, at__lte=now - DAY).delete()
    if verdict is not Verdict.SEND:
        state = state or _locked_state(account_id)
        if state.notified_at is None or (now - state.notified_at).total_seconds() >= settings.SEND_LIMIT_NOTIFY_EVERY:
            state.notified_at = now
            state.save(update_fields=["notified_at"])
            transaction.on_commit(lambda: notify_admins(identifier, verdict, reason))
    return Decision(verdict, reason, held_id)


def notify_admins(identifier: str, verdict: Verdict, reason: str) -> int:
    """E-mail every active administrator (django.core.mail: the platform's own
    mail path) about ``identifier``; returns how many were written to. Never raises."""
    from django.core.mail import send_mail

    addresses = list(
        Account.objects.filter(role=Role.ADMIN, status=Status.ACTIVE).values_list("address", flat=True)
    )
    if not addresses:
        return 0
    what = "retenu pour vérification" if verdict is Verdict.HOLD else "refusé"
    body = (
        f"Le compte {identifier} a dépassé une limite d'envoi : un message a été {what}.\n"
        f"Motif : {reason}\n\n"
        "Les messages retenus attendent dans l'administration, « Messages retenus (limites d'envoi) » : "
        "libérez-les s'ils sont légitimes, sinon supprimez-les et vérifiez que le compte n'est pas compromis.\n"
        f"{settings.PUBLIC_URL}/admin/delivery/heldmessage/\n\n"
        f"(Pas d'autre avis pour ce compte avant {max(1, settings.SEND_LIMIT_NOTIFY_EVERY // 60)} minutes.)\n"
    )
    try:
        send_mail(f"Limite d'envoi dépassée : {identifier}", body, None, addresses)
    except Exception:
        log.exception("sending limits: could not notify the administrators about %s", identifier)
        return 0
    return len(addresses)


# --- release (the sending itself: ``delivery.route.release_held``) ---------------------


def take_held(held_id: int, *, lock: bool) -> HeldMessage | None:
    """The held message, or None when already released or deleted. With
    ``lock`` (inside the release transaction) its row and the account's
    SendingState are locked until the transaction ends, so two administrators
    releasing it at once send it once."""
    if not lock:
        return HeldMessage.objects.filter(pk=held_id).first()
    held = HeldMessage.objects.select_for_update().filter(pk=held_id).first()
    if held is not None:
        _locked_state(held.account_id)
    return held


def do_count_release(held: HeldMessage, *, now: datetime) -> None:
    """Count a released message as sent (its held count removed) and drop the
    held row. Precondition: inside the transaction that sends it, ``held``
    locked by ``take_held``."""
    if held.event_id is not None:
        SendEvent.objects.filter(pk=held.event_id).delete()
    SendEvent.objects.create(account_id=held.account_id, at=now, recipients=len(held.recipients))
    held.delete()
