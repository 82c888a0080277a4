from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "academail.store"
    label = "store"
    verbose_name = "Stockage du courrier"
