"""URLs of the help centre (French paths, as people see them)."""

from django.urls import path

from academail.help import views

app_name = "help"

urlpatterns = [
    path("", views.index, name="index"),
    path("nouvel-article/", views.edit, name="new"),
    path("visite/<int:step>/", views.tour, name="tour"),
    path("<slug:slug>/", views.article, name="article"),
    path("<slug:slug>/avis/", views.feedback, name="feedback"),
    path("<slug:slug>/modifier/", views.edit, name="edit"),
    path("<slug:slug>/historique/", views.history, name="history"),
]
