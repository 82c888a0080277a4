"""URLs of mailbox care (under /courrier/espace/): the "Espace utilisé" page
and its bulk actions, exports (ask, follow, download), imports and the
migration from the previous platform."""

from django.urls import path

from academail.archive import views

app_name = "archive"

urlpatterns = [
    path("", views.space, name="space"),
    path("actions/", views.space_actions, name="space_actions"),
    path("alleger/", views.space_lighten, name="space_lighten"),
    path("exports/", views.exports, name="exports"),
    path("exports/<int:export_id>/etat/", views.export_status, name="export_status"),
    path("exports/<int:export_id>/telecharger/", views.export_download, name="export_download"),
    path("imports/", views.imports, name="imports"),
    path("imports/ancienne-messagerie/", views.migrate, name="migrate"),
    path("imports/ancienne-messagerie/<int:job_id>/etat/", views.migrate_status, name="migrate_status"),
    path("imports/envois/", views.upload_start, name="upload_start"),
    path("imports/envois/<str:key>/", views.upload_piece, name="upload_piece"),
    path("imports/envois/<str:key>/terminer/", views.upload_finish, name="upload_finish"),
    path("depart/<str:token>/", views.departure_download, name="departure_download"),
]
