from django.apps import AppConfig


class AutoconfigConfig(AppConfig):
    name = "academail.autoconfig"
    label = "autoconfig"
    verbose_name = "Configuration automatique des clients de messagerie"
