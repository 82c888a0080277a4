"""Sizes in words: one unit family for every page, every mail the platform
sends and every error message of its protocols.

Django's French catalogue renders ``filesizeformat`` as "Kio/Mio/Gio" while our
own texts say "Mo" (quota, attachment limits): French readers use "Ko/Mo/Go"
for these 1024-based sizes. Templates reach this through the ``taille`` filter
(``academail.config.sizes``); Python code (filters, ManageSieve errors) calls
:func:`taille` here (the store owns sizes: messages, quotas; any package may import it).
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.formats import get_format
from django.utils.html import avoid_wrapping
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def taille(value: object) -> str:
    """A size in bytes as "820 octets", "3,2 Ko", "1,5 Mo", "2,0 Go" (English:
    bytes, KB, MB, GB), the number in the active language's format."""
    return size_words()(value)


def size_words() -> Callable[[object], str]:
    """``taille`` with the active language's units and decimal separator
    looked up once: a list page writes the size of each of its 50 rows, and
    each ``taille`` call would otherwise ask the catalogue and the format
    modules again (issue 20: the list's server time)."""
    units = (_("%s Ko"), _("%s Mo"), _("%s Go"))
    decimal = get_format("DECIMAL_SEPARATOR")

    def words(value: object) -> str:
        try:
            size = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            size = 0.0
        if size < 1024:
            count = int(size)
            return avoid_wrapping(
                ngettext("%(size)d octet", "%(size)d octets", count) % {"size": count}
            )
        for unit in units:
            size /= 1024
            if size < 1024 or unit is units[-1]:
                break
        # number_format(round(size, 1), 1) without its per-call lookups: one decimal, the
        # language's separator (no grouping: the number is below 1024, or in Go).
        return avoid_wrapping(unit % f"{round(size, 1):.1f}".replace(".", decimal))

    return words
