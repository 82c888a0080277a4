"""URLs of training sessions (French paths, as people see them)."""

from django.urls import path

from academail.help import training_views as views

app_name = "training"

urlpatterns = [
    path("", views.index, name="index"),
    path("nouvelle/", views.publish, name="new"),
    path("<int:session_id>/", views.session, name="session"),
    path("<int:session_id>/inscription/", views.sign_up, name="sign_up"),
    path("<int:session_id>/desinscription/", views.cancel, name="cancel"),
    path("<int:session_id>/modifier/", views.publish, name="edit"),
    path("<int:session_id>/annuler/", views.cancel_session, name="cancel_session"),
    path("<int:session_id>/inscrits/", views.attendee_list, name="attendees"),
    path("<int:session_id>/inscrits.csv", views.attendee_csv, name="attendees_csv"),
    path("<int:session_id>/ressources/ajouter/", views.add_resource, name="add_resource"),
    path("<int:session_id>/ressources/<int:resource_id>/", views.document, name="document"),
]
