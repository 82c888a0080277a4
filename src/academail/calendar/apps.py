from django.apps import AppConfig


class AgendaConfig(AppConfig):
    name = "academail.calendar"
    label = "agenda"
    verbose_name = "Agenda"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from academail import redaction

        # The parents' mailed links: their secret never reaches a log line.
        for name in ("calendar:booking-confirm", "calendar:booking-manage"):
            redaction.register_token_url(name)
