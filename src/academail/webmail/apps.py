from django.apps import AppConfig


class WebmailConfig(AppConfig):
    name = "academail.webmail"
    label = "webmail"
    verbose_name = "Messagerie web"
