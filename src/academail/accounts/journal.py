"""The activity journal: what happened to an account (sign-ins and failures
with protocol, address and device, password and secondary-address changes,
sessions closed, and later filter and forwarding changes), who may read it
(the account's owner), and its purge after ``JOURNAL_RETENTION_DAYS`` (12 months).

Pages are keyset-paginated on the entry id (newest first), so the thousandth
page costs what the first does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from academail.accounts.models import Account, JournalEntry

PAGE_SIZE = 25
_PURGE_BATCH = 5000


def do_record(
    account: Account | int,
    kind: Any,
    *,
    protocol: str = "",
    remote_addr: str = "",
    device: str = "",
    detail: str = "",
) -> JournalEntry:
    """Append one entry (``kind``: an ``EventKind``; typed ``Any`` because
    mypy without Django stubs sees a choice as its (value, label) tuple).
    Other apps (filters, forwarding) call this too."""
    from academail.accounts.throttle import network_of

    account_id = account if isinstance(account, int) else account.pk
    valid_addr = remote_addr if network_of(remote_addr) != "unknown" else None
    return JournalEntry.objects.create(
        account_id=account_id, kind=str(kind), protocol=protocol[:8], remote_addr=valid_addr,
        device=device[:200], detail=detail[:300],
    )


@dataclass(frozen=True)
class JournalPage:
    entries: list[JournalEntry]
    next_before: int | None  # pass as ``before`` for the next (older) page


def access_journal_page(requester: Account, *, before: int | None = None) -> JournalPage:
    """A page of the requester's own journal, newest first; entries older than
    id ``before`` when given. Nobody reads another person's journal here (the
    administrators have the admin)."""
    return journal_page_of(requester.pk, before=before)


def journal_page_of(account_id: int, *, before: int | None = None) -> JournalPage:
    """A page of ``account_id``'s journal, newest first. Precondition: the
    caller checked who may read it: the owner (``access_journal_page``), or
    for a functional mailbox the people who manage it
    (``sharing.functional.access_functional``)."""
    rows = JournalEntry.objects.filter(account_id=account_id)
    if before is not None:
        rows = rows.filter(id__lt=before)
    entries = list(rows.order_by("-id")[: PAGE_SIZE + 1])
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    return JournalPage(entries, entries[-1].pk if more and entries else None)


# --- why a mail client's sign-in failed (the phone diagnosis) ---------------------------------

class FailureReason:
    """The ``detail`` of a ``SIGNIN_FAILED`` entry: why the attempt failed.
    Written in French because the security page shows the detail as is; the
    phone diagnosis (``access_mail_sign_in_failures``) maps it back to a code."""

    WRONG_PASSWORD = "mot de passe incorrect"  # noqa: S105 - a journal text, not a secret
    APP_PASSWORD_REQUIRED = "mot de passe du compte refusé : un mot de passe d'application est exigé"  # noqa: S105 - a journal text
    THROTTLED = "refusée sans vérification : trop d'essais, attente en cours"
    PLAINTEXT = "refusée : connexion sans chiffrement (activez SSL/TLS)"
    INACTIVE = "compte non actif"

    CODES = {
        WRONG_PASSWORD: "wrong_password", APP_PASSWORD_REQUIRED: "app_password_required",
        THROTTLED: "throttled", PLAINTEXT: "plaintext", INACTIVE: "inactive",
    }


MAIL_PROTOCOLS = ("imap", "smtp")
DIAGNOSIS_DAYS = 30


@dataclass(frozen=True)
class MailSignInFailure:
    """One refused IMAP/SMTP sign-in, for "Configurer mon téléphone"."""

    at: datetime
    protocol: str
    device: str  # the IMAP ID name or the SMTP EHLO name, as ``describe_client`` labels it
    remote_addr: str
    reason: str  # a ``FailureReason.CODES`` value, or "unknown" for older entries
    fixed_at: datetime | None  # a later successful sign-in of the same device and protocol


def access_mail_sign_in_failures(requester: Account, *, limit: int = 10,
                                 now: datetime | None = None) -> list[MailSignInFailure]:
    """The requester's own latest refused IMAP/SMTP sign-ins (last 30 days),
    newest first, each with the time the same device signed in successfully
    afterwards, if it did. Two indexed queries, bounded by ``limit``."""
    from academail.accounts.models import EventKind

    since = (now or timezone.now()) - timedelta(days=DIAGNOSIS_DAYS)
    mine = JournalEntry.objects.filter(account_id=requester.pk, protocol__in=MAIL_PROTOCOLS, at__gte=since)
    failures = list(mine.filter(kind=EventKind.SIGNIN_FAILED).order_by("-id")[:limit])
    successes = list(mine.filter(kind__in=[EventKind.SIGNIN, EventKind.NEW_DEVICE])
                     .order_by("-id").values_list("at", "protocol", "device")[:200])
    result = []
    for entry in failures:
        fixed = [at for at, protocol, device in successes
                 if protocol == entry.protocol and device == entry.device and at > entry.at]
        result.append(MailSignInFailure(
            entry.at, entry.protocol, entry.device, entry.remote_addr or "",
            FailureReason.CODES.get(entry.detail, "unknown"), min(fixed) if fixed else None,
        ))
    return result


def do_record_refusal(account: Account, reason: str, *, protocol: str, remote_addr: str, device: str,
                      quiet_seconds: int = 60) -> None:
    """Journal a refusal that did not check the password (throttled, plain
    text), at most once per ``quiet_seconds`` for the same protocol, device and
    reason, so a client retrying in a loop does not flood the journal."""
    from academail.accounts.models import EventKind

    recent = JournalEntry.objects.filter(
        account_id=account.pk, kind=EventKind.SIGNIN_FAILED, protocol=protocol[:8], device=device[:200],
        detail=reason, at__gt=timezone.now() - timedelta(seconds=quiet_seconds),
    ).exists()
    if not recent:
        do_record(account, EventKind.SIGNIN_FAILED, protocol=protocol, remote_addr=remote_addr,
                  device=device, detail=reason)


def do_purge_journal(now: datetime) -> int:
    """Delete entries older than the retention period, in batches (short
    transactions on a large table), plus idle throttles and spent codes and
    reset links. Returns the number of journal entries deleted. Meant for the
    worker, once a day."""
    from academail.accounts.models import ResetToken, VerificationCode
    from academail.accounts.throttle import do_purge_throttles

    limit = now - timedelta(days=int(settings.JOURNAL_RETENTION_DAYS))
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                JournalEntry.objects.filter(at__lt=limit).values_list("id", flat=True)[:_PURGE_BATCH]
            )
            if not ids:
                break
            total += JournalEntry.objects.filter(id__in=ids).delete()[0]
    do_purge_throttles(now)
    day_ago = now - timedelta(days=1)
    ResetToken.objects.filter(expires_at__lt=day_ago).delete()
    VerificationCode.objects.filter(expires_at__lt=day_ago).delete()
    return total
