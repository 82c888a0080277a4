"""URLs of the webmail (French paths, under /courrier/)."""

from django.urls import path

from academail.webmail import directory, drafts, live, preferences, views

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
    path("message/<int:mailbox_id>/<int:uid>/apercu/<str:section>/", views.preview, name="preview"),
    path("message/<int:mailbox_id>/<int:uid>/confiance/", views.trust_sender, name="trust_sender"),
    # A message attached to a message; ``path`` is "2", or "2-3" for one attached to that one.
    path("message/<int:mailbox_id>/<int:uid>/joint/<str:path>/", views.embedded, name="embedded"),
    path("message/<int:mailbox_id>/<int:uid>/joint/<str:path>/contenu/", views.message_frame, name="embedded_frame"),
    path(
        "message/<int:mailbox_id>/<int:uid>/joint/<str:path>/piece/<str:section>/",
        views.attachment,
        name="embedded_attachment",
    ),
    path(
        "message/<int:mailbox_id>/<int:uid>/joint/<str:path>/apercu/<str:section>/",
        views.preview,
        name="embedded_preview",
    ),
    path("dossier/<int:mailbox_id>/conversation/<str:thread_key>/", views.conversation, name="conversation"),
    path("preferences/", views.webmail_view(preferences.preferences_page), name="preferences"),
    path(
        "preferences/expediteurs/<int:sender_id>/retirer/",
        views.webmail_view(preferences.forget_sender),
        name="forget_sender",
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
