"""The secretariat's console: the browser import (preview, then the
line-by-line report; re-imports update; other établissements refused), the
activation letter as a PDF, departures, name changes and "Afficher le NUMEN"."""

from __future__ import annotations

import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from academail.accounts import helpdesk
from academail.accounts.models import Account, Alias, EventKind, JournalEntry, Status
from academail.accounts.services import resolve_address
from academail.assistance.models import AuditEntry

pytestmark = pytest.mark.django_db
IMPORT = reverse("assistance:secretariat_import")

CSV = (
    "nom;prénom;numen;établissement;rôle\n"
    "Durand;Paul;11E0000000001;École Jean Jaurès;personnel\n"
    "Petit;Léa;11E0000000002;;\n"
    "Ailleurs;Eve;11E0000000003;Collège Voltaire;personnel\n"
    "Chef;Pierre;11E0000000004;École Jean Jaurès;administrateur\n"
).encode()


def _upload(client, data: bytes):
    return client.post(IMPORT, {"step": "preview", "file": SimpleUploadedFile("liste.csv", data, "text/csv")})


def test_import_preview_then_report_then_reimport_updates(secretary_client, secretary):
    preview = _upload(secretary_client, CSV)
    page = preview.content.decode()
    assert "aperçu" in page and "pdurand" in page and not Account.objects.filter(identifier="pdurand").exists()
    assert "n&#x27;est pas le vôtre" in page and "administrateur" in page
    digest = preview.context["digest"]
    done = secretary_client.post(IMPORT, {"step": "import", "digest": digest}).content.decode()
    assert "Compte rendu" in done
    assert Account.objects.get(identifier="pdurand").establishment == "École Jean Jaurès"
    assert Account.objects.get(identifier="lpetit").establishment == "École Jean Jaurès"  # the only one
    assert not Account.objects.filter(last_name__in=["Ailleurs", "Chef"]).exists()
    again = _upload(secretary_client, CSV.replace(b"Durand;Paul", b"Durand-Roy;Paul"))
    assert again.context["report"].updated == 1
    secretary_client.post(IMPORT, {"step": "import", "digest": again.context["digest"]})
    assert Account.objects.get(identifier="pdurand").last_name == "Durand-Roy"
    assert AuditEntry.objects.filter(actor=secretary, action="import").count() == 2


def test_import_refuses_a_stale_digest(secretary_client):
    _upload(secretary_client, CSV)
    response = secretary_client.post(IMPORT, {"step": "import", "digest": "0" * 64}, follow=True)
    assert "déposez-le à nouveau" in response.content.decode()
    assert not Account.objects.filter(identifier="pdurand").exists()


def test_import_never_moves_a_person_of_another_school(secretary_client, make_account):
    make_account("Eve", "Ailleurs", numen="11E0000000009", establishment="Collège Voltaire")
    data = "nom;prénom;numen;établissement\nAilleurs;Eve;11E0000000009;École Jean Jaurès\n".encode()
    report = _upload(secretary_client, data).context["report"]
    assert report.rejected and "autre établissement" in report.rejected[0].reason_fr


def test_activation_letter_without_then_with_the_numen(secretary_client, make_account, tmp_path):
    person = make_account("Paul", "Durand", numen="11E0000000007", establishment="École Jean Jaurès",
                          status="pending")
    url = reverse("assistance:secretariat_letter", args=[person.pk])
    response = secretary_client.post(url, {})
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    pdf = tmp_path / "lettre.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "pdurand" in text and "/premiere-connexion/" in text and "11E0000000007" not in text
    refused = secretary_client.post(url, {"include_numen": "on", "reason": ""}, follow=True)
    assert refused["Content-Type"].startswith("text/html") and "Indiquez pourquoi" in refused.content.decode()
    response = secretary_client.post(url, {"include_numen": "on", "reason": "Lettre remise en main propre"})
    pdf.write_bytes(response.content)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "11E0000000007" in text
    shown = JournalEntry.objects.get(account=person, kind=EventKind.NUMEN_SHOWN)
    assert "Lettre remise en main propre" in shown.detail and "Nadia Secretaire" in shown.detail


