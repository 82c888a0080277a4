"""``manage.py import_accounts FILE [--dry-run]``: the secretariat's CSV import
(see ``accounts.importer`` for the format). Exit status 1 when the file is
refused or any line is rejected, so scripts notice."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from academail.accounts.importer import format_report, import_accounts


class Command(BaseCommand):
    help = "Importe des comptes depuis un fichier CSV (nom, prenom, numen, ...)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", help="fichier CSV")
        parser.add_argument(
            "--dry-run", action="store_true",
            help="simuler : tout vérifier, ne rien enregistrer",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: str = options["path"]
        progress = None
        if options["verbosity"] >= 2 and sys.stderr.isatty():
            def progress(done: int, total: int) -> None:
                self.stderr.write(f"\r{done}/{total}", ending="")

        try:
            report = import_accounts(path, dry_run=options["dry_run"], progress=progress)
        except OSError as exc:
            raise CommandError(f"Lecture impossible de {path} : {exc.strerror}") from None
        self.stdout.write(format_report(report))
        if not report.ok:
            sys.exit(1)
