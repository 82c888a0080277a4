"""Template filters of the webmail: a folder's retention period, a dictionary
entry by a variable key; and ``list_rows``, the message list's rows, written
in Python (``webmail.rows``), not by filters applied on each row."""

from __future__ import annotations

from django import template

from academail.store import retention
from academail.store.webmail import Mailbox
from academail.webmail import rows

register = template.Library()


@register.filter
def purge_days(mailbox: Mailbox) -> int:
    """Days after which the folder's messages are purged (0: never)."""
    return retention.purge_days(mailbox)


@register.filter
def get_item(mapping: dict[str, object], key: str) -> object:
    """``mapping|get_item:key``: a dictionary entry by a variable key."""
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.simple_tag
def list_rows(items: list[rows.Row], selectable: object = False, show_folder: object = False) -> str:
    """``{% list_rows rows selectable show_folder %}``: the ``<tr>`` of each row."""
    return rows.rows_html(items, selectable=bool(selectable), show_folder=bool(show_folder))
