"""Template filters of the search results: highlighted matches and folder names."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString

from academail.store.webmail import Mailbox, display_name
from academail.webmail.searching import highlight

register = template.Library()


@register.filter
def marked(text: str, terms: Iterable[str] | None) -> SafeString:
    """``text|marked:terms``: escaped, the matches in ``<mark>``."""
    return highlight(text or "", terms or ())


@register.filter
def folder_label(mailbox: Mailbox) -> str:
    """What a person reads for a folder ("Boîte de réception", not "INBOX")."""
    return display_name(mailbox)
