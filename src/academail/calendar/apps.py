from django.apps import AppConfig


class AgendaConfig(AppConfig):
    name = "academail.calendar"
    label = "agenda"
    verbose_name = "Agenda"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from academail import redaction
        from academail.calendar.imip import do_apply_at_delivery
        from academail.delivery.door import register_calendar_mail

        # iMIP CANCELs and REPLYs change the agenda as they are delivered (the door calls us).
        register_calendar_mail(do_apply_at_delivery)

        # The parents' mailed links: their secret never reaches a log line.
        for name in ("calendar:booking-confirm", "calendar:booking-manage", "calendar:waitlist-confirm",
                     "calendar:booking-offer"):
            redaction.register_token_url(name)
