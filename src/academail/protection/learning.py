"""The classifier learns from what people do, whatever the protocol: the
store's ``junk_verdict`` signal (moves into and out of Indésirables, the
``$Junk`` / ``$NotJunk`` keywords, from the webmail, phones or Thunderbird),
and the person's own Sieve ``fileinto "Indésirables"`` (``do_learn`` from the
delivery's filtering).

Learning is idempotent per person and content (``Learned``): the same message
reported twice counts once; the opposite verdict later undoes the first.
Keeping mail from a sender (moving it out of Indésirables) makes that sender a
correspondent, whose mail then stays out of Indésirables.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from academail.mime.parse import parse_message
from academail.protection import classifier, rspamd
from academail.protection.models import ACADEMIE_SCOPE, Correspondent, Learned, ReportedSender
from academail.protection.spam import message_tokens, sender_of
from academail.store.blobs import blob_store
from academail.store.signals import junk_verdict

log = logging.getLogger(__name__)


def connect() -> None:
    junk_verdict.connect(_on_verdict, dispatch_uid="academail.protection.learning")


def _on_verdict(sender: object, *, account_id: int, spam: bool, messages: Sequence[tuple[str, bytes]], **_: Any) -> None:
    try:
        do_learn(account_id, messages, spam=spam)
    except Exception:  # learning must never break the move a person asked for
        log.exception("learning from account %s failed", account_id)


def do_learn(account_id: int, messages: Sequence[tuple[str, bytes]], *, spam: bool) -> int:
    """Teach the académie's and the person's classifier that ``messages``
    ((content sha256, per-delivery prefix) pairs) are spam or not; returns how
    many changed anything. Not spam: their senders become correspondents.
    With ``ACADEMAIL_RSPAMD_CONTROLLER_URL`` set, each message that changed
    anything is also taught to rspamd (``/learnspam`` / ``/learnham``, after
    its transaction; a failure is logged, the built-in engine stays taught).
    Precondition: none (own transaction)."""
    learned = 0
    for sha256, prefix in messages:
        with transaction.atomic():
            previous = Learned.objects.select_for_update().filter(account_id=account_id, sha256=sha256).first()
            if previous is not None and previous.spam == spam:
                continue
            raw = blob_store().get(sha256)
            parsed = parse_message(raw)
            tokens = message_tokens(parsed, prefix)
            scopes = [ACADEMIE_SCOPE, account_id]
            if previous is not None:  # the opposite verdict: undo it first
                classifier.do_count(scopes, tokens, spam=-1 if previous.spam else 0, ham=0 if previous.spam else -1)
                previous.spam = spam
                previous.save(update_fields=["spam"])
            else:
                Learned.objects.create(account_id=account_id, sha256=sha256, spam=spam)
            classifier.do_count(scopes, tokens, spam=1 if spam else 0, ham=0 if spam else 1)
            sender = sender_of(parsed)
            if sender:
                if spam:
                    Correspondent.objects.filter(account_id=account_id, address=sender).delete()
                    ReportedSender.objects.get_or_create(account_id=account_id, address=sender[:320])
                else:
                    ReportedSender.objects.filter(account_id=account_id, address=sender).delete()
                    do_note_correspondents(account_id, [sender])
            learned += 1
        if settings.RSPAMD_CONTROLLER_URL:
            rspamd.learn(prefix + raw, spam=spam)
    return learned


def do_note_correspondents(account_id: int, addresses: Sequence[str]) -> None:
    """Remember addresses the person wrote to or kept mail from (sender
    reputation). Precondition: none."""
    cleaned = sorted({a.strip().lower() for a in addresses if "@" in a})[:200]
    if cleaned:
        Correspondent.objects.bulk_create(
            [Correspondent(account_id=account_id, address=a[:320]) for a in cleaned], ignore_conflicts=True
        )
