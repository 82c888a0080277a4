"""The secretariat's CSV import: encodings, delimiters, bad lines, idempotence,
dry run, and no half-created account."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from academail.accounts import importer, services
from academail.accounts.importer import decode, format_report, import_accounts, sniff_delimiter
from academail.accounts.models import Account, Role
from academail.accounts.secrets import decrypt_numen, numen_hash
from academail.store.mailboxes import DEFAULT_MAILBOXES
from academail.store.models import Mailbox, Subscription, Usage

pytestmark = pytest.mark.django_db


def by_numen(numen: str) -> Account:
    return Account.objects.get(numen_hash=numen_hash(numen))


def test_good_utf8_file(data_dir: Path) -> None:
    report = import_accounts(data_dir / "good_utf8.csv", dry_run=False)
    assert report.file_error is None
    assert report.rejected == []
    assert (report.created, report.updated, report.unchanged) == (5, 0, 0)
    assert report.encoding == "utf-8-sig"
    assert report.delimiter == ","

    first, second = by_numen("11E9501234ABC"), by_numen("11E9501234ABD")
    assert (first.identifier, first.address) == ("jmartin", "julie.martin@ac-demo.fr")
    assert (second.identifier, second.address) == ("jmartin1", "julie.martin1@ac-demo.fr")
    assert first.establishment == "Lycée Victor Hugo, Besançon"
    assert first.secondary_address == "julie.martin@example.org"
    assert second.quota_bytes == 1024 * 1024 * 1024

    jp = by_numen("11E9501234ABE")
    assert (jp.identifier, jp.address, jp.role) == (
        "jdelafontaine", "jean-pierre.delafontaine@ac-demo.fr", Role.SECRETARIAT)
    aminata = by_numen("11E9501234ABF")
    assert (aminata.identifier, aminata.address, aminata.role) == (
        "andiaye", "aminata.ndiaye@ac-demo.fr", Role.SUPPORT)
    assert aminata.quota_bytes == int(2048.5 * 1024 * 1024)
    zoe = by_numen("11E9501234ABG")
    assert (zoe.identifier, zoe.last_name, zoe.role) == ("zoeuvrard", "Œuvrard", Role.ADMIN)
    assert decrypt_numen(zoe.numen_ciphertext) == "11E9501234ABG"
    # Every created account went through the store's provisioning.
    assert Usage.objects.count() == 5
    assert Mailbox.objects.filter(account=zoe).exists()


def test_latin1_semicolon_file(data_dir: Path, tmp_path: Path) -> None:
    data = (data_dir / "latin1_semicolon.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the sample really is Windows-1252

    # And one written on the spot, as French Excel would.
    path = tmp_path / "export.csv"
    path.write_text("Nom;Prénom;NUMEN\r\nCôté;Gaëlle;12A0000000001\r\n", encoding="cp1252", newline="")

    report = import_accounts(data_dir / "latin1_semicolon.csv", dry_run=False)
    assert (report.encoding, report.delimiter) == ("cp1252", ";")
    assert report.rejected == [] and report.created == 3
    helene = by_numen("11E9501234AEA")
    assert (helene.first_name, helene.last_name, helene.establishment, helene.role) == (
        "Hélène", "Müller", "Lycée Émile Zola", Role.SECRETARIAT)
    assert helene.address == "helene.muller@ac-demo.fr"
    oedipe = by_numen("11E9501234AEC")
    assert (oedipe.identifier, oedipe.address, oedipe.role) == (
        "ostrauss", "oedipe.strauss@ac-demo.fr", Role.STAFF)

    report = import_accounts(path, dry_run=False)
    assert report.created == 1
    assert by_numen("12A0000000001").last_name == "Côté"


def test_english_tab_file(data_dir: Path) -> None:
    report = import_accounts(data_dir / "english_tab.csv", dry_run=False)
    assert report.delimiter == "\t"
    assert report.rejected == [] and report.created == 2
    anne = by_numen("11E9501234ADA")
    assert (anne.address, anne.role, anne.establishment, anne.quota_bytes) == (
        "anne.martin-dupont@ac-demo.fr", Role.SUPPORT, "Collège Jean Moulin", 500 * 1024 * 1024)
    assert anne.secondary_address == "anne@example.org"
    assert by_numen("11E9501234ADB").role == Role.ADMIN


def test_missing_required_column_rejects_the_whole_file(data_dir: Path) -> None:
    report = import_accounts(data_dir / "missing_numen.csv", dry_run=False)
    assert report.file_error is not None
    assert "numen" in report.file_error
    assert "Aucun compte n'a été importé" in report.file_error
    assert not Account.objects.exists()
    assert "Fichier refusé" in format_report(report)


def test_duplicate_column_rejects_the_whole_file() -> None:
    report = import_accounts("nom;prenom;numen;Prénom\nA;B;11E9501234ABC;C\n".encode(), dry_run=False)
    assert report.file_error is not None and "deux fois" in report.file_error
    assert not Account.objects.exists()


def test_empty_file() -> None:
    report = import_accounts(b"", dry_run=False)
    assert report.file_error is not None and "vide" in report.file_error


def test_bad_lines_are_reported_and_good_lines_imported(data_dir: Path) -> None:
    report = import_accounts(data_dir / "some_bad_lines.csv", dry_run=False)
    assert report.file_error is None
    assert report.created == 3
    assert [c.identifier for c in report.created_accounts] == ["jmartin", "lbernard", "cleroy"]
    reasons = {r.line_number: r.reason_fr for r in report.rejected}
    assert sorted(reasons) == [3, 5, 6, 7, 8, 10, 11, 13]
    assert "vous en avez saisi 12" in reasons[3]
    assert "« nom » est vide" in reasons[5]
    assert "directeur" in reasons[6]
    assert "ligne 2" in reasons[7]
    assert "aucune lettre" in reasons[8]
    assert "beaucoup" in reasons[10]
    assert "lettre O au lieu du zéro" in reasons[11]
    assert "colonnes" in reasons[13]
    assert Account.objects.count() == 3
    assert by_numen("11E9501234ACE").role == Role.STAFF  # empty role -> personnel
    # The raw line is kept for the report, with the NUMEN masked.
    raw = {r.line_number: r.raw for r in report.rejected}
    assert raw[6].startswith("Petit;Louis;11") and "11E9501234ACC" not in raw[6]

    text = format_report(report)
    assert "3 comptes créés" in text and "8 lignes rejetées" in text
    assert "ligne 6 : " in text
    for numen in ("11E9501234ACC", "11E9501234AB;", "O1E9501234ACG"):
        assert numen not in text


def test_reimport_is_idempotent(data_dir: Path) -> None:
    import_accounts(data_dir / "good_utf8.csv", dry_run=False)
    before = {a.pk: (a.identifier, a.address, a.updated_at) for a in Account.objects.all()}

    report = import_accounts(data_dir / "good_utf8.csv", dry_run=False)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 0, 5, [])
    after = {a.pk: (a.identifier, a.address, a.updated_at) for a in Account.objects.all()}
    assert after == before


def test_reimport_updates_but_never_renames(data_dir: Path, tmp_path: Path) -> None:
    import_accounts(data_dir / "good_utf8.csv", dry_run=False)
    changed = tmp_path / "changed.csv"
    changed.write_text(
        "nom,prenom,numen,role,etablissement,quota_mo\n"
        "Martin-Durand,Julie,11E9501234ABC,secretariat,Rectorat,4096\n"
        "Martin,Julie,11E9501234ABD,personnel,Collège Pasteur,\n"
        "Nouveau,Nina,11E9501234ABH,,,\n",
        encoding="utf-8",
    )
    report = import_accounts(changed, dry_run=False)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    julie = by_numen("11E9501234ABC")
    assert (julie.last_name, julie.role, julie.establishment, julie.quota_bytes) == (
        "Martin-Durand", Role.SECRETARIAT, "Rectorat", 4096 * 1024 * 1024)
    assert (julie.identifier, julie.address) == ("jmartin", "julie.martin@ac-demo.fr")
    assert julie.secondary_address == "julie.martin@example.org"  # empty cell erases nothing
    assert Account.objects.count() == 6


def test_dry_run_creates_nothing_but_reports_real_identifiers(data_dir: Path) -> None:
    services.check_create_account(first_name="Julie", last_name="Martin", numen=None)
    dry = import_accounts(data_dir / "good_utf8.csv", dry_run=True)
    assert dry.dry_run and dry.created == 5
    assert [c.identifier for c in dry.created_accounts][:2] == ["jmartin1", "jmartin2"]
    assert Account.objects.count() == 1
    assert Mailbox.objects.count() == Mailbox.objects.filter(account__identifier="jmartin").count()
    assert "Simulation" in format_report(dry)

    real = import_accounts(data_dir / "good_utf8.csv", dry_run=False)
    assert real.created_accounts == dry.created_accounts


def test_a_line_failing_halfway_leaves_no_half_account(data_dir: Path, monkeypatch) -> None:
    real_provision = services.do_provision_new_accounts

    def provision_then_fail(account_ids: list[int]) -> None:
        real_provision(account_ids)  # mailboxes written, then the line fails
        if Account.objects.filter(pk__in=account_ids, last_name="De La Fontaine").exists():
            raise ValueError("Panne simulée du stockage.")

    monkeypatch.setattr(services, "do_provision_new_accounts", provision_then_fail)
    report = import_accounts(data_dir / "good_utf8.csv", dry_run=False)
    assert report.created == 4
    assert [(r.line_number, r.reason_fr) for r in report.rejected] == [(4, "Panne simulée du stockage.")]
    assert not Account.objects.filter(last_name="De La Fontaine").exists()
    assert Usage.objects.count() == 4
    assert not Mailbox.objects.exclude(account__in=Account.objects.all()).exists()
    # The lines after it went in, with the identifiers they would have had anyway.
    assert by_numen("11E9501234ABF").identifier == "andiaye"


def test_progress_is_reported(data_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    import_accounts(data_dir / "some_bad_lines.csv", dry_run=True,
                    progress=lambda done, total: calls.append((done, total)))
    assert calls == [(n, 11) for n in range(1, 12)]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("é".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "é".encode(), "utf-8-sig"),
        ("é".encode("cp1252"), "cp1252"),
        (b"\x81", "latin-1"),
        ("é".encode("utf-16"), "utf-16"),
    ],
)
def test_decode(data: bytes, encoding: str) -> None:
    assert decode(data)[1] == encoding


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [("nom;prenom;numen", ";"), ("nom,prenom,numen", ","), ("nom\tprenom\tnumen", "\t"),
     ("nom", ";"), ("\n\nnom,prenom;numen,role", ",")],
)
def test_sniff_delimiter(header: str, delimiter: str) -> None:
    assert sniff_delimiter(header) == delimiter


def test_management_command(data_dir: Path, capsys) -> None:
    call_command("import_accounts", str(data_dir / "good_utf8.csv"), "--dry-run")
    assert "5 comptes créés" in capsys.readouterr().out
    assert not Account.objects.exists()
    with pytest.raises(SystemExit):
        call_command("import_accounts", str(data_dir / "missing_numen.csv"))


# --- the batched path: several lines created together, each still judged alone ----------

MIXED = (
    "nom;prenom;numen;role;quota_mo\n"
    "Martin;Julie;11E9501234BAA;;\n"        # 2: jmartin1 (the existing Jules Martin has jmartin)
    "Martin;Julie;11E9501234BAB;;zéro\n"    # 3: bad quota
    "Martin;Julie;11E9501234BAC;;\n"        # 4: jmartin2
    "Martin;Jules;11E9501234ABC;;4096\n"    # 5: the existing account, updated
    "Martin;Julie;11E9501234BAD;;\n"        # 6: jmartin3
    "Roux;Noah;11E9501234BAE;;\n"           # 7: nroux
    "Martin;Julie;11E9501234BAA;;\n"        # 8: the NUMEN of line 2 again
    "###;Hugo;11E9501234BAF;;\n"            # 9: a name without letters
    "Martin;Julie;11E9501234BAG;;\n"        # 10: jmartin4
)


@pytest.fixture
def jules() -> Account:
    return services.check_create_account(first_name="Jules", last_name="Martin", numen="11E9501234ABC")


@pytest.mark.parametrize("batch", [1, 3, 200])
def test_batches_give_what_one_line_at_a_time_gives(jules: Account, batch: int, monkeypatch) -> None:
    monkeypatch.setattr(importer, "COMMIT_EVERY", batch)
    report = import_accounts(MIXED.encode(), dry_run=False)
    assert [(c.line_number, c.identifier, c.address) for c in report.created_accounts] == [
        (2, "jmartin1", "julie.martin@ac-demo.fr"),
        (4, "jmartin2", "julie.martin1@ac-demo.fr"),
        (6, "jmartin3", "julie.martin2@ac-demo.fr"),
        (7, "nroux", "noah.roux@ac-demo.fr"),
        (10, "jmartin4", "julie.martin3@ac-demo.fr"),
    ]
    assert (report.created, report.updated, report.unchanged) == (5, 1, 0)
    reasons = [(r.line_number, r.reason_fr) for r in report.rejected]
    assert [n for n, _ in reasons] == [3, 8, 9]
    assert "Quota « zéro » illisible" in reasons[0][1]
    assert "figure déjà ligne 2" in reasons[1][1]
    assert "aucune lettre" in reasons[2][1]
    jules.refresh_from_db()
    assert (jules.identifier, jules.quota_bytes) == ("jmartin", 4096 * 1024 * 1024)
    assert Account.objects.count() == 6
    for account in Account.objects.all():
        assert Mailbox.objects.filter(account=account).count() == len(DEFAULT_MAILBOXES)
        assert Subscription.objects.filter(account_id=account.pk).count() == len(DEFAULT_MAILBOXES)
    assert Usage.objects.count() == 6


def test_a_batched_file_run_again_changes_nothing(jules: Account, monkeypatch) -> None:
    monkeypatch.setattr(importer, "COMMIT_EVERY", 3)
    first = import_accounts(MIXED.encode(), dry_run=False)
    rows = {a.pk: (a.identifier, a.address, a.updated_at) for a in Account.objects.all()}
    counts = (Mailbox.objects.count(), Subscription.objects.count(), Usage.objects.count())

    for dry_run in (True, False):
        again = import_accounts(MIXED.encode(), dry_run=dry_run)
        assert (again.created, again.updated, again.unchanged) == (0, 0, 6)
        assert [r.line_number for r in again.rejected] == [r.line_number for r in first.rejected]
    assert {a.pk: (a.identifier, a.address, a.updated_at) for a in Account.objects.all()} == rows
    assert (Mailbox.objects.count(), Subscription.objects.count(), Usage.objects.count()) == counts


def test_a_conflict_in_a_batch_rejects_its_line_alone(jules: Account, monkeypatch) -> None:
    # Another process creates the person of line 6 between the batch's lookup
    # of its NUMENs and its insert: the batch's insert fails on the unique
    # NUMEN, is rolled back, and its lines are created one at a time.
    real_clean, real_create = importer.clean_new_account, importer.do_create_accounts
    calls: list[int] = []

    def someone_else_meanwhile(**fields: object) -> services.NewAccount:
        if not Account.objects.filter(last_name="Durand").exists():
            services.check_create_account(first_name="Paul", last_name="Durand", numen="11E9501234BAD")
        return real_clean(**fields)

    def counted(new: list[services.NewAccount]) -> list[Account]:
        calls.append(len(new))
        return real_create(new)

    monkeypatch.setattr(importer, "clean_new_account", someone_else_meanwhile)
    monkeypatch.setattr(importer, "do_create_accounts", counted)
    report = import_accounts(MIXED.encode(), dry_run=False)
    assert calls == [5]  # the batch; then its lines one at a time (check_create_new_account)
    assert [(c.line_number, c.identifier) for c in report.created_accounts] == [
        (2, "jmartin1"), (4, "jmartin2"), (7, "nroux"), (10, "jmartin3")]
    assert [(r.line_number, r.reason_fr) for r in report.rejected][1] == (
        6, "Ce NUMEN est déjà attribué à un autre compte.")
    assert [r.line_number for r in report.rejected] == [3, 6, 8, 9]
    assert by_numen("11E9501234BAD").identifier == "pdurand"
    assert Account.objects.count() == 6
    assert not Mailbox.objects.exclude(account__in=Account.objects.all()).exists()
    assert Usage.objects.count() == 6
