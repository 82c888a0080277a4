from django.apps import AppConfig


class ForwardingConfig(AppConfig):
    name = "academail.forwarding"
    label = "forwarding"
    verbose_name = "Transfert du courrier"
