"""Mounted at the root by ``config/urls.py``: ``/dav/`` and the well-known
discovery paths (RFC 6764 §5)."""

from django.urls import path, re_path

from academail.calendar import views

app_name = "calendar"

urlpatterns = [
    re_path(r"^dav(?:/.*)?$", views.dav, name="dav"),
    path(".well-known/caldav", views.well_known, {"service": "caldav"}, name="well-known-caldav"),
    path(".well-known/carddav", views.well_known, {"service": "carddav"}, name="well-known-carddav"),
]
