"""Notices every signed-in page shows above its content, through ``base.html``.

The out-of-office banner: someone who forgot their automatic reply is on
answers every correspondent with it, so every page says so, with the way to
turn it off (the filters page, where the reply is edited).
"""

from __future__ import annotations

from django.http import HttpRequest

from academail.filters.services import read_vacation_on


def out_of_office(request: HttpRequest) -> dict[str, object]:
    """Context processor: ``vacation_on`` = the out-of-office reply answering
    mail today, or None (signed out, off, outside its dates). One indexed
    query per page (``filters.services.read_vacation_on``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"vacation_on": None}
    return {"vacation_on": read_vacation_on(user.pk)}
