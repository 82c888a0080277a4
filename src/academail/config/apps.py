from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "academail.config"
    label = "platform"
    verbose_name = "Plate-forme"
