from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "academail.archive"
    label = "archive"
    verbose_name = "Espace, export, import et migration"

    def ready(self) -> None:
        from academail import redaction

        redaction.register_token_url("archive:departure_download")
        redaction.register_token_url("archive:upload_piece", kwarg="key")  # and its ".../terminer/"
