"""URLs of the webmail (French paths, under /courrier/)."""

from django.urls import path

from academail.webmail import directory, drafts, live, views

app_name = "webmail"

urlpatterns = [
    path("", views.index, name="index"),
    path("dossier/<int:mailbox_id>/", views.folder, name="folder"),
    path("dossier/<int:mailbox_id>/actions/", views.actions, name="actions"),
    path("dossier/<int:mailbox_id>/vider/", views.empty_folder, name="empty_folder"),
    path("message/<int:mailbox_id>/<int:uid>/", views.message, name="message"),
    path("message/<int:mailbox_id>/<int:uid>/contenu/", views.message_frame, name="message_frame"),
    path("message/<int:mailbox_id>/<int:uid>/source/", views.source, name="source"),
    path(
        "message/<int:mailbox_id>/<int:uid>/piece/<str:section>/", views.attachment, name="attachment"
    ),
    path("ecrire/", views.write, name="write"),
    path("ecrire/brouillon/", drafts.autosave, name="autosave"),
    path("annuaire/", directory.suggest, name="directory"),
    path("direct/etat/", live.state, name="live_state"),
    path("direct/flux/", live.events, name="live_events"),
    path("recherche/", views.search, name="search"),
    path("dossiers/", views.folders, name="folders"),
    path("dossiers/<int:mailbox_id>/renommer/", views.folder_rename, name="folder_rename"),
    path("dossiers/<int:mailbox_id>/supprimer/", views.folder_delete, name="folder_delete"),
]
