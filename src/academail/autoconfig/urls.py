"""URLs of client autoconfiguration: the well-known paths clients probe, and the
French account pages."""

from django.urls import path

from academail.autoconfig import views

app_name = "autoconfig"

urlpatterns = [
    # Thunderbird: the well-known path, and the older one it still tries.
    path(".well-known/autoconfig/mail/config-v1.1.xml", views.thunderbird, name="thunderbird"),
    path("mail/config-v1.1.xml", views.thunderbird, name="thunderbird_legacy"),
    # Outlook probes both spellings.
    path("autodiscover/autodiscover.xml", views.autodiscover, name="autodiscover"),
    path("Autodiscover/Autodiscover.xml", views.autodiscover, name="autodiscover_capitalized"),
    path("compte/configuration/", views.setup, name="setup"),
    path("compte/configuration/profil.mobileconfig", views.mobileconfig, name="mobileconfig"),
]
