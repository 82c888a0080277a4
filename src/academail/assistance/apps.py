from django.apps import AppConfig


class AssistanceConfig(AppConfig):
    name = "academail.assistance"
    label = "assistance"
    verbose_name = "Assistance"

    def ready(self) -> None:
        from academail.config import redaction

        # Links mailed to requesters: their secret never reaches a log line
        # (attachments under a follow link share its prefix).
        for name in ("assistance:confirm", "assistance:follow", "assistance:rate"):
            redaction.register_token_url(name)
