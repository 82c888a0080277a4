"""Template filters of the webmail: message flags as booleans, a folder's
retention period, a text cut short."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import truncatechars
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_noop

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


@register.filter(is_safe=True)
def short(value: str | None, length: int) -> str:
    """``truncatechars``, with the common case first: a list shows four texts
    on each of 50 rows, most already short enough, and Django's Truncator
    walks every character of each (issue 20: a tenth of the list's time)."""
    text = value or ""
    return text if len(text) <= length else truncatechars(text, length)


# (css class, symbol, French name) of each mark, in the order shown.
_MARKS = (("wm-mark wm-mark--unread", "●", gettext_noop("Non lu")),
          ("wm-mark wm-mark--flag", "⚑", gettext_noop("Suivi")),
          ("wm-mark", "↩", gettext_noop("Répondu")),
          ("wm-mark", "📎", gettext_noop("Pièce jointe")))


@register.simple_tag
def marks(message: Message) -> SafeString:
    """A list row's marks: unread, followed, answered, attachment; each a
    symbol with its name as a tooltip and for screen readers. A tag, not an
    included template: the list draws it on each of its 50 rows, and an
    ``{% include %}`` per row cost more than the rest of the cell."""
    shown = (unread(message), flagged(message), answered(message), message.content.has_attachments)
    return mark_safe("".join(  # noqa: S308 - each part is format_html's
        format_html('<span class="{}" title="{}">{}<span class="fr-sr-only">{}</span></span>',
                    css, gettext(name), symbol, gettext(name))
        for (css, symbol, name), on in zip(_MARKS, shown, strict=True) if on))
