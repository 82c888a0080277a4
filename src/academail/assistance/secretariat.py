"""The secretariat's console, as services: the accounts of its
établissement(s) (searched and paginated), the browser import through the
one importer (``accounts.importer``, with the secretariat's scope), the
activation letter as a PDF, and the life-cycle actions (departure, name
change, "Afficher le NUMEN"), each audited here and journaled by
``accounts.helpdesk`` in the person's journal.

The letter is drawn with fpdf2 (maintained, pure Python, Unicode TrueType
fonts): the identifier, the address, where the NUMEN is found and the
webmail's address. The NUMEN itself is printed only when the secretary asks
for it and gives a reason (which is journaled like "Afficher le NUMEN").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from academail.accounts import helpdesk
from academail.accounts.importer import ImportReport, format_report, import_accounts
from academail.accounts.models import Account
from academail.archive.export import do_prepare_departure_export
from academail.assistance.access import establishments_of
from academail.assistance.actions import audit

PAGE_SIZE = 50
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")


@dataclass(frozen=True)
class AccountPage:
    accounts: list[Account]
    has_next: bool
    page: int


def list_accounts(secretary: Account, *, search: str = "", page: int = 1) -> AccountPage:
    rows = Account.objects.filter(establishment__in=establishments_of(secretary))
    search = search.strip().lower()
    if search:
        rows = rows.filter(Q(identifier__startswith=search) | Q(last_name__istartswith=search)
                           | Q(address__startswith=search))
    page = max(1, page)
    found = list(rows.order_by("last_name", "first_name", "id")[(page - 1) * PAGE_SIZE:page * PAGE_SIZE + 1])
    return AccountPage(found[:PAGE_SIZE], len(found) > PAGE_SIZE, page)


def do_import(secretary: Account, data: bytes, *, dry_run: bool) -> tuple[ImportReport, str]:
    report = import_accounts(data, dry_run=dry_run, scope=establishments_of(secretary))
    if not dry_run:
        audit(secretary, "import", detail=f"{report.created} créé(s), {report.updated} mis à jour, "
                                          f"{len(report.rejected)} rejetée(s)")
    return report, format_report(report)


def reveal_numen(secretary: Account, account: Account, reason: str) -> str:
    numen = helpdesk.reveal_numen(account, by=secretary, reason=reason)
    audit(secretary, "show_numen", account=account, detail=reason)
    return numen


def do_depart(secretary: Account, account: Account) -> str:
    """Disable the account, schedule its deletion, and queue the export of its
    whole mailbox that the person can take away (announced to the secondary
    address with a download link, ``archive.export``)."""
    when = helpdesk.do_depart(account, by=secretary)
    audit(secretary, "departure", account=account, detail=f"suppression après le {when:%Y-%m-%d}")
    do_prepare_departure_export(account)
    return f"{timezone.localdate(when):%d/%m/%Y}"


def do_reenable(secretary: Account, account: Account) -> None:
    helpdesk.do_set_enabled(account, True, by=secretary, role_label="le secrétariat")
    audit(secretary, "reenable", account=account)


def check_rename(secretary: Account, account: Account, first_name: str, last_name: str) -> tuple[str, str]:
    old = account.address
    identifier, address = helpdesk.check_rename(account, first_name=first_name, last_name=last_name, by=secretary)
    audit(secretary, "rename", account=account, detail=f"{old} -> {address}")
    return identifier, address


def _font_path(name: str) -> Path | None:
    for folder in _FONT_DIRS:
        candidate = Path(folder) / name
        if candidate.exists():
            return candidate
    return None


def activation_letter(secretary: Account, account: Account, *, include_numen: bool = False,
                      reason: str = "") -> bytes:
    """The activation letter as PDF bytes (A4, one page)."""
    from fpdf import FPDF

    numen = reveal_numen(secretary, account, reason) if include_numen else ""
    audit(secretary, "letter", account=account, detail="avec NUMEN" if include_numen else "")
    pdf = FPDF(format="A4")
    pdf.set_title("Activation de votre messagerie académique")
    pdf.set_author("Messagerie académique")
    regular, bold = _font_path("DejaVuSans.ttf"), _font_path("DejaVuSans-Bold.ttf")
    if regular is not None and bold is not None:
        pdf.add_font("DejaVu", "", str(regular))
        pdf.add_font("DejaVu", "B", str(bold))
        family = "DejaVu"
    else:  # Helvetica covers French letters in latin-1
        family = "Helvetica"
    pdf.add_page()
    pdf.set_margins(20, 20, 20)
    pdf.set_font(family, "B", 16)
    pdf.multi_cell(0, 9, "Votre messagerie académique", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(family, "", 11)
    webmail = str(settings.PUBLIC_URL).rstrip("/") + "/"
    activation = str(settings.PUBLIC_URL).rstrip("/") + reverse("accounts:activation_start")
    lines = [
        f"{account.first_name} {account.last_name}",
        account.establishment,
        "",
        "Votre compte de messagerie académique est prêt. Pour l'activer :",
        "",
        f"1. Ouvrez {activation}",
        f"2. Saisissez votre identifiant : {account.identifier}",
        "3. Saisissez votre NUMEN. "
        + (f"Le voici : {numen}" if numen else
           "Il figure sur vos bulletins de paie et vos arrêtés ; votre secrétariat peut vous le redonner."),
        "4. Choisissez votre mot de passe (une phrase de plusieurs mots est plus sûre et plus facile à retenir).",
        "5. Indiquez une adresse de secours personnelle : un code de vérification vous y sera envoyé.",
        "",
        f"Votre adresse : {account.address}",
        f"Votre messagerie en ligne : {webmail}",
        "",
        "Ne communiquez jamais votre mot de passe ni votre NUMEN : l'assistance ne vous les demandera jamais.",
        f"Besoin d'aide ? {str(settings.PUBLIC_URL).rstrip('/')}{reverse('assistance:new')}",
    ]
    for line in lines:
        pdf.multi_cell(0, 6.5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font(family, "", 9)
    pdf.multi_cell(0, 5, f"Remis par {secretary.full_name}, le {timezone.localdate():%d/%m/%Y}.",
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
