from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "academail.sharing"
    label = "sharing"
    verbose_name = "Partage"

    def ready(self) -> None:
        from academail.delivery.submit import sent_for
        from academail.sharing import journal
        from academail.store import signals

        # Who read, moved, deleted what in someone else's mailbox: both journals.
        signals.shared_use.connect(journal.on_shared_use, dispatch_uid="sharing-journal")
        sent_for.connect(journal.on_sent_for, dispatch_uid="sharing-sent-for")