def test_show_numen_needs_a_reason_and_is_journaled(secretary_client, claire):
    url = reverse("assistance:secretariat_numen", args=[claire.pk])
    assert "11E1234567ABC" not in secretary_client.post(url, {"reason": ""}).content.decode()
    assert not JournalEntry.objects.filter(kind=EventKind.NUMEN_SHOWN).exists()
    page = secretary_client.post(url, {"reason": "Elle l'a perdu, appel du 07/12"}).content.decode()
    assert "11E1234567ABC" in page
    entry = JournalEntry.objects.get(account=claire, kind=EventKind.NUMEN_SHOWN)
    assert "appel du 07/12" in entry.detail
    assert AuditEntry.objects.filter(action="show_numen", account=claire).exists()


def test_departure_disables_keeps_then_deletes(secretary_client, claire, settings):
    settings.DEPARTURE_KEEP_DAYS = 30
    secretary_client.post(reverse("assistance:secretariat_departure", args=[claire.pk]), {"confirm": "on"})
    claire.refresh_from_db()
    assert claire.status == Status.DISABLED and claire.delete_after is not None
    assert resolve_address(claire.address) is None  # mail to a departed person bounces
    assert helpdesk.do_purge_departed(timezone.now()) == 0
    assert helpdesk.do_purge_departed(claire.delete_after) == 1
    assert not Account.objects.filter(pk=claire.pk).exists()


def test_departure_can_be_undone(secretary_client, claire):
    secretary_client.post(reverse("assistance:secretariat_departure", args=[claire.pk]), {"confirm": "on"})
    secretary_client.post(reverse("assistance:secretariat_reenable", args=[claire.pk]))
    claire.refresh_from_db()
    assert claire.status == Status.ACTIVE and claire.delete_after is None


def test_name_change_keeps_the_old_address_as_alias(secretary_client, claire):
    old = claire.address
    secretary_client.post(reverse("assistance:secretariat_rename", args=[claire.pk]),
                          {"first_name": "Claire", "last_name": "Lambert"})
    claire.refresh_from_db()
    assert claire.identifier == "clambert" and claire.address.startswith("claire.lambert@")
    assert Alias.objects.filter(account=claire, address=old).exists()
    assert resolve_address(old) == claire
    assert any("clambert" in d for d in JournalEntry.objects.filter(account=claire).values_list("detail", flat=True))


def test_departure_mails_a_download_link_to_the_secondary_address(secretary_client, claire, settings, tmp_path, client):
    """The secretariat records a departure; the whole mailbox is exported and
    the verified secondary address gets a link that works without signing in
    (the account is disabled), resumes with Range, and stops working once
    tampered with or expired."""
    import email
    import email.policy
    import re
    import zipfile
    from datetime import timedelta
    from io import BytesIO
    from unittest import mock

    from academail.archive.models import Export
    from academail.delivery.models import CapturedMessage
    from academail.delivery.route import deliver
    from academail.jobs.runner import run_pending
    from tests.conftest import build_message

    settings.OUTBOUND_CAPTURE = True
    settings.EXPORT_DIR = tmp_path / "exports"
    for i in range(3):
        (outcome,) = deliver(build_message(subject=f"Classe {i}", to=claire.address), [claire.address])
        assert outcome.delivered
    secretary_client.post(reverse("assistance:secretariat_departure", args=[claire.pk]), {"confirm": "on"})
    export = Export.objects.get(account=claire)
    assert export.params["departure"] is True
    assert run_pending() >= 1

    (notice,) = CapturedMessage.objects.filter(recipients=["claire.ancienne@exemple.fr"])
    parsed = email.message_from_bytes(bytes(notice.raw), policy=email.policy.default)
    assert parsed["Subject"] == "Votre courrier à emporter est prêt"
    text = parsed.get_content()
    assert "3 messages" in text
    link = re.search(r"https?://[^/\s]+(/courrier/espace/depart/[^/\s]+/)", text).group(1)

    client.logout()
    response = client.get(link)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    body = b"".join(response.streaming_content)
    assert len([n for n in zipfile.ZipFile(BytesIO(body)).namelist() if n.endswith(".eml")]) == 3
    part = client.get(link, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and b"".join(part.streaming_content) == body[10:20]

    tampered = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    assert client.get(tampered).status_code == 410
    later = timezone.now() + timedelta(days=settings.EXPORT_KEEP_DAYS, hours=1)
    with mock.patch("time.time", return_value=later.timestamp()):
        expired = client.get(link)
    assert expired.status_code == 410 and "n'est plus valable" in expired.content.decode()
