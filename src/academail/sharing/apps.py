from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "academail.sharing"
    label = "sharing"
    verbose_name = "Partage"

    def ready(self) -> None:
        from academail.sharing import journal
        from academail.store import signals

        # Who read, moved, deleted what in someone else's mailbox: both journals.
        signals.shared_use.connect(journal.on_shared_use, dispatch_uid="sharing-journal")
