"""URLs of protection (French paths, under /courrier/protection/)."""

from django.urls import path

from academail.protection import views

app_name = "protection"

urlpatterns = [
    path("quitter/", views.leave, name="leave"),
    path("signaler/<int:mailbox_id>/<int:uid>/", views.report, name="report"),
    path("signaler/<int:mailbox_id>/", views.report_selected, name="report_selected"),
    path("campagnes/", views.campaigns, name="campaigns"),
    path("expediteurs/", views.senders_page, name="senders"),
    path("expediteurs/<int:rule_id>/retirer/", views.forget_sender, name="forget_sender"),
    path("campagnes/<int:campaign_id>/retirer/", views.remove_campaign, name="remove_campaign"),
]
