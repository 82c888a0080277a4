"""URLs of mailbox care (under /courrier/espace/): the "Espace utilisé" page
and its bulk actions."""

from django.urls import path

from academail.archive import views

app_name = "archive"

urlpatterns = [
    path("", views.space, name="space"),
    path("actions/", views.space_actions, name="space_actions"),
]
