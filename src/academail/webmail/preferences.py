"""The person's webmail preferences: the signature, the conversation view by
default, how many messages a page shows, and the senders whose remote images
are always shown. The service functions (``access_*``, ``do_*``) are the only
writers of ``webmail.models``; the page is ``webmail.views.preferences``.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from academail.webmail.models import Preferences, TrustedSender

MAX_TRUSTED = 1000  # a bound, so that the list stays a list


# --- services -----------------------------------------------------------------


def access_preferences(account_id: int) -> Preferences:
    """The account's preferences; the defaults (unsaved) if it never saved any."""
    found = Preferences.objects.filter(account_id=account_id).first()
    return found if found is not None else Preferences(account_id=account_id)


def do_save_preferences(account_id: int, *, signature: str, conversations: bool, page_size: int) -> Preferences:
    """Save the account's preferences (inputs already checked by the form)."""
    preferences, _created = Preferences.objects.update_or_create(
        account_id=account_id,
        defaults={"signature": signature, "conversations": conversations, "page_size": page_size},
    )
    return preferences


def do_set_conversations(account_id: int, conversations: bool) -> None:
    """The list's "Conversations" toggle, remembered as the default."""
    Preferences.objects.update_or_create(account_id=account_id, defaults={"conversations": conversations})


def trusted_senders(account_id: int) -> list[TrustedSender]:
    return list(TrustedSender.objects.filter(account_id=account_id).order_by("address")[:MAX_TRUSTED])


def is_trusted_sender(account_id: int, address: str) -> bool:
    """Whether the account trusts this exact From address (case-insensitive)."""
    return bool(address) and TrustedSender.objects.filter(account_id=account_id, address=address.lower()).exists()


def do_trust_sender(account_id: int, address: str) -> bool:
    """Add ``address`` to the account's trusted senders; False if it already was
    there, the address is empty, or the list is full."""
    address = address.strip().lower()[:320]
    if not address or "@" not in address:
        return False
    if TrustedSender.objects.filter(account_id=account_id).count() >= MAX_TRUSTED:
        return False
    try:
        with transaction.atomic():
            TrustedSender.objects.create(account_id=account_id, address=address)
    except IntegrityError:
        return False
    return True


def do_forget_sender(account_id: int, sender_id: int) -> bool:
    """Remove one of the account's trusted senders (another account's id: False)."""
    deleted, _details = TrustedSender.objects.filter(account_id=account_id, pk=sender_id).delete()
    return bool(deleted)


# --- the page -------------------------------------------------------------------


def signature_block(signature: str) -> str:
    """The signature as inserted in a message: the "-- " separator line
    (RFC 3676 §4.3, which mail clients recognise), then the text."""
    return f"-- \n{signature}" if signature.strip() else ""


__all__ = [
    "MAX_TRUSTED", "access_preferences", "do_forget_sender", "do_save_preferences",
    "do_set_conversations", "do_trust_sender", "is_trusted_sender", "signature_block", "trusted_senders",
]
