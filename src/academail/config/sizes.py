"""The ``taille`` template filter: one unit family for sizes on every page and
in every mail the platform sends (the rule itself: :mod:`academail.store.sizes`).

Registered as a template builtin (``TEMPLATES`` options), so no template loads it.
"""

from __future__ import annotations

from django import template

from academail.store import sizes

register = template.Library()
register.filter("taille", sizes.taille, is_safe=True)
