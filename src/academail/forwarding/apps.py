from django.apps import AppConfig


class ForwardingConfig(AppConfig):
    name = "academail.forwarding"
    label = "forwarding"
    verbose_name = "Transfert du courrier"

    def ready(self) -> None:
        from academail import redaction

        # The confirmation link sent to the target: never in a log line.
        redaction.register_token_url("forwarding:confirm")
