from django.apps import AppConfig


class FiltersConfig(AppConfig):
    name = "academail.filters"
    label = "filters"
    verbose_name = "Filtres et réponse d'absence"
