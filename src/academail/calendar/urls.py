"""Mounted at the root by ``config/urls.py``: ``/dav/``, the well-known
discovery paths (RFC 6764 §5) and the agenda pages."""

from django.urls import path, re_path

from academail.calendar import appointment_views, views

app_name = "calendar"

urlpatterns = [
    re_path(r"^dav(?:/.*)?$", views.dav, name="dav"),
    path(".well-known/caldav", views.well_known, {"service": "caldav"}, name="well-known-caldav"),
    path("agenda/", views.agenda, name="agenda"),
    path("agenda/nouveau/", views.event_form, name="event-new"),
    path("agenda/importer/", views.import_ics, name="import"),
    path("agenda/disponibilites/", views.availability, name="availability"),
    path("agenda/rendez-vous/", appointment_views.pages, name="appointments"),
    path("agenda/rendez-vous/<int:page_id>/", appointment_views.page_detail, name="appointment"),
    path("agenda/rendez-vous/<int:page_id>/plages/", appointment_views.range_add, name="appointment-range"),
    path("agenda/rendez-vous/<int:page_id>/plages/<int:range_id>/supprimer/", appointment_views.range_delete,
         name="appointment-range-delete"),
    path("agenda/rendez-vous/<int:page_id>/reservations/<int:booking_id>/annuler/",
         appointment_views.booking_cancel_owner, name="appointment-booking-cancel"),
    # The parents' pages (no account). The page slug is public but random; the
    # confirmation and management tokens are secrets (registered for redaction in apps.py).
    path("rendez-vous/confirmer/<str:token>/", appointment_views.booking_confirm, name="booking-confirm"),
    path("rendez-vous/gerer/<str:token>/", appointment_views.booking_manage, name="booking-manage"),
    path("rendez-vous/attente/<str:token>/", appointment_views.waitlist_confirm, name="waitlist-confirm"),
    path("rendez-vous/place/<str:token>/", appointment_views.booking_offer, name="booking-offer"),
    path("rendez-vous/<str:slug>/", appointment_views.booking_page, name="booking-page"),
    path("rendez-vous/<str:slug>/demande-envoyee/", appointment_views.booking_sent, name="booking-sent"),
    path("rendez-vous/<str:slug>/attente-envoyee/", appointment_views.waitlist_sent, name="waitlist-sent"),
    path("agenda/<str:calendar>/<str:href>/", views.event_form, name="event"),
    path("agenda/<str:calendar>/<str:href>/supprimer/", views.event_delete, name="event-delete"),
    path(".well-known/carddav", views.well_known, {"service": "carddav"}, name="well-known-carddav"),
]
