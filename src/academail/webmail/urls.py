"""URLs of the webmail (French paths, under /courrier/)."""

from django.urls import path

from academail.web.frame import webmail_view
from academail.webmail.views import directory, folders, live, pages, preferences, reading, writing

app_name = "webmail"

urlpatterns = [
    path("", pages.index, name="index"),
    path("dossier/<int:mailbox_id>/", pages.folder, name="folder"),
    path("dossier/<int:mailbox_id>/actions/", pages.actions, name="actions"),
    path("dossier/<int:mailbox_id>/vider/", folders.empty_folder, name="empty_folder"),
    path("message/<int:mailbox_id>/<int:uid>/", reading.message, name="message"),
    path("message/<int:mailbox_id>/<int:uid>/contenu/", reading.message_frame, name="message_frame"),
    path("message/<int:mailbox_id>/<int:uid>/source/", reading.source, name="source"),
    path(
        "message/<int:mailbox_id>/<int:uid>/piece/<str:section>/", reading.attachment, name="attachment"
    ),
    path("message/<int:mailbox_id>/<int:uid>/apercu/<str:section>/", reading.preview, name="preview"),
    path("message/<int:mailbox_id>/<int:uid>/confiance/", reading.trust_sender, name="trust_sender"),
    path("message/<int:mailbox_id>/<int:uid>/invitation/", reading.invitation, name="invitation"),
    # A message attached to a message; ``path`` is "2", or "2-3" for one attached to that one.
    path("message/<int:mailbox_id>/<int:uid>/joint/<str:path>/", reading.embedded, name="embedded"),
    path("message/<int:mailbox_id>/<int:uid>/joint/<str:path>/contenu/", reading.message_frame, name="embedded_frame"),
    path(
        "message/<int:mailbox_id>/<int:uid>/joint/<str:path>/piece/<str:section>/",
        reading.attachment,
        name="embedded_attachment",
    ),
    path(
        "message/<int:mailbox_id>/<int:uid>/joint/<str:path>/apercu/<str:section>/",
        reading.preview,
        name="embedded_preview",
    ),
    path("dossier/<int:mailbox_id>/conversation/<str:thread_key>/", reading.conversation, name="conversation"),
    path("preferences/", webmail_view(preferences.preferences_page), name="preferences"),
    path(
        "preferences/expediteurs/<int:sender_id>/retirer/",
        webmail_view(preferences.forget_sender),
        name="forget_sender",
    ),
    path("ecrire/", writing.write, name="write"),
    path("ecrire/brouillon/", writing.autosave, name="autosave"),
    path("annuaire/", directory.suggest, name="directory"),
    path("direct/etat/", live.state, name="live_state"),
    path("direct/flux/", live.events, name="live_events"),
    path("recherche/", pages.search, name="search"),
    path("dossiers/", folders.folders, name="folders"),
    path("dossiers/<int:mailbox_id>/renommer/", folders.folder_rename, name="folder_rename"),
    path("dossiers/<int:mailbox_id>/supprimer/", folders.folder_delete, name="folder_delete"),
]
