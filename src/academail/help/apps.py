from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HelpConfig(AppConfig):
    name = "academail.help"
    label = "help"
    verbose_name = "Aide et formations"

    def ready(self) -> None:
        from academail.help.content import install_after_migrate

        post_migrate.connect(install_after_migrate, sender=self, dispatch_uid="help-shipped-articles")
