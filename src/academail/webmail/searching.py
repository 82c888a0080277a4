"""The webmail's search: the quick box (words) and the advanced form (from, to,
subject, words, dates, with attachments, one folder or all), turned into the
store's ``Criteria``; and the highlighting of what matched in the results.

The folder comes from the person's own folder list (``store.webmail.folder_pane``),
so an id of someone else's folder is simply not a valid choice.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from urllib.parse import urlencode

from django import forms
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from academail.store import search as text_search
from academail.store.messages import Criteria
from academail.store.webmail import Folder

FIELD_MAX = 200


class SearchForm(forms.Form):
    """GET parameters of /courrier/recherche/ (French names: they show in the URL)."""

    q = forms.CharField(label=_("Mots"), required=False, max_length=FIELD_MAX, strip=True)
    de = forms.CharField(label=_("De"), required=False, max_length=FIELD_MAX, strip=True)
    a = forms.CharField(label=_("À ou Cc"), required=False, max_length=FIELD_MAX, strip=True)
    objet = forms.CharField(label=_("Objet"), required=False, max_length=FIELD_MAX, strip=True)
    du = forms.DateField(
        label=_("Reçu à partir du"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Date non reconnue : utilisez le format jj/mm/aaaa.")},
    )
    au = forms.DateField(
        label=_("Reçu jusqu'au (inclus)"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Date non reconnue : utilisez le format jj/mm/aaaa.")},
    )
    pj = forms.BooleanField(label=_("Seulement les messages avec pièce jointe"), required=False)
    dossier = forms.TypedChoiceField(label=_("Dossier"), required=False, coerce=int, empty_value=None)

    def __init__(self, data: object, folders: Iterable[Folder]) -> None:
        super().__init__(data)
        choices: list[tuple[str | int, str]] = [("", str(_("Tous les dossiers")))]
        choices += [(f.mailbox.pk, "\u00a0\u00a0" * f.depth + f.label) for f in folders]
        self.fields["dossier"].choices = choices
        # The HTML "date" input sends ISO dates; people typing by hand write French ones.
        for name in ("du", "au"):
            self.fields[name].input_formats = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        since, until = data.get("du"), data.get("au")
        if isinstance(since, dt.date) and isinstance(until, dt.date) and until < since:
            self.add_error("au", _("La date de fin est avant la date de début : corrigez l'une des deux."))
        return data

    @property
    def advanced(self) -> bool:
        """Is any field other than the quick box filled in?"""
        data = self.data
        return any(data.get(name) for name in ("de", "a", "objet", "du", "au", "pj", "dossier"))

    def criteria(self) -> Criteria | None:
        """The store's criteria, or None when the form is invalid or empty."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        criteria = Criteria(
            words=data["q"], sender=data["de"], recipient=data["a"], subject=data["objet"],
            since=_day_start(data["du"]), until=_day_start(data["au"], next_day=True),
            with_attachments=data["pj"], mailbox_id=data["dossier"],
        )
        return None if criteria.empty else criteria

    def query_string(self) -> str:
        """The current search as URL parameters, for the next page's link."""
        return urlencode([(k, v) for k, v in self.data.items() if k != "avant" and v])

    def highlight_terms(self) -> list[str]:
        """Folded words to highlight in subjects and previews."""
        if not self.is_valid():
            return []
        words = text_search.terms(self.cleaned_data["q"])
        subject = text_search.fold(self.cleaned_data["objet"]).strip()
        return words + ([subject] if subject else [])


def _day_start(day: object, *, next_day: bool = False) -> dt.datetime | None:
    if not isinstance(day, dt.date):
        return None
    if next_day:
        day = day + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def highlight(text: str, terms: Iterable[str]) -> SafeString:
    """``text`` escaped, with each occurrence of a folded term (a word start
    for single words, as the full-text search matches prefixes) wrapped in
    ``<mark>``; accents and case ignored ("reunion" marks "Réunion").

    A search page highlights two fields of 50 rows: the text is escaped run
    by run, not character by character (issue 20: that was half the page)."""
    terms = [t for t in terms if t]
    if not text or not terms:
        return escape(text)
    origin: list[int] | None = None  # where each folded character came from; None: one to one
    if text.isascii():
        flat = text.casefold()  # ASCII folds one character to one
    else:
        pieces = [_fold_char(char) for char in text]
        flat = "".join(pieces)
        origin = [index for index, piece in enumerate(pieces) for _ in piece]
    spans: list[tuple[int, int]] = []
    for term in terms:
        pattern = (r"(?<!\w)" if " " not in term else "") + re.escape(term)
        for match in re.finditer(pattern, flat):
            if match.end() > match.start():
                first, last = match.start(), match.end() - 1
                spans.append((first, last + 1) if origin is None else (origin[first], origin[last] + 1))
    out: list[str] = []
    position = 0
    for start, end in _merged(spans):
        out += [escape(text[position:start]), "<mark>", escape(text[start:end]), "</mark>"]
        position = end
    out.append(escape(text[position:]))
    return mark_safe("".join(out))  # noqa: S308 -- every slice of the text went through escape()


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans as one, in order (one ``<mark>`` each)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    return text_search.fold(char)
