from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "academail.archive"
    label = "archive"
    verbose_name = "Espace, export, import et migration"
