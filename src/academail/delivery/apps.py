from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "academail.delivery"
    label = "delivery"
    verbose_name = "Acheminement"
