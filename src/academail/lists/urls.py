"""URLs of the lists' pages (under /courrier/listes/)."""

from django.urls import path

from academail.lists import views

app_name = "lists"

urlpatterns = [
    path("", views.index, name="index"),
    path("nouvelle/", views.create, name="create"),
    path("<int:list_id>/", views.detail, name="detail"),
    path("<int:list_id>/gerer/", views.manage, name="manage"),
    path("<int:list_id>/quitter/", views.leave, name="leave"),
    path("<int:list_id>/reception/", views.digest, name="digest"),
    path("<int:list_id>/messages/<int:post_id>/", views.read, name="read"),
    path("<int:list_id>/messages/<int:post_id>/moderer/", views.moderate, name="moderate"),
    # RFC 8058: no session; the token is a secret (redacted in logs, apps.py).
    path("desabonnement/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
