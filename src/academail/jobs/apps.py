from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "academail.jobs"
    label = "jobs"
    verbose_name = "Traitements en arrière-plan"
