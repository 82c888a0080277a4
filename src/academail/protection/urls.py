"""URLs of protection (French paths, under /courrier/protection/)."""

from django.urls import path

from academail.protection import views

app_name = "protection"

urlpatterns = [
    path("quitter/", views.leave, name="leave"),
]
