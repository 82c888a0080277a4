"""The message list's rows (``partials/message_rows.html``), each written out
once in Python: a folder page and a search page show 50 of them, and the
template's per-row work (a ``{% url %}``, two date formats, a size, marks,
cut texts, each catalogue look-up) was most of the server's time for the
list (issue 20). Every text that is the same on all rows (the link pattern,
month names, size units, the marks' names) is looked up once per list.

What the rows show is unchanged: the same texts, dates as "7 décembre 2026,
14:05" in the time zone of the request, sizes as ``store.sizes.taille``.
The ``<tr>`` markup itself is one string format per row (``rows_html``):
the template's dozen variable and ``{% if %}`` nodes a row, and the
indentation between cells (nine text nodes a row for the browser to parse and
keep), were most of what was left of a list's rendering.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext, gettext_noop

from academail.store.sizes import size_words
from academail.store.webmail import Flag, Message, display_name
from academail.webmail.searching import highlight

# (css class, symbol, French name) of each mark, in the order shown.
MARKS = (("wm-mark wm-mark--unread", "●", gettext_noop("Non lu")),
         ("wm-mark wm-mark--flag", "⚑", gettext_noop("Suivi")),
         ("wm-mark", "↩", gettext_noop("Répondu")),
         ("wm-mark", "📎", gettext_noop("Pièce jointe")))

# Ids no real mailbox or message reaches: reverse() once with them, then each
# row's link is a string format (the URL's shape stays urls.py's).
_BOX, _UID = 987654321987, 123456789123


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the message list, every text ready to show (escaped by the
    template, except ``marks`` and a highlighted ``subject``/``preview``,
    which are safe HTML)."""

    uid: str
    mailbox_id: str
    unread: bool
    href: str
    sender: str
    subject: str
    select_label: str  # the selection box's name: "Sélectionner <subject>"
    preview: str
    marks: SafeString
    phishing: bool  # the "Hameçonnage probable" badge
    folder: str  # the folder's name (search results), else ""
    iso: str  # <time datetime>
    when: str  # "7 décembre 2026, 14:05"
    size: str


def cut(text: str | None, length: int) -> str:
    """``truncatechars``, with the common cases first: most texts of a row are
    already short enough; a longer one (a preview, 256 characters) with no
    combining character in the part kept is cut by slicing, where Django's
    Truncator walks it character by character in Python and asks the
    catalogue for its ellipsis on each call."""
    text = text or ""
    if len(text) <= length:
        return text
    text = unicodedata.normalize("NFC", text)
    if len(text) <= length:
        return text
    if not any(map(unicodedata.combining, text[: length + 1])):
        return text[: length - 1] + "…"
    return Truncator(text).chars(length)


def date_words() -> Callable[[datetime], tuple[str, str]]:
    """(ISO 8601, "7 décembre 2026, 14:05") of an aware datetime in the
    current time zone: the template's ``date:'c'`` and ``date:"j F Y, H:i"``
    with the month names looked up once (Django's DateFormat asks for them,
    and builds a formatter, on every call)."""
    months = {number: str(name) for number, name in MONTHS.items()}

    def words(when: datetime) -> tuple[str, str]:
        local = timezone.localtime(when) if timezone.is_aware(when) else when
        return local.isoformat(), f"{local.day} {months[local.month]} {local.year:04d}, {local:%H:%M}"

    return words


def _marks() -> list[tuple[str, str, str]]:
    return [(css, symbol, gettext(name)) for css, symbol, name in MARKS]


def message_rows(
    messages: Iterable[Message], *, phishing: Collection[int] = (), terms: list[str] | None = None,
    show_folder: bool = False,
) -> list[Row]:
    """The rows of ``messages`` (each with its content loaded, and its mailbox
    when ``show_folder``). ``phishing``: ids of the messages that get the
    badge; ``terms``: folded words to highlight in subjects and previews."""
    pattern = reverse("webmail:message", args=[_BOX, _UID]).replace(str(_BOX), "{0}").replace(str(_UID), "{1}")
    dates, sizes, marks = date_words(), size_words(), _marks()
    no_subject, select = gettext("(sans objet)"), gettext("Sélectionner")
    rows = []
    for m in messages:
        c = m.content
        flags = m.flags
        shown = (not flags & Flag.SEEN, bool(flags & Flag.FLAGGED), bool(flags & Flag.ANSWERED), c.has_attachments)
        subject = cut(c.subject or no_subject, 120)
        preview = cut(c.preview, 100)
        iso, when = dates(c.date or m.internaldate)
        rows.append(Row(
            uid=str(m.uid),
            mailbox_id=str(m.mailbox_id),
            unread=shown[0],
            href=pattern.format(m.mailbox_id, m.uid),
            sender=cut(c.from_name or c.from_addr, 40),
            subject=highlight(subject, terms) if terms else subject,
            select_label=f"{select} {cut(c.subject, 60)}",
            preview=highlight(preview, terms) if terms and preview else preview,
            marks=mark_safe("".join(  # noqa: S308 - each part is format_html's
                format_html('<span class="{}" title="{}">{}<span class="fr-sr-only">{}</span></span>',
                            css, name, symbol, name)
                for (css, symbol, name), on in zip(marks, shown, strict=True) if on)),
            phishing=m.pk in phishing,
            folder=str(display_name(m.mailbox)) if show_folder else "",
            iso=iso,
            when=when,
            size=sizes(m.size),
        ))
    return rows


# One row of ``partials/message_rows.html``'s table (the cells its header
# names, in order). Every value is escaped by ``rows_html`` unless it is safe
# HTML already (the marks, a highlighted subject or preview).
_ROW = ('<tr class="{state}" data-uid="{uid}" data-mailbox="{mailbox}"{drag}>{select}'
        '<td class="wm-marks">{marks}</td><td class="wm-list__from">{sender}</td>'
        '<td class="wm-list__subject">{badge}<a href="{href}">{subject}</a>{preview}</td>{folder}'
        '<td class="wm-list__date"><time datetime="{iso}">{when}</time></td>'
        '<td class="wm-list__size">{size}</td></tr>\n')
_SELECT = ('<td><input type="checkbox" name="uid" value="{uid}" id="sel-{uid}" form="wm-bulk"'
           ' aria-label="{label}"></td>')


def rows_html(rows: Iterable[Row], *, selectable: bool = False, show_folder: bool = False) -> SafeString:
    """The ``<tr>`` of each row: a selection box tied to the list's form
    (``#wm-bulk``) and draggable when ``selectable`` (a folder's list), the
    folder's cell when ``show_folder`` (search results)."""
    e = conditional_escape
    badge = format_html('<span class="prot-sign fr-badge fr-badge--error fr-badge--sm">{}</span> ',
                        gettext("Hameçonnage probable"))
    out = []
    for r in rows:
        uid = e(r.uid)
        out.append(_ROW.format(
            state="wm-unread" if r.unread else "wm-read", uid=uid, mailbox=e(r.mailbox_id),
            drag=' draggable="true"' if selectable else "",
            select=_SELECT.format(uid=uid, label=e(r.select_label)) if selectable else "",
            marks=r.marks, sender=e(r.sender), badge=badge if r.phishing else "", href=e(r.href),
            subject=e(r.subject), preview=f' <span class="wm-preview">{e(r.preview)}</span>' if r.preview else "",
            folder=f"<td>{e(r.folder)}</td>" if show_folder else "",
            iso=e(r.iso), when=e(r.when), size=e(r.size),
        ))
    return mark_safe("".join(out))  # noqa: S308 -- every value above went through conditional_escape
