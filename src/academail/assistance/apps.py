from django.apps import AppConfig


class AssistanceConfig(AppConfig):
    name = "academail.assistance"
    label = "assistance"
    verbose_name = "Assistance"

    def ready(self) -> None:
        from academail import redaction
        from academail.assistance.mailin import do_receive, is_helpdesk_address
        from academail.delivery.door import register_helpdesk

        # Mail for the helpdesk's addresses becomes tickets (the MX asks the door).
        register_helpdesk(is_helpdesk_address, do_receive)

        # Links mailed to requesters: their secret never reaches a log line
        # (attachments under a follow link share its prefix).
        for name in ("assistance:confirm", "assistance:follow", "assistance:rate"):
            redaction.register_token_url(name)
