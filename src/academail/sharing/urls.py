"""URLs of the sharing pages (under /courrier/partage/)."""

from django.urls import path

from academail.sharing import views

app_name = "sharing"

urlpatterns = [
    path("", views.index, name="index"),
    path("boites/nouvelle/", views.functional_new, name="functional_new"),
    path("boites/<int:account_id>/", views.functional_detail, name="functional"),
]
