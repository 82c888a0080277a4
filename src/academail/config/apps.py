from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "academail.config"
    label = "platform"
    verbose_name = "Plate-forme"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from academail.config.connections import close_request_connections

        request_finished.connect(close_request_connections, dispatch_uid="academail-close-request-connections")
