"""Mounted at the root by ``config/urls.py``: ``/dav/``, the well-known
discovery paths (RFC 6764 §5) and the agenda pages."""

from django.urls import path, re_path

from academail.calendar import views

app_name = "calendar"

urlpatterns = [
    re_path(r"^dav(?:/.*)?$", views.dav, name="dav"),
    path(".well-known/caldav", views.well_known, {"service": "caldav"}, name="well-known-caldav"),
    path("agenda/", views.agenda, name="agenda"),
    path("agenda/nouveau/", views.event_form, name="event-new"),
    path("agenda/importer/", views.import_ics, name="import"),
    path("agenda/disponibilites/", views.availability, name="availability"),
    path("agenda/<str:calendar>/<str:href>/", views.event_form, name="event"),
    path("agenda/<str:calendar>/<str:href>/supprimer/", views.event_delete, name="event-delete"),
    path(".well-known/carddav", views.well_known, {"service": "carddav"}, name="well-known-carddav"),
]
