"""URLs of the forwarding page (under /courrier/transfert/)."""

from django.urls import path

from academail.forwarding import views

app_name = "forwarding"

urlpatterns = [
    path("", views.index, name="index"),
    path("confirmer/<str:token>/", views.confirm, name="confirm"),
]
