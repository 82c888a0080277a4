"""The main navigation: every feature within two clicks of the inbox.

One list, read by ``base.html`` through the context processor below. A new
feature adds its entry here (URL name, French label), in the order staff
should meet it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Entry:
    url_name: str
    label: str
    # Only for these roles (``Account.role`` values); empty: everyone.
    roles: frozenset[str] = frozenset()


ENTRIES: tuple[Entry, ...] = (
    Entry("webmail:index", _("Courrier")),
    Entry("calendar:agenda", _("Agenda")),
    Entry("filters:index", _("Filtres et absence")),
    Entry("forwarding:index", _("Transfert")),
    Entry("sharing:index", _("Partage")),
    Entry("lists:index", _("Listes de diffusion")),
    Entry("webmail:preferences", _("Préférences")),
    Entry("autoconfig:setup", _("Configurer mon téléphone")),
    Entry("accounts:security", _("Sécurité du compte")),
    Entry("accounts:sessions", _("Sessions et appareils")),
    Entry("help:index", _("Aide")),
    Entry("assistance:mine", _("Mes demandes d'assistance")),
    Entry("assistance:console", _("Console de l'assistance"), frozenset({"support", "admin"})),
    Entry("assistance:secretariat", _("Secrétariat"), frozenset({"secretariat"})),
)


def main_navigation(request: HttpRequest) -> dict[str, object]:
    """Context processor: ``navigation`` = [(url, label, current)] for signed-in people.

    The current entry is the one whose address is the longest prefix of the
    page's (a message under /courrier/ belongs to "Courrier", the filters
    under /courrier/filtres/ to "Filtres et absence").
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": []}
    role = getattr(user, "role", "")
    entries = [entry for entry in ENTRIES if not entry.roles or role in entry.roles]
    urls = [reverse(entry.url_name) for entry in entries]
    matching = [url for url in urls if request.path.startswith(url)]
    current = max(matching, key=len, default=None)
    return {"navigation": [(url, entry.label, url == current) for url, entry in zip(urls, entries, strict=True)]}
