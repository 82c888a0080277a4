"""``academail manage calendar_directory``: regenerate the académie directory
address book now (the worker does it every hour)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from academail.calendar.directory import do_generate_directory


class Command(BaseCommand):
    help = "Regenerate the read-only CardDAV directory of the académie from the active accounts."

    def handle(self, *args: Any, **options: Any) -> None:
        report = do_generate_directory()
        self.stdout.write(f"{report.cards} cards, {report.written} written, {report.removed} removed")
