from django.apps import AppConfig


class AgendaConfig(AppConfig):
    name = "academail.calendar"
    label = "agenda"
    verbose_name = "Agenda"
    default_auto_field = "django.db.models.BigAutoField"
