"""Template filters of the webmail: a folder's retention period, a dictionary
entry by a variable key. The message list's rows are written in Python
(``webmail.rows``), not by filters applied on each row."""

from __future__ import annotations

from django import template

from academail.store import retention
from academail.store.webmail import Mailbox

register = template.Library()


@register.filter
def purge_days(mailbox: Mailbox) -> int:
    """Days after which the folder's messages are purged (0: never)."""
    return retention.purge_days(mailbox)


@register.filter
def get_item(mapping: dict[str, object], key: str) -> object:
    """``mapping|get_item:key``: a dictionary entry by a variable key."""
    return mapping.get(key) if isinstance(mapping, dict) else None
