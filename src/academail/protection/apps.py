from django.apps import AppConfig


class ProtectionConfig(AppConfig):
    name = "academail.protection"
    label = "protection"
    verbose_name = "Protection : indésirables et hameçonnage"

    def ready(self) -> None:
        # The store announces moves into and out of Indésirables (every
        # protocol: webmail, IMAP, Sieve); the classifier learns from them.
        from academail.protection import learning

        learning.connect()
