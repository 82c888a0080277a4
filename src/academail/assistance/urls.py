"""URLs of the helpdesk (French paths). ``/assistance/nouvelle/?categorie=<slug>``
is linked from the help centre: keep it. The paths that carry a secret are
registered with ``academail.redaction`` (``apps.AssistanceConfig.ready``)."""

from django.urls import path

from academail.assistance import secretariat_views, views

app_name = "assistance"

urlpatterns = [
    path("assistance/nouvelle/", views.new_ticket, name="new"),
    path("assistance/envoyee/", views.sent, name="sent"),
    path("assistance/confirmer/<str:token>/", views.confirm, name="confirm"),
    path("assistance/mes-demandes/", views.mine, name="mine"),
    path("assistance/mes-demandes/<int:ticket_id>/", views.mine_detail, name="mine_detail"),
    path("assistance/mes-demandes/<int:ticket_id>/pj/<int:attachment_id>/", views.mine_attachment,
         name="mine_attachment"),
    path("assistance/suivi/<str:token>/", views.follow, name="follow"),
    path("assistance/suivi/<str:token>/pj/<int:attachment_id>/", views.follow_attachment, name="follow_attachment"),
    path("assistance/avis/<str:token>/", views.rate, name="rate"),
    path("assistance/console/", views.console, name="console"),
    path("assistance/console/tableau-de-bord/", views.dashboard_page, name="dashboard"),
    path("assistance/console/telephone/", views.phone_ticket, name="phone"),
    path("assistance/console/reponses-types/", views.canned_answers, name="canned"),
    path("assistance/console/reponses-types/<int:answer_id>/", views.canned_answers, name="canned_edit"),
    path("assistance/console/demandes/<int:ticket_id>/", views.ticket_page, name="ticket"),
    path("assistance/console/demandes/<int:ticket_id>/repondre/", views.ticket_answer, name="ticket_answer"),
    path("assistance/console/demandes/<int:ticket_id>/attribuer/", views.ticket_assign, name="ticket_assign"),
    path("assistance/console/demandes/<int:ticket_id>/statut/", views.ticket_status, name="ticket_status"),
    path("assistance/console/demandes/<int:ticket_id>/categorie/", views.ticket_category, name="ticket_category"),
    path("assistance/console/demandes/<int:ticket_id>/fusionner/", views.ticket_merge, name="ticket_merge"),
    path("assistance/console/demandes/<int:ticket_id>/compte/", views.ticket_link_account, name="ticket_link"),
    path("assistance/console/demandes/<int:ticket_id>/identite/", views.ticket_identity, name="ticket_identity"),
    path("assistance/console/demandes/<int:ticket_id>/adresse-de-secours/", views.ticket_secondary,
         name="ticket_secondary"),
    path("assistance/console/demandes/<int:ticket_id>/action/<str:name>/", views.ticket_action,
         name="ticket_action"),
    path("assistance/console/demandes/<int:ticket_id>/pj/<int:attachment_id>/", views.ticket_attachment,
         name="ticket_attachment"),
    path("secretariat/", secretariat_views.home, name="secretariat"),
    path("secretariat/import/", secretariat_views.import_page, name="secretariat_import"),
    path("secretariat/migration/", secretariat_views.migration_page, name="secretariat_migration"),
    path("secretariat/migration/<int:job_id>/etat/", secretariat_views.migration_status,
         name="secretariat_migration_status"),
    path("secretariat/comptes/<int:account_id>/", secretariat_views.account_page, name="secretariat_account"),
    path("secretariat/comptes/<int:account_id>/lettre.pdf", secretariat_views.letter, name="secretariat_letter"),
    path("secretariat/comptes/<int:account_id>/numen/", secretariat_views.show_numen, name="secretariat_numen"),
    path("secretariat/comptes/<int:account_id>/depart/", secretariat_views.departure, name="secretariat_departure"),
    path("secretariat/comptes/<int:account_id>/nom/", secretariat_views.rename, name="secretariat_rename"),
    path("secretariat/comptes/<int:account_id>/reactiver/", secretariat_views.reenable,
         name="secretariat_reenable"),
]
