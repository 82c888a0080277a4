"""Template filters of the webmail: message flags as booleans, a folder's
retention period."""

from __future__ import annotations

from django import template

from academail.store import retention
from academail.store.webmail import Flag, Mailbox, Message

register = template.Library()


@register.filter
def unread(message: Message) -> bool:
    return not message.flags & Flag.SEEN


@register.filter
def flagged(message: Message) -> bool:
    return bool(message.flags & Flag.FLAGGED)


@register.filter
def answered(message: Message) -> bool:
    return bool(message.flags & Flag.ANSWERED)


@register.filter
def purge_days(mailbox: Mailbox) -> int:
    """Days after which the folder's messages are purged (0: never)."""
    return retention.purge_days(mailbox)


@register.filter
def get_item(mapping: dict[str, object], key: str) -> object:
    """``mapping|get_item:key``: a dictionary entry by a variable key."""
    return mapping.get(key) if isinstance(mapping, dict) else None
