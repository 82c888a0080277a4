"""URLs of the filter page (under /courrier/filtres/)."""

from django.urls import path

from academail.filters import views

app_name = "filters"

urlpatterns = [
    path("", views.index, name="index"),
    path("avance/", views.advanced, name="advanced"),
    path("appliquer/", views.apply_existing, name="apply"),
    path("appliquer/<int:job_id>/", views.apply_status, name="apply_status"),
]
