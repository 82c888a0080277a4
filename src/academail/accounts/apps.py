from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "academail.accounts"
    label = "accounts"
    verbose_name = "Comptes"
